"""The worker's jobs: deliver invitations and post_office mail, expire invitations, and
delete sent mail after SENT_EMAIL_RETENTION_DAYS.

Several workers may run against one database. Invitations are claimed one row at a time
with SELECT ... FOR UPDATE SKIP LOCKED (ignored on SQLite, which has one writer anyway);
post_office's queue is not locked by post_office itself, so one worker at a time sends it,
under a lock in the shared cache.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from careportal.audit.events import record
from careportal.invitations.emails import agency_logo_url, render_email
from careportal.invitations.models import Invitation, InvitationState

logger = logging.getLogger(__name__)

POST_OFFICE_LOCK = "careportal:post_office:sending"
POST_OFFICE_LOCK_SECONDS = 10 * 60
BATCH_SIZE = 100


def _connection() -> Any:
    return get_connection(settings.DELIVERY_EMAIL_BACKEND, fail_silently=False)


def _message(invitation: Invitation, otp: str) -> EmailMultiAlternatives:
    user = invitation.user
    agency = invitation.agency
    context = {
        "agency": agency,
        "logo_url": agency_logo_url(agency),
        "user": user,
        "username": user.username,
        "one_time_password": otp,
        "setup_url": settings.SITE_URL + reverse("invitations:setup", args=[invitation.token]),
        "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
        "expires_at": invitation.expires_at,
        "is_staff_login": user.kind == "staff",
    }
    subject, text, html = render_email(
        subject_template="emails/invitation_subject.txt",
        text_template="emails/invitation.txt",
        html_template="emails/invitation.html",
        context=context,
        language=user.language or None,
        time_zone=agency.tz,
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
        reply_to=[agency.portal_message_email],
    )
    message.attach_alternative(html, "text/html")
    return message


def send_invitation(invitation: Invitation, *, connection: Any = None) -> str | None:
    """Try to send one due invitation now; return its one-time password if it went.

    The row is locked for the attempt: the password's hash, the state and the audit event
    are committed together with the fact that the SMTP server took the email.
    """
    connection = connection or _connection()
    now = timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(skip_locked=True)
            .select_related("user", "agency")
            .filter(pk=invitation.pk, state__in=(InvitationState.QUEUED, InvitationState.RETRYING))
            .first()
        )
        if invitation is None:
            return None  # another worker has it, or it was superseded meanwhile
        # A fresh password on every attempt: a failed attempt's password was never seen.
        otp = invitation.new_one_time_password()
        invitation.expires_at = now + datetime.timedelta(
            hours=invitation.agency.invitation_valid_hours
        )
        invitation.attempts += 1
        try:
            connection.send_messages([_message(invitation, otp)])
        except Exception as exc:  # any failure of the SMTP server is retried
            _failed(invitation, exc, now)
            return None
        invitation.state = InvitationState.SENT
        invitation.sent_at = now
        invitation.next_attempt_at = None
        invitation.last_error = ""
        invitation.save()
        record(
            "invitation.sent", obj=invitation, agency=invitation.agency, attempt=invitation.attempts
        )
    return otp


def _failed(invitation: Invitation, exc: Exception, now: Any) -> None:
    # The error names the server's answer, never the message: the password is not in it.
    error = f"{type(exc).__name__}: {exc}"[:1000]
    give_up = now - invitation.created_at >= settings.OUTBOX_GIVE_UP_AFTER
    invitation.otp_hash = ""
    invitation.expires_at = None
    invitation.last_error = error
    if give_up:
        invitation.state = InvitationState.FAILED
        invitation.next_attempt_at = None
    else:
        invitation.state = InvitationState.RETRYING
        invitation.next_attempt_at = now + settings.OUTBOX_RETRY_INTERVAL
    invitation.save()
    record(
        "invitation.failed",
        obj=invitation,
        agency=invitation.agency,
        attempt=invitation.attempts,
        error=error,
        gave_up=give_up,
    )
    logger.warning(
        "Invitation %s not sent (attempt %s): %s", invitation.pk, invitation.attempts, error
    )


def deliver_invitations() -> int:
    """Send every due invitation; return how many went."""
    ids = list(
        Invitation.objects.due()
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:BATCH_SIZE]
    )
    if not ids:
        return 0
    sent = 0
    connection = _connection()
    try:
        for pk in ids:
            if send_invitation(Invitation(pk=pk), connection=connection) is not None:
                sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # a dead server cannot stop the loop
            logger.warning("Could not close the mail connection", exc_info=True)
    return sent


def send_post_office_mail() -> tuple[int, int, int]:
    """Send post_office's queued mail, one worker at a time; return (sent, failed, requeued)."""
    from post_office.mail import get_queued, send_queued

    if not get_queued().exists():
        return (0, 0, 0)  # and no log line every few seconds for nothing
    token = secrets.token_hex(8)
    if not cache.add(POST_OFFICE_LOCK, token, POST_OFFICE_LOCK_SECONDS):
        return (0, 0, 0)
    try:
        return send_queued(processes=1)
    finally:
        if cache.get(POST_OFFICE_LOCK) == token:
            cache.delete(POST_OFFICE_LOCK)


def delete_old_sent_mail() -> int:
    """Delete post_office email sent over SENT_EMAIL_RETENTION_DAYS ago; return how many.

    post_office's own cleanup (utils.cleanup_expired_mails) deletes by age whatever the
    status, queued and failed mail too, so sent mail is picked out here. A batch a pass
    keeps each pass short; a backlog goes over the next passes.
    """
    from post_office.models import STATUS, Email

    cutoff = timezone.now() - datetime.timedelta(days=settings.SENT_EMAIL_RETENTION_DAYS)
    old = Email.objects.filter(status=STATUS.sent, last_updated__lt=cutoff)
    ids = list(old.order_by().values_list("pk", flat=True)[: BATCH_SIZE * 10])
    if not ids:
        return 0
    _total, per_model = old.filter(pk__in=ids).delete()
    return per_model.get(Email._meta.label, 0)


def expire_invitations() -> int:
    """Mark sent invitations past their expiry as expired; return how many."""
    now = timezone.now()
    expired = 0
    for invitation in Invitation.objects.filter(
        state=InvitationState.SENT, expires_at__lte=now
    ).select_related("agency")[:BATCH_SIZE]:
        with transaction.atomic():
            updated = Invitation.objects.filter(
                pk=invitation.pk, state=InvitationState.SENT
            ).update(state=InvitationState.EXPIRED, otp_hash="")
            if updated:
                record("invitation.expired", obj=invitation, agency=invitation.agency)
                expired += 1
    return expired


def run_once() -> dict[str, Any]:
    """One pass of the worker. A failing step is logged and the others still run."""
    result: dict[str, Any] = {}
    for name, job in (
        ("invitations", deliver_invitations),
        ("mail", send_post_office_mail),
        ("expired", expire_invitations),
        ("mail_deleted", delete_old_sent_mail),
    ):
        try:
            result[name] = job()
        except Exception:  # the worker outlives a down database or server
            logger.exception("Worker step %s failed", name)
            result[name] = None
    return result
