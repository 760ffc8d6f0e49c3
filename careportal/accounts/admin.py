"""The back office's `Unlock sign-in` and `Reset two-step sign-in` actions, for model
admins whose rows have a login.

The back office registers no admin for logins themselves (its isolation tests forbid
accounts.user there); it adds these actions to the admins of staff and of the parties that
use the portal: `actions = [unlock_sign_in, reset_two_factor_sign_in]`, with
`has_unlock_permission` and `has_reset_two_factor_permission` methods (the owner only, per
DESIGN.md) on the model admin. A model admin whose rows stand for several logins (a payer
and its people) says which with a `logins_of(row)` method.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from careportal.accounts.lockout import unlock_account
from careportal.accounts.twofactor import reset_two_factor
from careportal.agencies.models import StaffRole


def is_owner(request: HttpRequest) -> bool:
    """Return whether the request is the agency owner's (who alone unlocks logins)."""
    user = getattr(request, "user", None)
    membership = getattr(user, "staff_membership", None) if user is not None else None
    return membership is not None and membership.role == StaffRole.OWNER


def _logins(modeladmin: Any, row: Any) -> list[Any]:
    if callable(getattr(type(modeladmin), "logins_of", None)):
        return list(modeladmin.logins_of(row))
    user = row if hasattr(row, "username") else getattr(row, "user", None)
    return [user] if user is not None else []


@admin.action(description=_("Unlock sign-in and password reset"), permissions=["unlock"])
def unlock_sign_in(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    """Unlock the login of each selected row (the row itself, its `user`, or `logins_of`)."""
    unlocked = set()
    for row in queryset:
        for user in _logins(modeladmin, row):
            if user.pk not in unlocked:
                unlock_account(user=user, actor=request.user, request=request)
                unlocked.add(user.pk)
    count = len(unlocked)
    modeladmin.message_user(
        request,
        ngettext("%(count)d login unlocked.", "%(count)d logins unlocked.", count)
        % {"count": count},
        messages.SUCCESS,
    )


@admin.action(description=_("Reset two-step sign-in"), permissions=["reset_two_factor"])
def reset_two_factor_sign_in(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
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
                reset_two_factor(user=user, actor=request.user, request=request)
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
