"""The invitation outbox: the worker's steps that deliver and expire invitations.

The worker's loop (emails.delivery.run_once) runs them: InvitationsConfig.ready registers
them. The email is rendered by emails.queue.render_email and sent through the delivery
backend of every email (emails.delivery.mail_connection).

Several workers may run against one database. Invitations are claimed a batch at a time
with SELECT ... FOR UPDATE SKIP LOCKED (ignored on SQLite, which has one writer anyway) and
sent over one SMTP connection.

Delivery is at least once: an invitation is marked sent right after the SMTP server takes
it, so a worker killed in the middle of a batch leaves at most the one message whose
exchange was in flight to be sent again (with a new one-time password; the first one
never works).

Per invitation, the work is its own values put into the batch's shared email (rendered and
put in MIME form once for each agency, language and kind of login), the SMTP exchange and
that one UPDATE; the batch's audit events are one INSERT at its end.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import smtplib
import time
from email.utils import formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from careportal.audit.actions import Action
from careportal.audit.events import audit_event, record, record_many
from careportal.emails.delivery import mail_connection
from careportal.emails.queue import agency_logo_url, render_email
from careportal.invitations.models import PENDING_STATES, Invitation, InvitationState

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
# How long a worker holds the invitations it took (settings.OUTBOX_CLAIM_TIMEOUT overrides).
DEFAULT_CLAIM_TIMEOUT = datetime.timedelta(minutes=2)
# The server refused this message (a recipient, the sender, the data) and said so: the
# connection is still good for the next one.
MESSAGE_REFUSALS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


# A batch's work done once and shared by its emails, by key: the renderings (by agency,
# language, kind of login and expiry), their MIME forms (the same key after "mime") and
# the sender's address ("sender").
Rendered = dict[tuple[object, ...] | str, Any]


def _connection() -> BaseEmailBackend:
    connection: BaseEmailBackend = mail_connection()
    return connection


# Stand-ins for what differs between two invitations of one agency, language and kind of
# login: rendered once per batch and replaced for each email (`_message`).
_SLOT = secrets.token_hex(6)
SLOTS = {
    name: f"{_SLOT}{name}{_SLOT}"  # delimited: no stand-in is a part of another
    for name in ("name", "username", "one_time_password", "setup_url")
}


def _render_invitation(invitation: Invitation) -> tuple[str, str, str]:
    """Render (subject, text, html) of an invitation with SLOTS in place of its own values."""
    user = invitation.user
    agency = invitation.agency
    context = {
        "agency": agency,
        "logo_url": agency_logo_url(agency),
        "user": {"first_name": SLOTS["name"], "username": SLOTS["name"]},
        "username": SLOTS["username"],
        "one_time_password": SLOTS["one_time_password"],
        "setup_url": SLOTS["setup_url"],
        "sign_in_url": settings.SITE_URL + reverse("accounts:login"),
        "expires_at": invitation.expires_at,
        "is_staff_login": user.kind == "staff",
    }
    return render_email(
        "invitation",
        context=context,
        language=user.language or None,
        time_zone=agency.tz,
    )


def _rendering(invitation: Invitation, rendered: Rendered) -> tuple[str, str, str]:
    """Return the invitation's (subject, text, html) with SLOTS, from the batch's `rendered`:
    its invitations of one agency, language, kind of login and expiry share them."""
    user = invitation.user
    key = (invitation.agency.pk, user.language, user.kind, invitation.expires_at)
    if key not in rendered:
        rendered[key] = _render_invitation(invitation)
    rendering: tuple[str, str, str] = rendered[key]
    return rendering


def _values(invitation: Invitation, otp: str) -> dict[str, str]:
    """Return what the invitation's email puts in place of SLOTS."""
    user = invitation.user
    return {
        "name": user.first_name or user.username,
        "username": user.username,
        "one_time_password": otp,
        "setup_url": settings.SITE_URL + reverse("invitations:setup", args=[invitation.token]),
    }


def _message(
    invitation: Invitation,
    otp: str,
    rendered: Rendered | None = None,
    *,
    values: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """Return the invitation's email. `rendered` keeps the templates rendered for a batch."""
    subject, text, html = _rendering(invitation, {} if rendered is None else rendered)
    for name, value in (values or _values(invitation, otp)).items():
        text = text.replace(SLOTS[name], value)
        html = html.replace(SLOTS[name], escape(value))
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
        reply_to=[invitation.agency.portal_message_email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


# Stand-ins, in the MIME form of a batch's emails, for what differs between two of them.
_ADDRESS = f"{_SLOT}to{_SLOT}@example.invalid"
_DATE = f"{_SLOT}date{_SLOT}"
_MESSAGE_ID = f"{_SLOT}id{_SLOT}"
_ADDRESS_LIMIT = 70
# RFC 5322's limit on a line; past it Django encodes the body (quoted-printable).
_LINE_LIMIT = 998


def _mime(invitation: Invitation, otp: str, rendered: Rendered) -> bytes | None:
    """Return the invitation's email as the SMTP server gets it (what Django's SMTP backend
    sends for `_message`), made from the batch's MIME form with this email's values put in:
    building the MIME form cost as much as the rest of the email's sending together.

    None where the result could differ from Django's own (an address or value that is not
    plain ASCII where Django would encode it, a line over the limit): send `_message` then.
    """
    email = invitation.email
    # A longer address would be folded onto a line of its own in the To header.
    if not email.isascii() or len(email) > _ADDRESS_LIMIT or any(c.isspace() for c in email):
        return None
    user = invitation.user
    key = ("mime", invitation.agency.pk, user.language, user.kind, invitation.expires_at)
    if key not in rendered:
        form = _message(
            invitation,
            "",
            rendered,
            values=SLOTS,
            headers={"Date": _DATE, "Message-ID": _MESSAGE_ID},
        )
        form.to = [_ADDRESS]
        # Django 5.2's message is its SafeMIMEMultipart; the stubs follow Django 6's.
        data = form.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
        # The text part takes the values as they are, the HTML part escaped.
        html_at = data.find(b"\r\nContent-Type: text/html")
        boundary = data[data.find(b'boundary="') + 10 :].split(b'"', 1)[0]
        rendered[key] = (data[:html_at], data[html_at:], boundary) if html_at > 0 else None
    parts: tuple[bytes, bytes, bytes] | None = rendered[key]
    if parts is None:
        return None
    head, html_part, boundary = parts
    values = _values(invitation, otp)
    if any(
        boundary in value.encode() or "\n" in value or "\r" in value for value in values.values()
    ):
        return None
    head = head.replace(_ADDRESS.encode(), email.encode())
    date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    head = head.replace(_DATE.encode(), date.encode())
    head = head.replace(_MESSAGE_ID.encode(), make_msgid(domain=DNS_NAME).encode())
    for name, value in values.items():
        head = head.replace(SLOTS[name].encode(), value.encode())
        html_part = html_part.replace(SLOTS[name].encode(), escape(value).encode())
    data = head + html_part
    if not all(value.isascii() for value in values.values()):
        # Django labels a body 7bit while it is ASCII, 8bit once it holds UTF-8.
        data = data.replace(b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: 8bit")
    if any(len(line) > _LINE_LIMIT for line in data.split(b"\r\n")):
        return None
    return data


def _send(
    connection: BaseEmailBackend, invitation: Invitation, otp: str, rendered: Rendered
) -> None:
    """Send the invitation's email over the open `connection`; raise what SMTP raises.

    To an SMTP server, the bytes of `_mime` go straight to the open smtplib connection
    (as Django's SMTP backend would send them); to any other backend, `_message`.
    """
    smtp = getattr(connection, "connection", None)
    data = _mime(invitation, otp, rendered) if isinstance(connection, SMTPBackend) else None
    if smtp is None or data is None:
        connection.send_messages([_message(invitation, otp, rendered)])
        return
    sender = rendered.get("sender")
    if sender is None:
        sender = rendered["sender"] = sanitize_address(settings.DEFAULT_FROM_EMAIL, "utf-8")
    smtp.sendmail(sender, [invitation.email], data)


def send_invitation(
    invitation: Invitation, *, connection: BaseEmailBackend | None = None
) -> str | None:
    """Try to send one due invitation now; return its one-time password if it went.

    The invitation is claimed like a batch of one (see `deliver_invitations`); None when it
    is not due, another worker has it, or the SMTP server did not take it.
    """
    claimed = _claim(Invitation.objects.filter(pk=invitation.pk), limit=1)
    if not claimed:
        return None
    passwords: dict[int, str] = {}
    _send_batch(claimed, connection=connection or _connection(), passwords=passwords)
    return passwords.get(invitation.pk)


def _claim_timeout() -> datetime.timedelta:
    return getattr(settings, "OUTBOX_CLAIM_TIMEOUT", DEFAULT_CLAIM_TIMEOUT)


def _claim(due: QuerySet[Invitation], *, limit: int) -> list[Invitation]:
    """Take up to `limit` due invitations for this worker; return them, oldest first.

    The rows are locked only while they are claimed (SELECT ... FOR UPDATE SKIP LOCKED):
    the claim moves their next attempt past the claim timeout, so no other worker takes
    them while this one sends, and a worker killed meanwhile leaves them to be taken again
    once the claim runs out. Each attempt counts from its claim.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            due.filter(state__in=PENDING_STATES, next_attempt_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        Invitation.objects.filter(pk__in=ids).update(
            next_attempt_at=now + _claim_timeout(), attempts=F("attempts") + 1
        )
    order = {pk: position for position, pk in enumerate(ids)}
    batch = Invitation.objects.filter(pk__in=ids).select_related("user", "agency")
    return sorted(batch, key=lambda invitation: order[invitation.pk])


def _send_batch(
    batch: list[Invitation], *, connection: BaseEmailBackend, passwords: dict[int, str]
) -> int:
    """Send a claimed batch over one SMTP connection; return how many went.

    Each invitation gets a fresh one-time password. An invitation the server took is
    marked sent at once (one UPDATE), so a worker killed in the middle sends again at most
    the one message whose exchange was in flight; the audit events of the sent ones are
    written together at the end of the batch. A refusal of one
    message (a recipient refused with 550, say) fails that one alone; a lost connection
    fails the rest of the batch, to be retried at the next interval.
    """
    failures: list[tuple[Invitation, Exception]] = []
    sent: list[Invitation] = []
    started = timezone.now()
    rendered: Rendered = {}
    # Stop well before the claim runs out: past it another worker may take the rest.
    deadline = time.monotonic() + _claim_timeout().total_seconds() / 2
    try:
        opener = getattr(connection, "open", None)
        if opener is not None:
            opener()
        for position, invitation in enumerate(batch):
            if time.monotonic() > deadline:
                _release(batch[position:])
                break
            otp = invitation.new_one_time_password()
            # The batch's time: its emails then share their rendering (and the expiry
            # they show), a few seconds early at most.
            invitation.sent_at = started
            invitation.expires_at = started + datetime.timedelta(
                hours=invitation.agency.invitation_valid_hours
            )
            try:
                _send(connection, invitation, otp, rendered)
            except MESSAGE_REFUSALS as exc:
                failures.append((invitation, exc))
                continue
            except Exception as exc:  # the connection is gone: the rest waits for a retry
                failures.extend((rest, exc) for rest in batch[position:])
                break
            if _mark_sent(invitation):
                passwords[invitation.pk] = otp
                sent.append(invitation)
    except Exception as exc:  # the server could not be reached at all
        done = {invitation.pk for invitation, _exc in failures} | set(passwords)
        failures.extend((rest, exc) for rest in batch if rest.pk not in done)
    finally:
        try:
            connection.close()
        except Exception:  # a dead server cannot stop the loop
            logger.warning("Could not close the mail connection", exc_info=True)
    if sent:
        _record_sent(sent)
    if failures:
        _mark_failed(failures)
    return len(sent)


_MARK_SENT = (
    "UPDATE invitations_invitation"
    " SET state = %s, otp_hash = %s, expires_at = %s, sent_at = %s,"
    " next_attempt_at = NULL, last_error = ''"
    " WHERE id = %s AND state IN (%s, %s)"
)


def _mark_sent(invitation: Invitation) -> bool:
    """Record that the SMTP server took the invitation; False if it was replaced meanwhile.

    One UPDATE, committed on its own: this is what keeps a killed worker from sending the
    invitation again. Its audit event is written with the batch's (`_record_sent`). Plain
    SQL: it runs once per email, and building the ORM's UPDATE cost as much as running it.
    """
    as_stored = connection.ops.adapt_datetimefield_value  # as the ORM writes them
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT,
            [
                InvitationState.SENT.value,
                invitation.otp_hash,
                as_stored(invitation.expires_at),
                as_stored(invitation.sent_at),
                invitation.pk,
                *(state.value for state in PENDING_STATES),
            ],
        )
        updated: int = cursor.rowcount
        return updated == 1


def _record_sent(sent: list[Invitation]) -> None:
    """Write the audit events of a batch's sent invitations, in one INSERT."""
    record_many(
        [
            audit_event(
                Action.INVITATION_SENT,
                obj=invitation,
                agency=invitation.agency,
                attempt=invitation.attempts,
            )
            for invitation in sent
        ]
    )


def _release(rest: list[Invitation]) -> None:
    """Give back claimed invitations not tried: due again now, the attempt not counted."""
    Invitation.objects.filter(pk__in=[i.pk for i in rest], state__in=PENDING_STATES).update(
        next_attempt_at=timezone.now(), attempts=F("attempts") - 1
    )


def _mark_failed(failures: list[tuple[Invitation, Exception]]) -> None:
    """Mark invitations not sent as retrying (or failed, past the give-up time), in one write."""
    now = timezone.now()
    with transaction.atomic():
        # An invitation replaced while this worker tried it stays replaced.
        pending = set(
            Invitation.objects.filter(
                pk__in=[invitation.pk for invitation, _exc in failures],
                state__in=PENDING_STATES,
            )
            .select_for_update()
            .values_list("pk", flat=True)
        )
        changed = []
        for invitation, exc in failures:
            if invitation.pk not in pending:
                continue
            # The error names the server's answer, never the message: no password in it.
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
            changed.append(invitation)
            record(
                Action.INVITATION_FAILED,
                obj=invitation,
                agency=invitation.agency,
                attempt=invitation.attempts,
                error=error,
                gave_up=give_up,
            )
        Invitation.objects.bulk_update(
            changed, ["otp_hash", "expires_at", "last_error", "state", "next_attempt_at"]
        )
    if changed:
        logger.warning(
            "%s invitation(s) not sent, first error: %s", len(changed), changed[0].last_error
        )


def deliver_invitations(*, batch_size: int | None = None) -> int:
    """Send one batch of due invitations over one SMTP connection; return how many went.

    The worker calls it again at once while it finds a full batch.
    """
    batch = _claim(Invitation.objects.all(), limit=batch_size or BATCH_SIZE)
    if not batch:
        return 0
    return _send_batch(batch, connection=_connection(), passwords={})


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
                record(Action.INVITATION_EXPIRED, obj=invitation, agency=invitation.agency)
                expired += 1
    return expired


def invitations_waiting() -> bool:
    """Return True if invitations are due now (the worker then goes on at once)."""
    return bool(Invitation.objects.due().exists())
