"""The agency back office: an admin site where staff see only their own agency.

Django's own /admin/ is `OperatorAdminSite`, for platform operators alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, resolve_url
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from careportal.audit.actions import Action
from careportal.backoffice import roles

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.template.response import TemplateResponse

    from careportal.accounts.models import User

    # The mixin below is used only with Django's admin site: typed as its subclass.
    _SiteBase = admin.AdminSite
    # Django's model admin, for other libraries' rows (untyped).
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _SiteBase = object
    _ModelAdmin = admin.ModelAdmin

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def staff_user(request: HttpRequest) -> User:
    """Return the staff member of a back-office request: the site lets no one else in."""
    return cast("User", request.user)


def _is_verified(user: User | AnonymousUser) -> bool:
    """Return whether the login passed two-factor sign-in (django-otp's middleware says)."""
    is_verified = getattr(user, "is_verified", None)
    return callable(is_verified) and bool(is_verified())


class AccountPagesMixin(_SiteBase):
    """Sign-in and password change go to the accounts' own pages, never the admin's.

    Those pages keep the lockout, two-factor, password history, expiry clock, audit trail
    and notice email; the admin's own forms would bypass them all.
    """

    name: str

    @method_decorator(login_not_required)
    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Send sign-in to the one sign-in page (lockout, two-factor) rather than the admin's.

        Its `next` is the page first asked for: this login page's own `next`, unwrapped if
        it names this page again, and this site's index if it is missing or off-site.
        """
        return redirect(
            f"{resolve_url('accounts:login')}?{urlencode({'next': self._target(request)})}"
        )

    def _target(self, request: HttpRequest) -> str:
        login_path = reverse(f"{self.name}:login")
        wanted = request.GET.get("next", "")
        # At most a few wrappings: /backoffice/login/?next=/backoffice/login/?next=/x/
        for _wrapping in range(3):
            parts = urlsplit(wanted)
            if parts.path != login_path:
                break
            wanted = (parse_qs(parts.query).get("next") or [""])[0]
        if (
            not wanted
            or urlsplit(wanted).path == login_path
            or not url_has_allowed_host_and_scheme(
                wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
        ):
            return reverse(f"{self.name}:index")
        return wanted

    # A redirect where Django's stubs expect the admin's own page (a TemplateResponse).
    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("accounts:password_change")

    def password_change_done(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return redirect("accounts:settings")


class BackOfficeSite(AccountPagesMixin, admin.AdminSite):
    site_header = _("CarePortal back office")
    site_title = _("Back office")
    index_title = _("Your agency")
    # Staff never land on the portal from here.
    site_url = None

    def has_permission(self, request: HttpRequest) -> bool:
        """Return whether the request may use the back office: an active staff login."""
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and getattr(user, "kind", None) == "staff"
            and roles.membership_of(user) is not None
            # Two-factor sign-in is required for every staff member (accounts.twofactor).
            and _is_verified(user)
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app_lists: dict[tuple[object, ...], list[dict[str, Any]]] = {}
        self._nav_sidebars: dict[tuple[object, ...], str] = {}

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        """Name the staff member's agency in the header, the index page and the page title."""
        context = super().each_context(request)
        membership = roles.membership_of(getattr(request, "user", None))
        if membership is not None:
            agency = membership.agency
            context["backoffice_agency"] = agency
            context["site_header"] = _("%(agency)s back office") % {"agency": agency.name}
            context["site_title"] = _("%(agency)s back office") % {"agency": agency.name}
        apps = context["available_apps"]
        # A callable: rendered only where a page shows the sidebar (never in a pop-up).
        context["backoffice_nav_sidebar"] = lambda: self.nav_sidebar(request, apps)
        return context

    def _role_key(self, request: HttpRequest) -> tuple[str | None, str, str]:
        membership = roles.membership_of(getattr(request, "user", None))
        return (
            membership.role if membership is not None else None,
            get_language(),
            get_script_prefix(),
        )

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the modules the staff member's role may open, as Django's admin does.

        What a role may open comes from roles.py alone, so the list is built once per role
        and language (it took a tenth of a list page's time on every page view).
        """
        key = (*self._role_key(request), app_label)
        if key not in self._app_lists:
            self._app_lists[key] = super().get_app_list(request, app_label)
        # A copy for each page: a caller may change its list.
        return [
            {**app, "models": [dict(model) for model in app["models"]]}
            for app in self._app_lists[key]
        ]

    def nav_sidebar(self, request: HttpRequest, apps: list[dict[str, Any]]) -> SafeString:
        """Return Django's navigation sidebar for the page (admin/nav_sidebar.html).

        Its HTML depends only on the role's modules, the language and which of their links
        the page's path contains (the one it marks current), so it is rendered once for
        each of those and then reused.
        """
        path = quote(request.path, safe="/")
        links = [app["app_url"] for app in apps] + [
            model["admin_url"] for app in apps for model in app["models"] if model["admin_url"]
        ]
        key = (*self._role_key(request), tuple(link for link in links if link in path))
        if key not in self._nav_sidebars:
            self._nav_sidebars[key] = render_to_string(
                "admin/nav_sidebar.html", {"available_apps": apps, "request": request}
            )
        return mark_safe(self._nav_sidebars[key])

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """Title the landing page with the agency's name rather than "Your agency"."""
        membership = roles.membership_of(getattr(request, "user", None))
        if membership is not None:
            extra_context = {"title": membership.agency.name, **(extra_context or {})}
        return super().index(request, extra_context)

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        """Answer a refused autocomplete like a missing one: 403 would reveal the module."""
        try:
            return super().autocomplete_view(request)
        except PermissionDenied:
            raise Http404 from None

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Wrap every back-office view so times are read and shown in the agency's zone."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def in_agency_time_zone(
            request: HttpRequest, *args: object, **kwargs: object
        ) -> HttpResponseBase:
            membership = roles.membership_of(getattr(request, "user", None))
            if membership is None:
                return inner(request, *args, **kwargs)
            user = staff_user(request)
            if user.agency_id == membership.agency_id:
                # The same row as the membership's agency: the page's frame reads it from
                # the login (portal_agency) without loading it a second time.
                user.agency = membership.agency
            with timezone.override(membership.agency.tz):
                response = inner(request, *args, **kwargs)
                # Template responses render after the view returns: render them while the
                # agency's zone is still active.
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return cast("_View", in_agency_time_zone)


class OperatorAdminSite(AccountPagesMixin, admin.AdminSite):
    """Django's /admin/: platform operators create agencies here; agency staff never enter."""

    site_header = _("CarePortal operators")
    site_title = _("Operators")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and user.is_superuser
            and getattr(user, "kind", None) == "operator"
            # Two-factor sign-in is required for operators too (accounts.twofactor).
            and _is_verified(user)
        )


backoffice_site = BackOfficeSite(name="backoffice")


# What other libraries register on Django's admin that operators have no use for, or that
# would show secrets: two-factor keys and recovery codes, task arguments, the raw sign-in
# records (with what was posted), groups (roles are kinds and memberships here), and
# post_office's templates, attachments and logs (an email's state is shown on its row).
OPERATOR_HIDDEN_MODELS = (
    "auth.Group",
    "otp_totp.TOTPDevice",
    "otp_static.StaticDevice",
    "django_tasks_database.DBTaskResult",
    "axes.AccessAttempt",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    "post_office.Email",
    "post_office.Log",
    "post_office.EmailTemplate",
    "post_office.Attachment",
)


class AuditedReadOnlyAdmin(_ModelAdmin):
    """An operator's read-only window on another library's rows; every look is audited.

    No add, change or delete; the fields shown are `fields` alone (never a body, a key
    or a token); the list and each row opened are audit events (`operator.viewed`).
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields or ()

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Not even "delete selected": the rows are evidence.
        return {}

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from careportal.audit.events import record

        record(
            Action.OPERATOR_VIEWED,
            request=request,
            model=self.model._meta.label_lower,
            search=request.GET.get("q", "")[:200],
        )
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        from careportal.audit.events import record

        obj = self.get_object(request, object_id)
        if obj is not None:
            record(
                Action.OPERATOR_VIEWED, request=request, obj=obj, model=self.model._meta.label_lower
            )
        return super().change_view(request, object_id, form_url, extra_context)


class EmailDeliveryAdmin(AuditedReadOnlyAdmin):
    """Where an email stands: recipient, subject, state and times; never its body."""

    list_display = (
        "recipients",
        "subject",
        "status",
        "number_of_retries",
        "created",
        "last_updated",
    )
    list_filter = ("status",)
    search_fields = ("to", "subject")
    # post_office's own page offers "resend" and shows the body: Django's plain one.
    change_form_template = "admin/change_form.html"
    fields = (
        "recipients",
        "subject",
        "status",
        "number_of_retries",
        "created",
        "last_updated",
        "scheduled_time",
        "last_failure",
    )

    @admin.display(description=_("to"))
    def recipients(self, email: Any) -> str:
        return ", ".join(email.to or [])

    @admin.display(description=_("last failure"))
    def last_failure(self, email: Any) -> str:
        """Return the latest delivery failure's kind and the server's words, or ""."""
        from post_office.models import STATUS

        log = email.logs.filter(status=STATUS.failed).order_by("-date").first()
        if log is None:
            return ""
        return f"{log.date:%Y-%m-%d %H:%M} {log.exception_type}: {log.message}"[:500]


class LockoutAdmin(AuditedReadOnlyAdmin):
    """Failed sign-ins and the locks they started: who, from where, when; never what was typed."""

    list_display = ("username", "ip_address", "attempt_time", "locked_out", "path_info")
    list_filter = ("locked_out",)
    search_fields = ("username", "ip_address")
    fields = ("username", "ip_address", "attempt_time", "locked_out", "path_info", "user_agent")


def limit_operator_site(site: admin.AdminSite) -> None:
    """Leave on the operators' site only what they need, read-only and audited.

    Run once the admin modules are loaded (OperatorAdminConfig.ready): it unregisters
    OPERATOR_HIDDEN_MODELS, then registers an email's delivery state and the failed
    sign-ins (with their locks) through AuditedReadOnlyAdmin.
    """
    from axes.models import AccessFailureLog
    from django.apps import apps
    from post_office.models import Email

    for label in OPERATOR_HIDDEN_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if site.is_registered(model):
            site.unregister(model)
    site.register(Email, EmailDeliveryAdmin)
    site.register(AccessFailureLog, LockoutAdmin)
