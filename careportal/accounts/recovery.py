"""Forgot password: the emailed link, then the security question, then a new password.

The question is never enough alone: it is asked only after the link has proved control of
the mailbox (NIST SP 800-63B, OWASP ASVS 6.4.2), and five wrong answers lock the reset.

The page does the same small work whatever was typed (record_reset_request writes one
row), so its answer time tells nobody whether a name exists; the worker's pass
(process_reset_requests) looks the name up, applies the per-account limit and queues the
email.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from careportal.accounts import limits
from careportal.accounts.emails import queue_account_email
from careportal.accounts.limits import Limit
from careportal.accounts.lockout import clear_failures
from careportal.accounts.models import ForgotPasswordRequest, PasswordResetRequest, User
from careportal.accounts.security import check_security_answer
from careportal.accounts.services import set_password
from careportal.accounts.sessions import end_sessions
from careportal.accounts.tokens import RESET_LINK_SECONDS, reset_tokens
from careportal.audit.actions import Action
from careportal.audit.events import client_ip, record
from careportal.emails.delivery import wake_worker

# Both counted from the login's PasswordResetRequest rows (accounts.limits).
RESETS = Limit(most=3, within=timedelta(hours=1))
WRONG_ANSWERS = Limit(most=5, within=timedelta(hours=24))
# Requests the worker handles in one transaction of a pass.
REQUEST_BATCH = 100


def logins_for(typed: str) -> list[User]:
    """Return the active logins a `Username or email` names: one by username, or all by email.

    An email shared by several logins (a couple, say) gets one link per login, each showing
    its username; the mailbox is theirs, and each link still needs that login's answer.
    """
    typed = (typed or "").strip()
    if not typed:
        return []
    # Compared in lower case, as the case-insensitive indexes on username and email are.
    users = get_user_model()._default_manager.filter(is_active=True)
    users = users.alias(username_lower=Lower("username"), email_lower=Lower("email"))
    by_name: list[User] = list(users.filter(username_lower=typed.lower())[:1])
    if by_name:
        return by_name
    if "@" in typed:
        return list(users.filter(email_lower=typed.lower()).order_by("pk")[:10])
    return []


def reset_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = reset_tokens.make_token(user)
    site: str = settings.SITE_URL
    return site + reverse("accounts:password_reset", args=[uid, token])


def wrong_answers(user: User) -> int:
    """Return the wrong answers to the security question in the last WRONG_ANSWERS window."""
    rows = PasswordResetRequest.objects.filter(user=user)
    return limits.used(rows, WRONG_ANSWERS, summing="wrong_answers")


def reset_is_locked(user: User) -> bool:
    return wrong_answers(user) >= WRONG_ANSWERS.most


@transaction.atomic
def request_password_reset(*, typed: str, request: HttpRequest | None) -> int:
    """Queue a reset email to each login named, within the per-account limit; return how many.

    The worker calls it for each recorded request (process_reset_requests).
    """
    sent = 0
    for user in logins_for(typed):
        if not user.email:
            continue
        limits.lock_login(user)
        if limits.reached(PasswordResetRequest.objects.filter(user=user), RESETS):
            record(
                Action.PASSWORD_RESET_RATE_LIMITED, request=request, obj=user, agency=user.agency
            )
            continue
        PasswordResetRequest.objects.create(agency=user.agency, user=user)
        queue_account_email(
            to=user.email,
            template="password_reset",
            user=user,
            context={
                "url": reset_url(user),
                "minutes": RESET_LINK_SECONDS // 60,
                "has_question": bool(user.security_answer_hash),
            },
        )
        record(Action.PASSWORD_RESET_REQUESTED, request=request, obj=user, agency=user.agency)
        sent += 1
    return sent


def record_reset_request(*, typed: str, request: HttpRequest | None) -> None:
    """Keep what was typed on `Forgot password?` for the worker, and nothing else.

    No lookup happens here: the same insert whatever the name, so the page answers in the
    same time for a known and an unknown one.
    """
    ForgotPasswordRequest.objects.create(
        typed=(typed or "").strip()[:254], ip_address=client_ip(request)
    )
    wake_worker()


def _request_from(ip_address: str | None) -> HttpRequest:
    # The audit trail records where a request came from; the worker has no request of its
    # own, so it lends the events the address the page saw (already read past proxies).
    request = HttpRequest()
    if ip_address:
        request.META["REMOTE_ADDR"] = ip_address
    return request


def process_reset_requests(*, limit: int = REQUEST_BATCH) -> int:
    """Handle the waiting `Forgot password?` requests, oldest first; return emails queued.

    The worker's pass calls it. Rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED,
    so several workers share them, and deleted in the transaction that handles them.
    """
    with transaction.atomic():
        rows = list(ForgotPasswordRequest.objects.select_for_update(skip_locked=True)[:limit])
        queued = 0
        for row in rows:
            queued += request_password_reset(typed=row.typed, request=_request_from(row.ip_address))
        ForgotPasswordRequest.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return queued


@transaction.atomic
def check_reset_answer(*, user: User, answer: str, request: HttpRequest | None) -> bool:
    """Return whether the answer is right; count a wrong one, and lock after five."""
    limits.lock_login(user)
    if reset_is_locked(user):
        return False
    if check_security_answer(user, answer):
        return True
    latest = PasswordResetRequest.objects.filter(user=user).first()
    if latest is None:
        latest = PasswordResetRequest.objects.create(agency=user.agency, user=user)
    PasswordResetRequest.objects.filter(pk=latest.pk).update(wrong_answers=F("wrong_answers") + 1)
    record(Action.PASSWORD_RESET_WRONG_ANSWER, request=request, obj=user, agency=user.agency)
    if reset_is_locked(user):
        record(Action.PASSWORD_RESET_LOCKED, request=request, obj=user, agency=user.agency)
    return False


@transaction.atomic
def complete_password_reset(*, user: User, raw_password: str, request: HttpRequest | None) -> None:
    """Set the new password, end every session, unlock sign-in, and tell the user by email."""
    set_password(user=user, raw_password=raw_password, request=request, reason="reset")
    PasswordResetRequest.objects.filter(user=user, completed_at__isnull=True).update(
        completed_at=timezone.now()
    )
    end_sessions(user)
    if clear_failures(user):
        record(Action.ACCOUNT_UNLOCKED, request=request, actor=user, obj=user, by="password reset")
    queue_account_email(
        to=user.email, template="password_changed", user=user, context={"by_reset": True}
    )
