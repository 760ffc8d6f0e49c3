"""Invitations: the first credentials of a login, and their own email outbox.

An invitation row is queued in the transaction that creates the login. The worker
(`invitations.outbox`) makes the one-time password when it sends the email, keeps only its
hash, and makes a new one if it must retry, so the password is never stored in clear.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from careportal.agencies.models import AgencyScoped

# No look-alikes: no 0/O, 1/l/I. 54 symbols, 14 of them: about 80 bits.
OTP_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
OTP_LENGTH = 14
# Wrong one-time passwords typed on Change Password before the invitation ends (issue 11,
# item 6): plenty for typing slips, nothing against 80 bits; the agency sends a new one.
WRONG_TRIES_LIMIT = 10
TOKEN_SALT = "careportal.invitations.setup"


class InvitationState(models.TextChoices):
    # A context of their own: Spanish says "enviada" of an invitation, "enviado" of an email.
    QUEUED = "queued", pgettext_lazy("invitation state", "Queued")
    SENT = "sent", pgettext_lazy("invitation state", "Sent")
    RETRYING = "retrying", pgettext_lazy("invitation state", "Failed, retrying")
    FAILED = "failed", pgettext_lazy("invitation state", "Failed, gave up")
    ACCEPTED = "accepted", pgettext_lazy("invitation state", "Accepted")
    EXPIRED = "expired", pgettext_lazy("invitation state", "Expired")
    SUPERSEDED = "superseded", pgettext_lazy("invitation state", "Replaced by a newer invitation")


PENDING_STATES = (InvitationState.QUEUED, InvitationState.RETRYING)
# States in which an invitation can still be replaced by a new one.
OPEN_STATES = (*PENDING_STATES, InvitationState.SENT, InvitationState.FAILED)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def due(self, now: datetime.datetime | None = None) -> InvitationQuerySet:
        """Return invitations the worker should try to send now."""
        now = now or timezone.now()
        return self.filter(state__in=PENDING_STATES, next_attempt_at__lte=now)

    def open(self) -> InvitationQuerySet:
        return self.filter(state__in=OPEN_STATES)


class Invitation(AgencyScoped):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("login"),
    )
    email = models.EmailField(_("email"))
    state = models.CharField(
        _("state"), max_length=12, choices=InvitationState, default=InvitationState.QUEUED
    )
    # Salted HMAC-SHA256 of the one-time password: a random secret of ~80 bits needs no
    # slow hash. Empty until sent and once spent or dead.
    otp_hash = models.CharField(max_length=128, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Wrong one-time passwords typed on Change Password; at WRONG_TRIES_LIMIT it ends.
    wrong_tries = models.PositiveSmallIntegerField(_("wrong one-time passwords"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["agency", "user", "created_at"]),
            models.Index(fields=["agency", "state", "created_at"]),
            # The worker's queue spans agencies; this partial index holds pending rows only,
            # so it stays small however many agencies share the deployment.
            models.Index(
                fields=["next_attempt_at"],
                name="invitations_pending_idx",
                condition=Q(state__in=["queued", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.user} to {self.email}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and timezone.now() >= self.expires_at

    @property
    def is_usable(self) -> bool:
        """Return True if the emailed one-time password can still be used."""
        return self.state == InvitationState.SENT and bool(self.otp_hash) and not self.is_expired

    @property
    def ended_by_wrong_tries(self) -> bool:
        """Return True once too many wrong one-time passwords ended the invitation."""
        return self.wrong_tries >= WRONG_TRIES_LIMIT

    @property
    def token(self) -> str:
        """Return the signed token of the setup link: the invitation, never the username."""
        return signing.dumps(self.pk, salt=TOKEN_SALT, compress=False)

    @staticmethod
    def pk_from_token(token: str) -> int | None:
        try:
            value = signing.loads(token, salt=TOKEN_SALT)
        except signing.BadSignature:
            return None
        return value if isinstance(value, int) else None

    def new_one_time_password(self) -> str:
        """Make a fresh one-time password, keep its hash on the row, and return it."""
        otp = "".join(secrets.choice(OTP_ALPHABET) for _ in range(OTP_LENGTH))
        salt = secrets.token_hex(8)
        self.otp_hash = f"{salt}${_digest(salt, otp)}"
        return otp

    def check_one_time_password(self, otp: str) -> bool:
        if not self.otp_hash or "$" not in self.otp_hash:
            return False
        salt, digest = self.otp_hash.split("$", 1)
        # Tolerate the spaces people add when copying from an email.
        return constant_time_compare(digest, _digest(salt, otp.strip()))


def _digest(salt: str, otp: str) -> str:
    key = hashlib.sha256(f"{TOKEN_SALT}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{salt}:{otp}".encode(), hashlib.sha256).hexdigest()


class NewInvitationRequest(models.Model):
    """What someone typed on `New invitation` (/accounts/setup/new/), waiting for the worker.

    The page only writes this row, so it answers in the same time whether or not the name
    exists; the worker (invitations.services.process_new_invitation_requests) looks the
    name up, applies the per-login limit and queues the invitation. No agency column: which
    agency, if any, is what the worker finds out; the row is deleted when it is handled.
    """

    typed = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"New invitation request at {self.created_at:%Y-%m-%d %H:%M}"
