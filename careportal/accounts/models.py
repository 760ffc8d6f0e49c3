"""Logins: portal users (clients, contacts, payer and community people) and agency staff."""

from __future__ import annotations

from typing import ClassVar, Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class UserKind(models.TextChoices):
    PORTAL = "portal", _("Portal user")
    STAFF = "staff", _("Agency staff")
    OPERATOR = "operator", _("Platform operator")


class User(AbstractUser):
    """One login. It belongs to one agency (platform operators to none).

    A portal login stands for the party records that point at it (a client, emergency
    contacts, payer people, community people); a staff login has a StaffMembership.
    """

    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("agency"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=UserKind, default=UserKind.PORTAL)
    must_change_password = models.BooleanField(_("must change password"), default=False)
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    security_question = models.CharField(_("security question"), max_length=64, blank=True)
    # Hashed like a password; compared without regard to case and spacing.
    security_answer_hash = models.CharField(max_length=255, blank=True, editable=False)

    objects: ClassVar[UserManager[Self]] = UserManager()

    class Meta:
        verbose_name = _("login")
        verbose_name_plural = _("logins")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]
        indexes = [
            models.Index(fields=["agency", "email"]),
            models.Index(Lower("email"), name="accounts_user_email_ci"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_portal_user(self) -> bool:
        return self.kind == UserKind.PORTAL

    @property
    def is_agency_staff(self) -> bool:
        return self.kind == UserKind.STAFF


class PasswordHistory(models.Model):
    """Hashes of a login's previous passwords, so that none of the last ten is reused."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, null=True, blank=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "user", "created_at"])]

    def __str__(self) -> str:
        return f"Password of {self.user} set {self.created_at:%Y-%m-%d}"


class SessionRecord(models.Model):
    """Which sessions belong to a login: database sessions are not indexed by user."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, null=True, blank=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="session_records")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["agency", "user"])]

    def __str__(self) -> str:
        return f"Session of {self.user}"


class PasswordResetRequest(models.Model):
    """One `Forgot password?` email sent to a login.

    Rows are what the per-account rate limit counts (so it holds across processes), and
    they carry the wrong answers to the security question that lock the reset.
    """

    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, null=True, blank=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_resets")
    created_at = models.DateTimeField(auto_now_add=True)
    wrong_answers = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "user", "created_at"])]

    def __str__(self) -> str:
        return f"Password reset of {self.user} at {self.created_at:%Y-%m-%d %H:%M}"


class ForgotPasswordRequest(models.Model):
    """What someone typed on `Forgot password?`, waiting for the worker.

    The page only writes this row, so it answers in the same time whether or not the name
    exists; the worker (accounts.recovery.process_reset_requests) looks the name up,
    applies the per-account limit and queues the email. No agency column: which agency,
    if any, is what the worker finds out; the row is deleted when it is handled.
    """

    typed = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Forgot password request at {self.created_at:%Y-%m-%d %H:%M}"
