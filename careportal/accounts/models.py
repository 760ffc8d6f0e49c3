"""Logins: portal users (clients, contacts, payer and community people) and agency staff."""

from __future__ import annotations

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

    objects = UserManager()

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
