"""Agencies are the tenants: every record of ours belongs to exactly one of them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import Combinable
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# Where logos are stored; the logo's address is its name in this folder (agencies.views).
LOGO_FOLDER = "logos"
# The message a portal user starts from when writing to the owner, in each language of the
# portal: the sender's language picks it. The agency may reword both.
DEFAULT_MESSAGE_SUBJECT = "Message from {sender_name} ({relationship})"
DEFAULT_MESSAGE_BODY = (
    "Dear {owner_name},\n\n"
    "This is {sender_name}, {relationship}, writing through the {agency_name} portal.\n\n"
)
DEFAULT_MESSAGE_SUBJECT_ES = "Mensaje de {sender_name} ({relationship})"
DEFAULT_MESSAGE_BODY_ES = (
    "Buenos días, {owner_name}:\n\n"
    "Le escribe {sender_name}, {relationship}, desde el portal de {agency_name}.\n\n"
)


# What people call the time zones of the United States; any other shows its place name.
TIME_ZONE_NAMES = {
    "America/New_York": _("Eastern Time"),
    "America/Detroit": _("Eastern Time"),
    "America/Indiana/Indianapolis": _("Eastern Time"),
    "America/Kentucky/Louisville": _("Eastern Time"),
    "America/Chicago": _("Central Time"),
    "America/Denver": _("Mountain Time"),
    "America/Boise": _("Mountain Time"),
    "America/Phoenix": _("Arizona Time"),
    "America/Los_Angeles": _("Pacific Time"),
    "America/Anchorage": _("Alaska Time"),
    "Pacific/Honolulu": _("Hawaii Time"),
    "America/Puerto_Rico": _("Atlantic Time"),
}


class PasswordPreset(models.TextChoices):
    # The default meets state electronic-visit-verification mandates and goes further.
    EVV = "evv", _("Home care standard (state EVV rules, 12 characters, mixed)")
    NIST = "nist", _("NIST SP 800-63B-4 (15 characters, no composition rules)")


class Agency(models.Model):
    name = models.CharField(_("name"), max_length=200)
    owner_name = models.CharField(_("owner's name"), max_length=200)
    owner_email = models.EmailField(_("owner's email"))
    message_email = models.EmailField(
        _("address for portal messages"),
        blank=True,
        help_text=_("Messages from the portal go here. Empty: the owner's email."),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/New_York")
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    # Forms take it through agencies.images (checked, re-encoded, named at random).
    logo = models.ImageField(_("logo"), upload_to=f"{LOGO_FOLDER}/", blank=True)
    payment_instructions = models.TextField(
        _("how to pay"),
        blank=True,
        help_text=_(
            "Shown on every invoice: where to mail checks, bank transfer details, or a "
            "phone number."
        ),
    )

    # Portal settings. The preset sets the floor; the fields below can only tighten it.
    password_preset = models.CharField(
        _("password rules"), max_length=8, choices=PasswordPreset, default=PasswordPreset.EVV
    )
    password_min_length = models.PositiveSmallIntegerField(
        _("minimum password length"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(64)],
        help_text=_("Empty: the preset's minimum. Can be raised, never lowered."),
    )
    password_history = models.PositiveSmallIntegerField(
        _("passwords remembered"),
        default=10,
        validators=[MaxValueValidator(24)],
        help_text=_("How many old passwords cannot be used again (at least 10)."),
    )
    password_expiry_days = models.PositiveSmallIntegerField(
        _("password expires after (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Empty: passwords do not expire. Some states require 60."),
    )
    max_failed_sign_ins = models.PositiveSmallIntegerField(
        _("failed sign-ins before lock"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
    )
    session_idle_minutes = models.PositiveSmallIntegerField(
        _("sign out after idle minutes"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(30)],
    )
    invitation_valid_hours = models.PositiveSmallIntegerField(
        _("one-time password valid for (hours)"),
        default=72,
        validators=[MinValueValidator(24), MaxValueValidator(168)],
    )
    require_portal_two_factor = models.BooleanField(
        _("require two-step sign-in for portal users"), default=False
    )
    message_subject_template = models.CharField(
        _("message subject template (English)"), max_length=200, default=DEFAULT_MESSAGE_SUBJECT
    )
    message_body_template = models.TextField(
        _("message template (English)"),
        default=DEFAULT_MESSAGE_BODY,
        help_text=_("Placeholders: {owner_name}, {sender_name}, {relationship}, {agency_name}."),
    )
    message_subject_template_es = models.CharField(
        _("message subject template (Spanish)"),
        max_length=200,
        default=DEFAULT_MESSAGE_SUBJECT_ES,
    )
    message_body_template_es = models.TextField(
        _("message template (Spanish)"),
        default=DEFAULT_MESSAGE_BODY_ES,
        help_text=_("For people who read the portal in Spanish. The same placeholders."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"time_zone": _("Unknown time zone.")}) from exc
        if self.password_history is not None and self.password_history < 10:
            raise ValidationError(
                {"password_history": _("At least 10 previous passwords are remembered.")}
            )

    @property
    def portal_message_email(self) -> str:
        return self.message_email or self.owner_email

    @property
    def logo_link(self) -> str:
        """Return the app's address of the logo, "" without one; it changes with the file."""
        if not self.logo.name:
            return ""
        return reverse("agencies:logo", args=[PurePosixPath(self.logo.name).name])

    def message_template(self, language: str) -> tuple[str, str]:
        """Return the (subject, body) a message to the owner starts from, in this language."""
        if language.split("-")[0] == "es":
            return self.message_subject_template_es, self.message_body_template_es
        return self.message_subject_template, self.message_body_template

    @property
    def time_zone_name(self) -> str:
        """Return the time zone as people say it ("Eastern Time"), else its place name."""
        if self.time_zone in TIME_ZONE_NAMES:
            return str(TIME_ZONE_NAMES[self.time_zone])
        return self.time_zone.rsplit("/", 1)[-1].replace("_", " ")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class AgencyScoped(models.Model):
    """Base of every table of ours: the agency column, and no link to another agency's row."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, verbose_name=_("agency"))

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard, not a flow: a row that points at another agency's row must never be written.
        self.check_same_agency()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.check_same_agency()

    def check_same_agency(self) -> None:
        """Raise ValidationError if a foreign key points at a row of another agency."""
        errors = {}
        for field in self._meta.concrete_fields:
            # The concrete many-to-one fields are the foreign keys (a one-to-one is not one).
            if not isinstance(field, models.ForeignKey) or not field.many_to_one:
                continue
            if field.name == "agency":
                continue
            related_model = field.related_model
            if not any(f.name == "agency" for f in related_model._meta.concrete_fields):
                continue
            related_id = getattr(self, field.attname)
            if related_id is None:
                continue
            # A row of whichever model the key points at; each has an agency column.
            cached: Any = field.get_cached_value(self, default=None)
            if cached is not None:
                other_agency_id = cached.agency_id
            else:
                other_agency_id = (
                    related_model._base_manager.filter(pk=related_id)
                    .values_list("agency_id", flat=True)
                    .first()
                )
            if self.agency_id is not None and other_agency_id != self.agency_id:
                errors[field.name] = _("Choose a record of this agency.")
        if errors:
            raise ValidationError(errors)


# The records an agency's own systems own (people, visits, plans, invoices) carry their id
# in those systems, by which the integration API and the import find and upsert them, and
# the time they last changed, by which the API lists them (`updated_since`).
EXTERNAL_ID_TAKEN = _("Another record of this agency has this external id.")


def external_id_field() -> models.CharField[str | int | Combinable, str]:
    """Return the record's id in the agency's own system: blank, or unique in the agency."""
    return models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("The record's number in the agency's own system, set by its integration."),
    )


def updated_at_field() -> models.DateTimeField[str | datetime | date | Combinable, datetime]:
    """Return the time the record last changed."""
    return models.DateTimeField(_("last changed"), auto_now=True)


def external_id_unique(name: str) -> models.UniqueConstraint:
    """Return the constraint that keeps a non-blank external id unique in the agency."""
    return models.UniqueConstraint(
        fields=["agency", "external_id"],
        condition=~models.Q(external_id=""),
        name=name,
        violation_error_code="external_id_taken",
        violation_error_message=EXTERNAL_ID_TAKEN,
    )


def updated_index(name: str) -> models.Index:
    """Return the index of the API's lists: the agency's records by the time they changed."""
    return models.Index(fields=["agency", "updated_at", "id"], name=name)


class StaffRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMINISTRATOR = "administrator", _("Administrator")
    SCHEDULER = "scheduler", _("Scheduler")
    BILLING = "billing", _("Billing")


class StaffMembership(AgencyScoped):
    """A back-office login's place in one agency. A staff login is never a portal login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_membership",
        verbose_name=_("login"),
    )
    role = models.CharField(_("role"), max_length=16, choices=StaffRole)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        indexes = [models.Index(fields=["agency", "role"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    @property
    def sees_service_plans(self) -> bool:
        return self.role != StaffRole.BILLING
