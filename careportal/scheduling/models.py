"""Caregivers and the visits they make to clients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
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
    from django.db.models.fields.files import ImageFieldFile

    from careportal.accounts.models import User


class Caregiver(AgencyScoped):
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    photo = models.ImageField(_("photo"), upload_to="caregivers/", blank=True)
    show_photo_to_families = models.BooleanField(_("families may see the photo"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    external_id = external_id_field()
    updated_at = updated_at_field()

    class Meta:
        verbose_name = _("caregiver")
        verbose_name_plural = _("caregivers")
        ordering = ["first_name", "last_name"]
        indexes = [
            models.Index(fields=["agency", "last_name"]),
            updated_index("scheduling_caregiver_updated"),
        ]
        constraints = [
            external_id_unique("scheduling_caregiver_ext_id"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def family_name_shown(self) -> str:
        """Return what a family may see of the caregiver's name: the first name only."""
        return self.first_name

    @property
    def family_photo_shown(self) -> ImageFieldFile | None:
        """Return the photo families may see, or None unless the agency allows it."""
        return self.photo if self.show_photo_to_families and self.photo else None


class VisitQuerySet(models.QuerySet["Visit"]):
    def visible_to(
        self, user: User | AnonymousUser, among: Iterable[int] | None = None
    ) -> VisitQuerySet:
        """Return the visits a portal login may see on its calendar (see people.access).

        `among` keeps only these clients' visits (a page of clients, or the one a page is
        narrowed to); ids the login may not see are dropped, never trusted.
        """
        from careportal.people import access

        if not access.is_portal_login(user):
            return self.none()
        client_ids = access.calendar_client_ids(user)
        if among is not None:
            wanted = set(among)
            client_ids = [pk for pk in client_ids if pk in wanted]
        # A literal list of ids, resolved first: the index on (agency, client, start)
        # serves it, where a subquery made PostgreSQL scan every visit.
        return self.filter(agency_id=user.agency_id, client_id__in=client_ids).select_related(
            "client", "caregiver"
        )

    def for_client(self, client_id: int | None) -> VisitQuerySet:
        return self if client_id is None else self.filter(client_id=client_id)


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    MISSED = "missed", _("Missed")


# The moves of a visit's status (scheduling.services). A scheduled visit starts, or is
# recorded afterwards as completed (a caregiver's system may report only the end), missed
# or cancelled. A visit under way is completed, or missed when the caregiver had to leave
# before giving care; it is never cancelled, since it has begun. The other three are final:
# a visit cancelled by mistake is made again, so that the trail keeps both.
VISIT_STATUS_MOVES: dict[str, frozenset[str]] = {
    VisitStatus.SCHEDULED: frozenset(
        {VisitStatus.IN_PROGRESS, VisitStatus.COMPLETED, VisitStatus.MISSED, VisitStatus.CANCELLED}
    ),
    VisitStatus.IN_PROGRESS: frozenset({VisitStatus.COMPLETED, VisitStatus.MISSED}),
}


def visit_status_move_problem(previous: str, status: str) -> str | None:
    """Return why a visit may not move from `previous` to `status`, or None when it may."""
    if status == previous or status in VISIT_STATUS_MOVES.get(previous, frozenset()):
        return None
    return _("A visit that is %(previous)s cannot become %(status)s.") % {
        "previous": VisitStatus(previous).label.lower(),
        "status": VisitStatus(status).label.lower() if status in VisitStatus.values else status,
    }


class Visit(AgencyScoped):
    client = models.ForeignKey(
        "people.Client",
        on_delete=models.CASCADE,
        related_name="visits",
        verbose_name=_("client"),
    )
    caregiver = models.ForeignKey(
        Caregiver,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("caregiver"),
        help_text=_("Empty: not yet assigned."),
    )
    service = models.CharField(_("service"), max_length=120)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"), max_length=12, choices=VisitStatus, default=VisitStatus.SCHEDULED
    )
    schedule = models.ForeignKey(
        "VisitSchedule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("recurring schedule"),
        help_text=_("The recurring schedule that created this visit, if any."),
    )
    external_id = external_id_field()
    updated_at = updated_at_field()

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["start"]
        indexes = [
            models.Index(fields=["agency", "client", "start"]),
            # The next visit of each client on a Dashboard: only visits still to come count,
            # so the index skips the years of completed ones.
            models.Index(
                fields=["agency", "client", "start"],
                condition=Q(status__in=["scheduled", "in_progress"]),
                name="scheduling_visit_upcoming",
            ),
            # The back office's visit list, latest first (start, then id: read in the index's
            # order, 25 rows for a page however many visits share a start time), and its
            # status and caregiver filters.
            models.Index(fields=["agency", "start", "id"], name="scheduling_visit_by_start"),
            models.Index(fields=["agency", "status", "start"]),
            models.Index(fields=["agency", "caregiver", "start"]),
            updated_index("scheduling_visit_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="scheduling_visit_ends_after_start"
            ),
            # A schedule makes at most one visit at a given start: generating is idempotent.
            models.UniqueConstraint(
                fields=["schedule", "start"],
                condition=Q(schedule__isnull=False),
                name="scheduling_visit_once_per_schedule_start",
            ),
            external_id_unique("scheduling_visit_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.service} – {self.client} – {self.start:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValidationError({"end": _("The visit must end after it starts.")})


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class VisitSchedule(AgencyScoped):
    """A recurring visit: on these weekdays, at this local time of the agency, for so long.

    Times are wall-clock times in the agency's time zone, so a 9:00 visit stays at 9:00
    across daylight-saving changes. `services.generate_visits` turns it into visits.
    """

    client = models.ForeignKey(
        "people.Client",
        on_delete=models.CASCADE,
        related_name="visit_schedules",
        verbose_name=_("client"),
    )
    caregiver = models.ForeignKey(
        Caregiver,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visit_schedules",
        verbose_name=_("caregiver"),
        help_text=_("Empty: not yet assigned."),
    )
    service = models.CharField(_("service"), max_length=120)
    # One box a day: the simplest thing to fill in and to check.
    monday = models.BooleanField(_("Monday"), default=False)
    tuesday = models.BooleanField(_("Tuesday"), default=False)
    wednesday = models.BooleanField(_("Wednesday"), default=False)
    thursday = models.BooleanField(_("Thursday"), default=False)
    friday = models.BooleanField(_("Friday"), default=False)
    saturday = models.BooleanField(_("Saturday"), default=False)
    sunday = models.BooleanField(_("Sunday"), default=False)
    start_time = models.TimeField(
        _("start time"), help_text=_("Local time in the agency's time zone.")
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("length (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"), null=True, blank=True, help_text=_("Empty: no end."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("recurring schedule")
        verbose_name_plural = _("recurring schedules")
        ordering = ["client", "start_time"]
        indexes = [models.Index(fields=["agency", "client"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="scheduling_visitschedule_ends_after_start",
                violation_error_message=_("The last day cannot be before the first day."),
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0),
                name="scheduling_visitschedule_has_length",
                violation_error_message=_("A visit lasts at least one minute."),
            ),
            models.CheckConstraint(
                condition=Q(monday=True)
                | Q(tuesday=True)
                | Q(wednesday=True)
                | Q(thursday=True)
                | Q(friday=True)
                | Q(saturday=True)
                | Q(sunday=True),
                name="scheduling_visitschedule_has_a_weekday",
                violation_error_message=_("Choose at least one day of the week."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} – {self.client} – {self.start_time:%H:%M}"

    @property
    def weekday_numbers(self) -> set[int]:
        """Return the chosen weekdays as date.weekday() numbers (Monday is 0)."""
        return {number for number, name in enumerate(WEEKDAYS) if getattr(self, name)}


class CalendarFeed(AgencyScoped):
    """A private iCalendar subscription. Only the token's hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_on = models.DateField(null=True, blank=True)
    fetches_on_last_day = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        indexes = [models.Index(fields=["agency", "user"])]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    def carried_among(self) -> list[int] | None:
        """Return the clients whose visits the feed carries: None for all of its owner's.

        A login with up to FEED_CLIENTS_MAX clients gets them all; a login with more gets
        only those it chose (none until it chooses). `Visit.objects.visible_to` checks the
        list again, so a chosen client whose link has ended drops out.
        """
        from careportal.people import access
        from careportal.scheduling.ics import FEED_CLIENTS_MAX

        if len(access.calendar_client_ids(self.user)) <= FEED_CLIENTS_MAX:
            return None
        return list(self.chosen.values_list("client_id", flat=True))


class CalendarFeedClient(AgencyScoped):
    """A client whose visits a feed carries, chosen by a login with many clients.

    Only a choice: every fetch checks it again through `people.access`, so a link that has
    ended takes that client out of the feed at once.
    """

    feed = models.ForeignKey(CalendarFeed, on_delete=models.CASCADE, related_name="chosen")
    client = models.ForeignKey("people.Client", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("client on a calendar feed")
        verbose_name_plural = _("clients on calendar feeds")
        indexes = [models.Index(fields=["agency", "feed"])]
        constraints = [
            models.UniqueConstraint(fields=["feed", "client"], name="scheduling_feed_client_once")
        ]

    def __str__(self) -> str:
        return f"{self.client} on {self.feed}"
