"""Writes for the calendar: caregivers and visits, visits from recurring schedules, and the
calendar feed.

`save_caregiver`, `save_visit` and `change_visit_status` are the one door for caregivers and
visits: the back office, the API, the import and `seed_demo` call them. Each checks the
record (`full_clean`: a bad value raises ValidationError naming the field, and nothing is
written), saves it in its agency and records one audit event, in one transaction. The
agency is the one passed (`agency=`, the API, which has no user) or the actor's. A visit is
never deleted through them: it is cancelled (issue 13: no hard delete of care records).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import TYPE_CHECKING, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from careportal.agencies.writes import agency_of, full_clean, record_saved, stored_row
from careportal.audit.actions import Action

# The audit trail keeps a client's id: a reference spares loading the record for it.
from careportal.audit.events import ClientRef, record, record_for_clients
from careportal.scheduling.models import (
    CalendarFeed,
    CalendarFeedClient,
    Caregiver,
    Visit,
    VisitSchedule,
    VisitStatus,
    visit_status_move_problem,
)

if TYPE_CHECKING:
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency
    from careportal.people.access import PortalLogin


@transaction.atomic
def save_caregiver(
    *,
    caregiver: Caregiver,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Caregiver:
    """Create or change a caregiver of the agency; return it, saved and audited."""
    agency = agency_of(actor=actor, agency=agency)
    stored = stored_row(caregiver, agency)
    caregiver.agency = agency
    full_clean(caregiver)
    caregiver.save()
    record_saved(
        (Action.CAREGIVER_CREATED, Action.CAREGIVER_CHANGED),
        caregiver,
        stored,
        actor=actor,
        request=request,
        agency=agency,
    )
    return caregiver


@transaction.atomic
def save_visit(
    *,
    visit: Visit,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
) -> Visit:
    """Create or change a visit of the agency; return it, saved and audited.

    Checked with `full_clean`: the client and the caregiver must be the agency's, and the
    visit must end after it starts. A new visit may have any status (an integration sends
    past visits completed); a change of status follows the moves `change_visit_status`
    allows, and the event records the status it had.
    """
    agency = agency_of(actor=actor, agency=agency)
    stored = stored_row(visit, agency)
    visit.agency = agency
    moved: dict[str, str] = {}
    if stored is not None and stored.status != visit.status:
        problem = visit_status_move_problem(stored.status, visit.status)
        if problem:
            raise ValidationError({"status": problem})
        moved = {"previous_status": stored.status, "status": visit.status}
    full_clean(visit)
    visit.save()
    record_saved(
        (Action.VISIT_CREATED, Action.VISIT_CHANGED),
        visit,
        stored,
        actor=actor,
        request=request,
        agency=agency,
        **moved,
    )
    return visit


@transaction.atomic
def change_visit_status(
    *,
    visit: Visit,
    status: str,
    actor: User | None,
    request: HttpRequest | None = None,
    agency: Agency | None = None,
    reason: str = "",
) -> Visit:
    """Move a saved visit to another status, if the move is allowed; return it, audited.

    The moves (scheduling.models.VISIT_STATUS_MOVES): scheduled to in progress, completed,
    missed or cancelled; in progress to completed or missed; the other three are final. A
    wrong move raises ValidationError on `status` and changes nothing. Only the status is
    written (other unsaved changes on `visit` are left alone); the reason, if any, goes in
    the event. Moving to the status it has changes and records nothing.
    """
    agency = agency_of(actor=actor, agency=agency)
    stored = stored_row(visit, agency)
    if stored is None:
        raise ValueError("Save the visit before changing its status.")
    if status not in VisitStatus.values:
        raise ValidationError({"status": _("Choose a status from the list.")})
    problem = visit_status_move_problem(stored.status, status)
    if problem:
        raise ValidationError({"status": problem})
    previous = stored.status
    visit.status = status
    if status == previous:
        return visit
    stored.status = status
    stored.save(update_fields=["status", "updated_at"])
    visit.updated_at = stored.updated_at
    record(
        Action.VISIT_STATUS_CHANGED,
        request=request,
        actor=actor,
        obj=stored,
        agency=agency,
        previous_status=previous,
        status=status,
        reason=reason,
    )
    return visit


def generate_visits(
    *,
    schedule: VisitSchedule,
    until: datetime.date,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Create the schedule's visits up to `until` (inclusive); return how many were new.

    Days run from the schedule's first day, or today in the agency's time zone if later,
    to `until` or the schedule's last day, whichever comes first. Each start is the
    schedule's wall-clock time on that day in the agency's time zone, converted to UTC,
    so it stays at the same local time across daylight-saving changes (a time that does
    not exist on the spring-forward day, such as 2:30, lands an hour later). A day that
    already has a visit of this schedule (by its local date in the agency's time zone,
    whatever its time or status) gets no new one: a visit moved by hand to another time
    of the day, or cancelled, is not made again.
    """
    with transaction.atomic():
        # The schedule row is locked (not the agency): two runs at once wait for each other.
        schedule = (
            VisitSchedule.objects.select_for_update(of=("self",))
            .select_related("agency")
            .get(pk=schedule.pk)
        )
        tz = schedule.agency.tz
        first = max(schedule.start_date, timezone.localdate(timezone=tz))
        last = min(until, schedule.end_date) if schedule.end_date else until
        weekdays = schedule.weekday_numbers
        starts: dict[datetime.date, datetime.datetime] = {}
        if schedule.is_active:
            day = first
            while day <= last:
                if day.weekday() in weekdays:
                    local = datetime.datetime.combine(day, schedule.start_time, tzinfo=tz)
                    starts[day] = local.astimezone(datetime.UTC)
                day += datetime.timedelta(days=1)
        taken: set[datetime.date] = set()
        if starts:
            # The local days that already have a visit of this schedule, wherever it was
            # moved within the day. A day spans at most 25 hours: a day's margin either side
            # catches every visit whose local date falls in the range.
            window_start = datetime.datetime.combine(first, datetime.time(), tzinfo=tz)
            window_end = datetime.datetime.combine(last, datetime.time(), tzinfo=tz)
            taken = {
                start.astimezone(tz).date()
                for start in Visit.objects.filter(
                    schedule=schedule,
                    start__gte=window_start - datetime.timedelta(days=1),
                    start__lt=window_end + datetime.timedelta(days=2),
                ).values_list("start", flat=True)
            }
        length = datetime.timedelta(minutes=schedule.duration_minutes)
        created = 0
        for day, start in starts.items():
            if day in taken:
                continue
            Visit.objects.create(
                agency=schedule.agency,
                client_id=schedule.client_id,
                caregiver_id=schedule.caregiver_id,
                service=schedule.service,
                start=start,
                end=start + length,
                schedule=schedule,
            )
            created += 1
        record(
            Action.VISIT_SCHEDULE_VISITS_CREATED,
            request=request,
            actor=actor,
            obj=schedule,
            created=created,
            first_day=first.isoformat(),
            until=last.isoformat(),
        )
    return created


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(*, user: PortalLogin, request: HttpRequest | None) -> tuple[CalendarFeed, str]:
    """Revoke the user's feeds and make a new one; return it with its token, shown once.

    The clients chosen for the feed it replaces are chosen for the new one too.
    """
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        chosen = list(
            CalendarFeedClient.objects.filter(
                feed__user=user, feed__revoked_at__isnull=True
            ).values_list("client_id", flat=True)
        )
        revoked = _revoke(user)
        feed = CalendarFeed.objects.create(
            agency_id=user.agency_id, user=user, token_hash=hash_token(token)
        )
        CalendarFeedClient.objects.bulk_create(
            CalendarFeedClient(agency_id=user.agency_id, feed=feed, client_id=client_id)
            for client_id in dict.fromkeys(chosen)
        )
        record(
            Action.CALENDAR_FEED_CREATED,
            request=request,
            actor=user,
            obj=feed,
            replaced=revoked,
        )
    return feed, token


def revoke_feeds(*, user: User, request: HttpRequest | None) -> int:
    """Revoke every live feed of the user; its address answers 404 from now on."""
    with transaction.atomic():
        revoked = _revoke(user)
        if revoked:
            record(Action.CALENDAR_FEED_REVOKED, request=request, actor=user, feeds=revoked)
    return len(revoked)


class FeedChoiceError(ValueError):
    """A client cannot be added to the feed; the message says why, for the person."""


def add_feed_client(*, feed: CalendarFeed, client_id: int, request: HttpRequest | None) -> None:
    """Let the feed carry this client's visits, if its owner may see them; audited.

    Refuses (FeedChoiceError, nothing changed) a client the owner may not see on the
    calendar, and a feed that already carries FEED_CLIENTS_MAX clients.
    """
    from careportal.people import access
    from careportal.scheduling import ics

    if client_id not in access.calendar_client_ids(feed.user):
        raise FeedChoiceError(_("Choose a client from the list."))
    with transaction.atomic():
        chosen = CalendarFeedClient.objects.select_for_update().filter(feed=feed)
        ids = set(chosen.values_list("client_id", flat=True))
        if client_id in ids:
            return
        if len(ids) >= ics.FEED_CLIENTS_MAX:
            raise FeedChoiceError(
                _("A calendar address carries at most %(count)d clients: remove one first.")
                % {"count": ics.FEED_CLIENTS_MAX}
            )
        CalendarFeedClient.objects.create(agency_id=feed.agency_id, feed=feed, client_id=client_id)
        record(
            Action.CALENDAR_FEED_CLIENT_ADDED,
            request=request,
            actor=feed.user,
            obj=feed,
            client=ClientRef(client_id),
        )


def remove_feed_client(*, feed: CalendarFeed, client_id: int, request: HttpRequest | None) -> bool:
    """Stop the feed carrying this client's visits; return whether it carried them."""
    with transaction.atomic():
        removed, _counts = CalendarFeedClient.objects.filter(
            feed=feed, client_id=client_id
        ).delete()
        if removed:
            record(
                Action.CALENDAR_FEED_CLIENT_REMOVED,
                request=request,
                actor=feed.user,
                obj=feed,
                client=ClientRef(client_id),
            )
    return bool(removed)


def _revoke(user: User) -> list[int]:
    live = CalendarFeed.objects.filter(user=user, revoked_at__isnull=True)
    ids = list(live.values_list("pk", flat=True))
    live.update(revoked_at=timezone.now())
    return ids


def feed_for_token(token: str) -> CalendarFeed | None:
    """Return the live feed of an active login for this token, or None."""
    return (
        CalendarFeed.objects.filter(
            token_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True
        )
        .select_related("user", "user__agency")
        .first()
    )


def _feed_client_ids(feed: CalendarFeed) -> list[int]:
    """Return the clients whose visits the feed carries for its owner today."""
    from careportal.people import access

    shown = access.calendar_client_ids(feed.user)
    among = feed.carried_among()
    if among is None:
        return shown
    chosen = set(among)
    return [pk for pk in shown if pk in chosen]


def record_feed_fetch(*, feed: CalendarFeed, request: HttpRequest | None) -> None:
    """Count a fetch; the first fetch of a day writes one audit event for the feed.

    Phones poll a feed many times a day, so the trail gets one event per feed per day,
    whose detail carries the previous day's count; the running count stays on the feed.
    """
    # A feed's owner is a portal login of the feed's agency.
    today = timezone.localdate(timezone=cast("Agency", feed.user.agency).tz)
    counted = CalendarFeed.objects.filter(pk=feed.pk, last_fetched_on=today).update(
        fetches_on_last_day=F("fetches_on_last_day") + 1
    )
    if counted:
        return
    with transaction.atomic():
        locked = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
        if locked.last_fetched_on == today:
            # Another process started the day between our two statements.
            CalendarFeed.objects.filter(pk=feed.pk).update(
                fetches_on_last_day=F("fetches_on_last_day") + 1
            )
            return
        previous_day, previous_count = locked.last_fetched_on, locked.fetches_on_last_day
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_on=today, fetches_on_last_day=1)
        record_for_clients(
            Action.CALENDAR_FEED_FETCHED,
            # The clients the feed carries today: each one's My privacy lists the fetches.
            client_ids=_feed_client_ids(feed),
            request=request,
            actor=feed.user,
            # The feed is made in its owner's agency; the owner's is loaded already.
            agency=feed.user.agency,
            obj=feed,
            day=today.isoformat(),
            previous_day=previous_day.isoformat() if previous_day else None,
            previous_day_fetches=previous_count if previous_day else 0,
        )
