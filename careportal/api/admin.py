"""API keys in the back office: the agency's owner alone makes, sees and revokes them.

A key is shown once, on the page that follows its creation, and never again: only its hash
is stored (api.services). Keys are never deleted (their audit events name them); a key that
is no longer wanted is revoked, after a confirmation page.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.api.models import ApiKey, Scope
from careportal.api.services import create_api_key, revoke_api_key
from careportal.backoffice import roles
from careportal.backoffice.scoping import AgencyScopedAdmin, scope_to_agency
from careportal.backoffice.site import backoffice_site, staff_user

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups

    KeyModelForm = forms.ModelForm[ApiKey]
else:
    KeyModelForm = forms.ModelForm


class ApiKeyForm(KeyModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("What this key may do"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Adding and changing records includes reading them."),
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expires_at")

    def clean_expires_at(self) -> datetime.datetime | None:
        expires_at: datetime.datetime | None = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError(_("Choose a time in the future."))
        return expires_at


@admin.action(description=_("Revoke the selected API keys"), permissions=["revoke"])
def revoke_keys(
    modeladmin: ApiKeyAdmin, request: HttpRequest, queryset: QuerySet[ApiKey]
) -> HttpResponse | None:
    """Revoke the selected keys after a confirmation page that names them."""
    keys = list(scope_to_agency(queryset, request).filter(revoked_at__isnull=True))
    if request.POST.get("confirm") == "yes":
        count = sum(
            revoke_api_key(api_key=api_key, actor=staff_user(request), request=request)
            for api_key in keys
        )
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)d API key revoked: it no longer opens the API.",
                "%(n)d API keys revoked: they no longer open the API.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Revoke API keys"),
        "opts": modeladmin.model._meta,
        "keys": keys,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": "revoke_keys",
    }
    return TemplateResponse(request, "admin/api/revoke_api_keys.html", context)


@admin.register(ApiKey, site=backoffice_site)
class ApiKeyAdmin(AgencyScopedAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "access", "expires_at", "last_used_at", "state")
    fields = ("name", "scopes", "expires_at")
    readonly_fields = ("prefix", "access", "created_at", "created_by", "last_used_at", "state")
    actions = (revoke_keys,)
    search_fields = ("name",)

    # The owner's alone, whatever the role map says of other modules.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.is_owner(request.user)

    def has_view_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return roles.is_owner(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return roles.is_owner(request.user)

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return roles.is_owner(request.user)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> _FieldGroups:
        if obj is None:
            return self.fields
        return ("name", "prefix", "access", "expires_at", "created_at", "created_by",
                "last_used_at", "state")  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description=_("access"))
    def access(self, api_key: ApiKey) -> str:
        names = dict(Scope.choices)
        return "; ".join(str(names.get(scope, scope)) for scope in api_key.scopes)

    @admin.display(description=_("state"))
    def state(self, api_key: ApiKey) -> str:
        if api_key.revoked_at is not None:
            return str(_("Revoked"))
        if not api_key.is_usable:
            return str(_("Expired"))
        return str(_("In use"))

    def save_model(
        self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm[ApiKey], change: bool
    ) -> None:
        api_key, key = create_api_key(
            agency=obj.agency,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            actor=staff_user(request),
            request=request,
        )
        obj.pk = api_key.pk
        obj._state.adding = False
        # Shown on the next page, once, and kept nowhere else.
        request.new_api_key = key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the new key once, in plain words, instead of the usual redirect."""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Your new API key"),
            "opts": self.opts,
            "api_key": obj,
            "key": getattr(request, "new_api_key", ""),
        }
        return TemplateResponse(request, "admin/api/api_key_created.html", context)
