"""The back office's actions on the logins behind its rows, and the mixins that offer them.

The back office registers no admin for logins themselves (its isolation tests forbid
accounts.user there); the admins of staff and of the parties that use the portal derive
from `UnlockMixin` (or `PeopleUnlockMixin`), which adds the `Unlock sign-in`, `Reset
two-step sign-in` and `Require a new password at next sign-in` actions, with the
permissions roles.py gives the owner alone (DESIGN.md), and a "sign-in locked" column. A
model admin whose rows stand for several logins (a payer and its people) says which with
a `logins_of(row)` method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.accounts import services as account_services
from careportal.accounts.lockout import locked_now, unlock_account
from careportal.accounts.models import User
from careportal.accounts.twofactor import reset_two_factor
from careportal.backoffice.scoping import AgencyScopedAdmin, scope_to_agency
from careportal.backoffice.site import staff_user

if TYPE_CHECKING:
    from django.contrib.admin.options import _DisplayT

    from careportal.people.models import Community, Payer

    # The mixins below are used only with the back office's model admins.
    _AdminBase = AgencyScopedAdmin
else:
    _AdminBase = object


def _logins(modeladmin: AgencyScopedAdmin, row: models.Model) -> list[User]:
    """Return the logins a selected row stands for: the row itself if it is a login, its
    `user`, or the admin's `logins_of(row)`."""
    logins_of = getattr(type(modeladmin), "logins_of", None)
    if callable(logins_of):
        return [user for user in logins_of(modeladmin, row) if user is not None]
    user: User | None = row if isinstance(row, User) else getattr(row, "user", None)
    return [user] if user is not None else []


@admin.action(description=_("Unlock sign-in and password reset"), permissions=["unlock"])
def unlock_sign_in(
    modeladmin: AgencyScopedAdmin, request: HttpRequest, queryset: models.QuerySet[Any]
) -> None:
    """Unlock the login of each selected row (the row itself, its `user`, or `logins_of`)."""
    unlocked = set()
    for row in queryset:
        for user in _logins(modeladmin, row):
            if user.pk not in unlocked:
                unlock_account(user=user, actor=staff_user(request), request=request)
                unlocked.add(user.pk)
    count = len(unlocked)
    modeladmin.message_user(
        request,
        ngettext("%(count)d login unlocked.", "%(count)d logins unlocked.", count)
        % {"count": count},
        messages.SUCCESS,
    )


@admin.action(description=_("Reset two-step sign-in"), permissions=["reset_two_factor"])
def reset_two_factor_sign_in(
    modeladmin: AgencyScopedAdmin, request: HttpRequest, queryset: models.QuerySet[Any]
) -> None:
    """Remove the two-step sign-in of each selected row's login and end its sessions.

    The owner's own login is left alone: they turn it off or renew codes in settings.
    """
    reset = set()
    skipped_self = False
    for row in queryset:
        for user in _logins(modeladmin, row):
            if user.pk == request.user.pk:
                skipped_self = True
                continue
            if user.pk not in reset:
                reset_two_factor(user=user, actor=staff_user(request), request=request)
                reset.add(user.pk)
    count = len(reset)
    modeladmin.message_user(
        request,
        ngettext(
            "Two-step sign-in reset for %(count)d login. It must be set up again at the next "
            "sign-in.",
            "Two-step sign-in reset for %(count)d logins. Each must be set up again at the "
            "next sign-in.",
            count,
        )
        % {"count": count},
        messages.SUCCESS,
    )
    if skipped_self:
        modeladmin.message_user(
            request,
            _("You cannot reset your own two-step sign-in here. Use My account instead."),
            messages.WARNING,
        )


@admin.action(
    description=_("Require a new password at next sign-in"),
    permissions=["require_password_change"],
)
def require_password_change_at_sign_in(
    modeladmin: AgencyScopedAdmin, request: HttpRequest, queryset: models.QuerySet[Any]
) -> None:
    """Make each selected row's login choose a new password at its next sign-in.

    Its sessions end now (accounts.services.require_password_change). The owner's own
    login is left alone: they change their password in My account.
    """
    required: set[int] = set()
    skipped_self = False
    for row in scope_to_agency(queryset, request):
        for user in _logins(modeladmin, row):
            if user.pk == request.user.pk:
                skipped_self = True
            elif user.pk not in required:
                account_services.require_password_change(
                    user=user, actor=staff_user(request), request=request
                )
                required.add(user.pk)
    count = len(required)
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d login must choose a new password at its next sign-in; its sessions "
            "have ended.",
            "%(count)d logins must choose a new password at their next sign-in; their "
            "sessions have ended.",
            count,
        )
        % {"count": count},
        messages.SUCCESS,
    )
    if skipped_self:
        modeladmin.message_user(
            request,
            _("You cannot require this of your own login here. Use My account instead."),
            messages.WARNING,
        )


class UnlockMixin(_AdminBase):
    """The `Unlock sign-in`, `Reset two-step sign-in` and `Require a new password at next
    sign-in` actions (the owner's alone) and a column: is the login locked now?"""

    actions = (unlock_sign_in, reset_two_factor_sign_in, require_password_change_at_sign_in)

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "unlock")

    def has_reset_two_factor_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "reset_two_factor")

    def has_require_password_change_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "require_password_change")

    def login_locked(self) -> Exists:
        return locked_now(OuterRef("user__username"))

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        rows: models.QuerySet[Any] = (
            super().get_queryset(request).annotate(login_is_locked=self.login_locked())
        )
        return rows

    def get_list_display(self, request: HttpRequest) -> list[_DisplayT[Any]]:
        return [*super().get_list_display(request), "locked_display"]

    @admin.display(description=_("sign-in locked"), boolean=True, ordering="login_is_locked")
    def locked_display(self, row: Any) -> bool:
        # A row of whichever model, annotated by get_queryset.
        locked: bool = row.login_is_locked
        return locked


class PeopleUnlockMixin(UnlockMixin):
    """On a payer or a community: the logins of the people who use the portal for it."""

    def login_locked(self) -> Exists:
        people_field = self.model.people.field
        return Exists(
            people_field.model.objects.filter(
                locked_now(OuterRef("user__username")), **{people_field.name: OuterRef("pk")}
            )
        )

    def logins_of(self, row: Payer | Community) -> list[User]:
        return [person.user for person in row.people.select_related("user") if person.user]
