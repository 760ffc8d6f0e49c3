"""Model admins that keep a staff member inside their own agency.

Every model admin and inline of the back office derives from the bases here. They close
the known leaks of an admin site: the change list and every object URL (another agency's
record answers exactly like a missing one), foreign-key and many-to-many choices,
autocomplete results, raw-id labels, sidebar filters, and the agency of new rows, which
is set when the form is built so that per-agency uniqueness is validated.
What a role may do comes from `roles.py`, never from Django's permission tables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import ShowFacets
from django.contrib.admin.widgets import AutocompleteSelect, ForeignKeyRawIdWidget
from django.db import models
from django.forms.utils import flatatt
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_script_prefix
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from careportal.backoffice import roles
from careportal.backoffice.paging import EstimatedCountPaginator

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices
    from django.contrib.admin.options import _ListFilterT
    from django.contrib.admin.views.main import ChangeList
    from django.db.models.fields.related import RelatedField
    from django.forms.models import BaseInlineFormSet
    from django_stubs_ext import StrOrPromise

    from careportal.agencies.models import Agency

    # The mixins below are used only with these classes: typed as their subclasses.
    _FormBase = forms.ModelForm[Any]
    _AdminBase = admin.options.BaseModelAdmin[Any]
    _FormSetBase = BaseInlineFormSet[Any, Any, Any]
    _InlineBase = admin.options.InlineModelAdmin[Any, Any]
    # Django's classes, for rows of any model.
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
    _StackedInline = admin.StackedInline[Any, Any]
else:
    _FormBase = _AdminBase = _FormSetBase = _InlineBase = object
    _ModelAdmin = admin.ModelAdmin
    _TabularInline = admin.TabularInline
    _StackedInline = admin.StackedInline

_M = TypeVar("_M", bound=models.Model)
_ChoiceField = TypeVar("_ChoiceField", bound="forms.ModelChoiceField[Any]")


def has_agency_column(model: type[models.Model]) -> bool:
    return any(f.name == "agency" and f.many_to_one for f in model._meta.concrete_fields)


def staff_agency(request: HttpRequest) -> Agency | None:
    """Return the agency of the signed-in staff member, or None."""
    membership = roles.membership_of(getattr(request, "user", None))
    return membership.agency if membership is not None else None


def scope_to_agency(queryset: models.QuerySet[_M], request: HttpRequest) -> models.QuerySet[_M]:
    """Return the rows of the queryset that belong to the staff member's agency."""
    agency = staff_agency(request)
    if agency is None:
        return queryset.none()
    if queryset.model._meta.label_lower == "agencies.agency":
        return queryset.filter(pk=agency.pk)
    return queryset.filter(agency=agency)


class AgencyRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input whose label never names another agency's record.

    Django's widget looks the typed id up in the whole table to show its name beside the
    box, which would show another agency's client to anyone who types its id.
    """

    def __init__(self, *args: Any, agency: Agency | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agency = agency

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        if not has_agency_column(self.rel.model):
            return super().label_and_url_for_value(value)
        key = self.rel.get_related_field().name
        if self.agency is None or not (
            self.rel.model._default_manager.using(self.db)
            .filter(agency=self.agency, **{key: value})
            .exists()
        ):
            return "", ""
        return super().label_and_url_for_value(value)


class AgencyRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A sidebar filter on a foreign key that lists only the agency's records."""

    def field_choices(
        self,
        field: RelatedField[Any, Any],
        request: HttpRequest,
        model_admin: admin.ModelAdmin[Any],
    ) -> list[tuple[str, StrOrPromise]]:
        ordering = self.field_admin_ordering(field, request, model_admin)
        if not has_agency_column(field.related_model):
            choices = field.get_choices(include_blank=False, ordering=ordering)
        else:
            agency = staff_agency(request)
            choices = field.get_choices(
                include_blank=False,
                ordering=ordering,
                limit_choices_to={"agency": agency} if agency is not None else {"pk__in": []},
            )
        # Without a blank choice, a list of (id, label) pairs, as Django's filter uses it.
        return cast("list[tuple[str, StrOrPromise]]", choices)


# The autocomplete filters' box attributes, by site, field, language and script prefix.
_autocomplete_attrs: dict[tuple[str, ...], SafeString] = {}


class AgencyAutocompleteFilter(admin.RelatedFieldListFilter):
    """A sidebar filter on a foreign key to a big table (clients, caregivers): a search box.

    Listing every client of an agency of thousands on each page view would load them all;
    this filter loads only the chosen record, and only if it is the agency's, and staff
    pick another through the back office's scoped autocomplete (a GET form, no script of
    ours). Another agency's id in the URL shows nothing and, with the list scoped, finds
    nothing.
    """

    template = "admin/backoffice/autocomplete_filter.html"

    def __init__(self, field: models.Field[Any, Any], request: HttpRequest,
                 params: dict[str, list[str]], model: type[models.Model],
                 model_admin: admin.ModelAdmin[Any], field_path: str) -> None:  # fmt: skip
        self.agency = staff_agency(request)
        self.admin_site = model_admin.admin_site
        super().__init__(field, request, params, model, model_admin, field_path)
        # An empty box submitted ("client__id__exact=") means no filter, not a bad lookup.
        self.used_parameters = {
            name: value
            for name, value in self.used_parameters.items()
            if value not in ("", [""], None)
        }
        self.kept_parameters: list[tuple[str, str]] = []

    def _chosen_ids(self) -> list[int]:
        return [int(value) for value in (self.lookup_val or []) if str(value).isdigit()]

    def field_choices(
        self,
        field: RelatedField[Any, Any],
        request: HttpRequest,
        model_admin: admin.ModelAdmin[Any],
    ) -> list[tuple[str, StrOrPromise]]:
        chosen = self._chosen_ids()
        if self.agency is None or not chosen:
            return []
        related = field.related_model._default_manager.filter(agency=self.agency, pk__in=chosen)
        return [(row.pk, str(row)) for row in related]

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        # The form keeps the list's other filters, search and ordering, and goes to page 1.
        self.kept_parameters = [
            (name, value)
            for name, values in changelist.filter_params.items()
            if name not in self.expected_parameters()
            for value in values
        ]
        yield from super().choices(changelist)

    def widget_html(self) -> SafeString:
        """Return the autocomplete box, holding the chosen record when there is one.

        The <select> that Django's AutocompleteSelect renders (select2 reads its data
        attributes), written out from the record field_choices already loaded rather than
        through the widget's templates and a second query.
        """
        # The box's attributes name the field, its autocomplete URL and the language
        # alone: built once for each of those (a reverse() and a widget each page view).
        key = (
            self.admin_site.name,
            self.field.model._meta.label_lower,
            self.field.name,
            self.field_path,
            get_language(),
            get_script_prefix(),
        )
        attrs = _autocomplete_attrs.get(key)
        if attrs is None:
            widget = AutocompleteSelect(self.field, self.admin_site)
            attrs = _autocomplete_attrs[key] = flatatt(
                widget.build_attrs(
                    widget.attrs, {"id": f"filter_{self.field_path}", "data-width": "100%"}
                )
            )
        chosen = format_html_join(
            "", '<option value="{}" selected>{}</option>', self.lookup_choices[:1]
        )
        return format_html(
            '<select name="{}"{}><option value=""></option>{}</select>',
            self.lookup_kwarg,
            attrs,
            chosen,
        )


class AgencyFormMixin(_FormBase):
    """Put the agency on the form's instance before validation, and validate with it.

    ModelForm leaves fields that are not on the form out of model validation, which would
    skip constraints such as "invoice numbers are unique within an agency".
    """

    backoffice_agency: Agency | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if (
            self.backoffice_agency is not None
            and has_agency_column(type(instance))
            and instance.agency_id is None
        ):
            instance.agency = self.backoffice_agency

    def _get_validation_exclusions(self) -> set[str]:
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]  # private, not in django-stubs
        exclude.discard("agency")
        return exclude


def scoped_form(
    form_class: type[forms.ModelForm[_M]], agency: Agency | None
) -> type[forms.ModelForm[_M]]:
    """Return the form class of Django's form factory, made the agency's.

    The admins' forms already have AgencyFormMixin (`agency_form`), so the new class the
    factory made for this request is given the agency; any other form gets a subclass
    (which makes Django build its fields again).
    """
    if issubclass(form_class, AgencyFormMixin) and form_class not in _ADMIN_FORMS:
        form_class.backoffice_agency = agency
        return form_class
    mixed = issubclass(form_class, AgencyFormMixin)
    bases = (form_class,) if mixed else (AgencyFormMixin, form_class)
    return cast(
        "type[forms.ModelForm[_M]]",
        type(
            form_class.__name__,
            bases,
            {"backoffice_agency": agency, "__module__": form_class.__module__},
        ),
    )


# The admins' own form classes (agency_form): shared by every request, never given an
# agency (scoped_form subclasses them instead).
_ADMIN_FORMS: set[type[forms.ModelForm[Any]]] = set()


@functools.cache
def agency_form(form_class: type[forms.ModelForm[Any]]) -> type[forms.ModelForm[Any]]:
    """Return the admin's form class with AgencyFormMixin, one class for each form."""
    if issubclass(form_class, AgencyFormMixin):
        _ADMIN_FORMS.add(form_class)
        return form_class
    made = cast(
        "type[forms.ModelForm[Any]]",
        type(
            form_class.__name__,
            (AgencyFormMixin, form_class),
            {"__module__": form_class.__module__},
        ),
    )
    _ADMIN_FORMS.add(made)
    return made


class AgencyScopingMixin(_AdminBase):
    """What model admins and inlines share: rows, choices, the hidden agency and roles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The forms Django's factories make from it for each request are then given the
        # request's agency (scoped_form), rather than subclassed: a subclass of a model
        # form builds all its fields again.
        self.form = agency_form(self.form)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return scope_to_agency(super().get_queryset(request), request)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        exclude = list(super().get_exclude(request, obj) or [])
        return [*exclude, "agency"] if "agency" not in exclude else exclude

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for f in super().get_readonly_fields(request, obj) if f != "agency"]

    def get_field_queryset(
        self, db: str | None, db_field: RelatedField[Any, Any], request: HttpRequest
    ) -> models.QuerySet[Any] | None:
        queryset = super().get_field_queryset(db, db_field, request)
        related = db_field.remote_field.model
        if not has_agency_column(related) and related._meta.label_lower != "agencies.agency":
            return queryset
        if queryset is None:
            queryset = related._default_manager.using(db).all()
        return scope_to_agency(queryset, request)

    def _scope_formfield(
        self, formfield: _ChoiceField | None, db_field: RelatedField[Any, Any], request: HttpRequest
    ) -> _ChoiceField | None:
        # A second lock behind get_field_queryset: whatever the widget, the field only
        # accepts the agency's rows, so a submitted id of another agency is refused.
        if formfield is None or not hasattr(formfield, "queryset"):
            return formfield
        if has_agency_column(db_field.remote_field.model):
            # A model field's form field always has its queryset.
            rows = cast("models.QuerySet[Any]", formfield.queryset)
            formfield.queryset = scope_to_agency(rows, request)
        if isinstance(formfield.widget, ForeignKeyRawIdWidget) and not isinstance(
            formfield.widget, AgencyRawIdWidget
        ):
            widget = formfield.widget
            formfield.widget = AgencyRawIdWidget(
                widget.rel, widget.admin_site, widget.attrs, using=widget.db,
                agency=staff_agency(request),
            )  # fmt: skip
        return formfield

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scope_formfield(formfield, db_field, request)

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scope_formfield(formfield, db_field, request)

    # Roles: the map in roles.py, nothing else.
    def _can(self, request: HttpRequest, action: str) -> bool:
        return roles.can(request.user, action, self.opts.label_lower)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "view") or self._can(request, "change")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._can(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "delete")


class InlineAdminFormSet(helpers.InlineAdminFormSet):
    """Django's inline on a change page, its media taken from the formset once.

    Django adds each row's media to the formset's, building every row's wrapper and
    fieldsets for it (before the template builds them again): the rows are forms of one
    class with the same widgets, and a fieldset has no media of its own, so the sum is
    the formset's.
    """

    @property
    def media(self) -> forms.Media:
        media: forms.Media = self.opts.media + self.formset.media
        return media


class AgencyScopedAdmin(AgencyScopingMixin, _ModelAdmin):
    """Base of every model admin on the back office site.

    Lists never count the whole table (see paging.py) nor compute filter counts (facets),
    which would read every row of a big table on each page view.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    # Rendering the rows is most of a list page's time: 25 rows, not Django's 100; staff
    # narrow a list with its search and filters rather than by scrolling.
    list_per_page = 25
    # Django's list page, its rows written by backoffice_list (a third of the page's time
    # went to looking each cell up afresh).
    change_list_template = "admin/backoffice/change_list.html"

    def action_checkbox(self, obj: models.Model) -> SafeString:
        """Return the row's checkbox for actions, the markup Django's widget renders.

        Written out rather than rendered through a widget template for each row, which
        took a quarter of a list page's time.
        """
        return self.action_checkboxes()(obj)

    def action_checkboxes(self) -> Callable[[models.Model], SafeString]:
        """Return action_checkbox for a page of rows: its label translated once."""
        label = _("Select this object for an action - {}")

        def checkbox(obj: models.Model) -> SafeString:
            return format_html(
                '<input type="checkbox" name="{}" value="{}" class="action-select" '
                'aria-label="{}">',
                ACTION_CHECKBOX_NAME,
                str(obj.pk),
                format_html(label, str(obj)),
            )

        return checkbox

    @property
    def media(self) -> forms.Media:
        media = super().media
        if any(
            isinstance(entry, tuple) and issubclass(entry[1], AgencyAutocompleteFilter)
            for entry in self.list_filter
        ):
            # The autocomplete filters' select boxes need select2 on the change list too.
            media += AutocompleteSelect(None, self.admin_site).media
        return media

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(roles.capabilities(request.user, self.opts.label_lower))

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        return scoped_form(super().get_form(request, obj, change, **kwargs), staff_agency(request))

    def get_formsets_with_inlines(
        self, request: HttpRequest, obj: Any = None
    ) -> Iterator[
        tuple[type[BaseInlineFormSet[Any, Any, Any]], admin.options.InlineModelAdmin[Any, Any]]
    ]:
        agency = staff_agency(request)
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            formset.form = scoped_form(formset.form, agency)
            yield formset, inline

    def get_inline_formsets(self, request: HttpRequest, formsets: list[Any],
                            inline_instances: list[Any],
                            obj: Any = None) -> list[helpers.InlineAdminFormSet]:  # fmt: skip
        inline_formsets = super().get_inline_formsets(request, formsets, inline_instances, obj)
        for inline_formset in inline_formsets:
            inline_formset.__class__ = InlineAdminFormSet
        return inline_formsets

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        # The autocomplete view starts from get_queryset already; scope again in case a
        # caller hands us a queryset of its own.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return scope_to_agency(queryset, request), may_have_duplicates

    def get_list_filter(self, request: HttpRequest) -> list[_ListFilterT]:
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry: _ListFilterT) -> _ListFilterT:
        if not isinstance(entry, str) or "__" in entry:
            return entry
        field = self.opts.get_field(entry)
        if field.many_to_one or field.many_to_many:
            return (entry, AgencyRelatedFieldListFilter)
        return entry

    # A module the role never has is absent, and its URLs answer 404 like a missing page.
    def _require_module(self, request: HttpRequest) -> None:
        if not self.has_module_permission(request):
            raise Http404

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_module(request)
        return super().changelist_view(request, extra_context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_module(request)
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
        self._require_module(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_module(request)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_module(request)
        return super().history_view(request, object_id, extra_context)


class AgencyRowIdsMixin(_FormSetBase):
    """An inline formset whose hidden row ids accept only the agency's rows.

    Django checks a posted row id against the whole table, so another agency's id passed
    where a missing one was refused, and the two answers told apart which ids exist
    (issue 11, item 11). Scoped, both are "not one of the available choices".
    """

    backoffice_agency: Agency | None = None

    def add_fields(self, form: forms.ModelForm[Any], index: int | None) -> None:
        super().add_fields(form, index)
        pk_name = self._pk_field.name  # type: ignore[attr-defined]  # private, not in django-stubs
        field = form.fields.get(pk_name)
        model = cast("type[models.Model]", self.model)  # set on every inline formset
        if field is None or not hasattr(field, "queryset") or not has_agency_column(model):
            return
        agency = self.backoffice_agency
        field.queryset = (
            field.queryset.filter(agency=agency) if agency is not None else field.queryset.none()
        )

    @cached_property
    def empty_form(self) -> forms.ModelForm[Any]:
        # Built once per formset: the admin's page and its media ask for it many times.
        form: forms.ModelForm[Any] = super().empty_form
        return form


class AgencyScopedInlineMixin(AgencyScopingMixin, _InlineBase):
    """Base of every inline on the back office site (with a Tabular or Stacked inline)."""

    # What each row shows besides its fields (its name, a read-only login), loaded with
    # the rows rather than by a query per row.
    row_select_related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request)
        return (
            queryset.select_related(*self.row_select_related)
            if self.row_select_related
            else queryset
        )

    def get_formset(
        self, request: HttpRequest, obj: Any = None, **kwargs: Any
    ) -> type[BaseInlineFormSet[Any, Any, Any]]:
        formset = super().get_formset(request, obj, **kwargs)
        return cast(
            "type[BaseInlineFormSet[Any, Any, Any]]",
            type(
                formset.__name__,
                (AgencyRowIdsMixin, formset),
                {"backoffice_agency": staff_agency(request), "__module__": formset.__module__},
            ),
        )


class AgencyScopedTabularInline(AgencyScopedInlineMixin, _TabularInline):
    extra = 0


class AgencyScopedStackedInline(AgencyScopedInlineMixin, _StackedInline):
    extra = 0


class ReadOnlyMixin:
    """A model admin whose rows nobody adds, changes or deletes, superusers included."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Search on the big tables: visits, invoices, their lines and payments run to hundreds of
# thousands of rows. Each app's admin searches them through the small tables they point
# to (clients, payers, communities, invoice numbers), matched on indexed columns, never by
# a text match over every row.


def first_ids(queryset: models.QuerySet[Any], limit: int = 2_000) -> list[int]:
    """Return the ids of the queryset's rows, at most `limit` of them.

    A short list of ids: the big table is then read through its index on each id, which a
    subquery under an OR would not allow. A search matching more is too broad to page.
    """
    return list(queryset.order_by().values_list("pk", flat=True)[:limit])
