"""The parties around a client's care, and the links between them.

Who may see what is decided in `people.access`; the models here hold the facts.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Self, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careportal.agencies.models import (
    AgencyScoped,
    external_id_field,
    external_id_unique,
    updated_at_field,
    updated_index,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User

# An external id names one record of its kind in the agency (the integration API).


class ClientStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold")
    DISCHARGED = "discharged", _("Discharged")


def display_name(first_name: str, last_name: str, preferred_name: str) -> str:
    """Return a client's name as pages show it (`Client.display_name`), from its columns."""
    return f"{preferred_name or first_name} {last_name}".strip()


class ClientQuerySet(models.QuerySet["Client"]):
    def visible_to(self, user: User | AnonymousUser) -> ClientQuerySet:
        """Return the clients a portal login may see (see people.access)."""
        from careportal.people import access

        if not access.is_portal_login(user):
            return self.none()
        return (
            self.filter(agency_id=user.agency_id)
            .exclude(status=ClientStatus.DISCHARGED)
            .filter(access.calendar_client_filter(user))
        )

    def named(self, search: str) -> ClientQuerySet:
        """Keep the clients whose first, last or preferred name contains every word typed.

        Only the first five words count; an empty search keeps every client.
        """
        clients = self
        for word in search.split()[:5]:
            clients = clients.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(preferred_name__icontains=word)
            )
        return clients


class Client(AgencyScoped):
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    preferred_name = models.CharField(_("preferred name"), max_length=100, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ClientStatus, default=ClientStatus.ACTIVE
    )
    # A client always has a login of their own, even when the email is shared.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client_record",
        verbose_name=_("portal login"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ClientQuerySet.as_manager()

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["agency", "status", "last_name"]),
            models.Index(fields=["agency", "user"]),
            # Lists by name (the back office, a payer's clients a page at a time).
            models.Index(fields=["agency", "last_name", "first_name"]),
            # The few discharged clients, left out of every list of a payer's or
            # community's clients (people.access): read from the index alone.
            models.Index(
                fields=["agency", "id"],
                name="people_client_discharged",
                condition=models.Q(status=ClientStatus.DISCHARGED),
            ),
            updated_index("people_client_updated"),
        ]
        constraints = [
            external_id_unique("people_client_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        """Return the name the client likes to be called by, with the family name."""
        return display_name(self.first_name, self.last_name, self.preferred_name)


class Relationship(models.TextChoices):
    """How an emergency contact stands to the client: words our catalog translates.

    "Other" takes the family's own words (`relationship_other`), shown as typed.
    """

    SPOUSE = "spouse", _("Spouse or partner")
    DAUGHTER = "daughter", _("Daughter")
    SON = "son", _("Son")
    DAUGHTER_IN_LAW = "daughter_in_law", _("Daughter-in-law")
    SON_IN_LAW = "son_in_law", _("Son-in-law")
    SISTER = "sister", _("Sister")
    BROTHER = "brother", _("Brother")
    GRANDDAUGHTER = "granddaughter", _("Granddaughter")
    GRANDSON = "grandson", _("Grandson")
    NIECE = "niece", _("Niece")
    NEPHEW = "nephew", _("Nephew")
    OTHER_FAMILY = "other_family", _("Other family member")
    FRIEND = "friend", _("Friend")
    NEIGHBOR = "neighbor", _("Neighbor")
    GUARDIAN = "guardian", _("Legal guardian")
    OTHER = "other", _("Other")


class EmergencyContact(AgencyScoped):
    client = models.ForeignKey(
        Client,
        on_delete=models.CASCADE,
        related_name="emergency_contacts",
        verbose_name=_("client"),
    )
    name = models.CharField(_("name"), max_length=200)
    relationship = models.CharField(_("relationship"), max_length=100, choices=Relationship.choices)
    relationship_other = models.CharField(
        _("relationship, in their words"),
        max_length=100,
        blank=True,
        help_text=_("Only when the relationship is Other."),
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emergency_contact_records",
        verbose_name=_("portal login"),
    )
    # What the client lets this contact see (My privacy); people.access honours them.
    sees_calendar = models.BooleanField(_("sees the calendar"), default=True)
    sees_invoices = models.BooleanField(_("sees invoices"), default=True)
    access_ends_on = models.DateField(
        _("access ends on"),
        null=True,
        blank=True,
        help_text=_("The last day this contact sees anything. Empty: no end."),
    )

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["agency", "user"]),
            models.Index(fields=["agency", "client"]),
            # The back office's list of contacts, by name.
            models.Index(fields=["agency", "name"]),
            updated_index("people_contact_updated"),
        ]
        constraints = [
            external_id_unique("people_emergencycontact_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship_name})"

    def clean(self) -> None:
        super().clean()
        if self.relationship == Relationship.OTHER and not self.relationship_other.strip():
            raise ValidationError(
                {"relationship_other": _("Please say how this person is related to the client.")}
            )
        if self.relationship != Relationship.OTHER:
            self.relationship_other = ""

    @property
    def relationship_name(self) -> str:
        """Return the relationship in the reader's language, or in the family's own words."""
        if self.relationship == Relationship.OTHER:
            return self.relationship_other
        return str(self.get_relationship_display())


class PartyKind(models.TextChoices):
    LTC_INSURER = "ltc_insurer", _("Long-term-care insurer")
    MEDICAID_WAIVER = "medicaid", _("Medicaid waiver")
    VA = "va", _("Veterans Affairs")
    FAMILY = "family", _("Family member")
    OTHER = "other", _("Other")


class Payer(AgencyScoped):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=PartyKind, default=PartyKind.OTHER)
    contact_person = models.CharField(_("contact person"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("payer")
        verbose_name_plural = _("payers")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["agency", "name"]),
            updated_index("people_payer_updated"),
        ]
        constraints = [
            external_id_unique("people_payer_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CommunityKind(models.TextChoices):
    ASSISTED_LIVING = "assisted_living", _("Assisted living")
    INDEPENDENT_LIVING = "independent_living", _("Independent living")
    MEMORY_CARE = "memory_care", _("Memory care")
    OTHER = "other", _("Other")


class Community(AgencyScoped):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=20, choices=CommunityKind, default=CommunityKind.ASSISTED_LIVING
    )
    contact_person = models.CharField(_("contact person"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["agency", "name"]),
            updated_index("people_community_updated"),
        ]
        constraints = [
            external_id_unique("people_community_external_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class PayerPerson(AgencyScoped):
    """Someone who uses the portal for a payer (a case manager, a relative who pays)."""

    payer = models.ForeignKey(
        Payer, on_delete=models.CASCADE, related_name="people", verbose_name=_("payer")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payer_person_records",
        verbose_name=_("portal login"),
    )

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("payer portal user")
        verbose_name_plural = _("payer portal users")
        indexes = [
            models.Index(fields=["agency", "user"]),
            updated_index("people_payerperson_updated"),
        ]
        constraints = [
            external_id_unique("people_payerperson_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.payer})"


class CommunityPerson(AgencyScoped):
    """Someone who uses the portal for a community (a facility nurse, a director)."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="people", verbose_name=_("community")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="community_person_records",
        verbose_name=_("portal login"),
    )

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("community portal user")
        verbose_name_plural = _("community portal users")
        indexes = [
            models.Index(fields=["agency", "user"]),
            updated_index("people_commperson_updated"),
        ]
        constraints = [
            external_id_unique("people_communityperson_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.community})"


_Link = TypeVar("_Link", bound=models.Model)


class LinkQuerySet(models.QuerySet[_Link]):
    def active(self, on: datetime.date | None = None) -> Self:
        """Return links in force on the given day (today in the agency's sense by default)."""
        on = on or timezone.localdate()
        return self.filter(Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on))


class ClientPayer(AgencyScoped):
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="payer_links", verbose_name=_("client")
    )
    payer = models.ForeignKey(
        Payer, on_delete=models.CASCADE, related_name="client_links", verbose_name=_("payer")
    )
    # The agency's date: the back office activates the agency's time zone per request.
    start_date = models.DateField(_("start date"), default=timezone.localdate)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    objects = LinkQuerySet.as_manager()

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("client's payer")
        verbose_name_plural = _("clients' payers")
        # The portal's path (people.access): a payer's links in force on a day, by agency,
        # payer and the dates the rule compares, with the client to read.
        indexes = [
            models.Index(fields=["agency", "payer", "start_date", "end_date", "client"]),
            updated_index("people_clientpayer_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="people_clientpayer_ends_after_start",
            ),
            external_id_unique("people_clientpayer_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client} – {self.payer}"


class Residence(AgencyScoped):
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="residences", verbose_name=_("client")
    )
    community = models.ForeignKey(
        Community,
        on_delete=models.CASCADE,
        related_name="residences",
        verbose_name=_("community"),
    )
    start_date = models.DateField(_("moved in"), default=timezone.localdate)
    end_date = models.DateField(_("moved out"), null=True, blank=True)

    objects = LinkQuerySet.as_manager()

    # The agency's own id for the record, from its other systems (the integration API).
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        # The portal's path: a community's residences in force today (see ClientPayer).
        indexes = [
            models.Index(fields=["agency", "community", "start_date", "end_date", "client"]),
            updated_index("people_residence_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="people_residence_ends_after_start",
            ),
            external_id_unique("people_residence_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client} at {self.community}"
