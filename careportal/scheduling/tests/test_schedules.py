"""Recurring schedules produce visits: right days, right local time, once, within dates."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.backoffice.site import backoffice_site
from careportal.backoffice.tests.conftest import sign_in
from careportal.scheduling.models import Visit, VisitSchedule
from careportal.scheduling.services import generate_visits

UTC = datetime.UTC


def _schedule(cast, **kwargs) -> VisitSchedule:
    kwargs.setdefault("monday", True)
    kwargs.setdefault("wednesday", True)
    return VisitSchedule.objects.create(
        agency=cast.sunrise,
        client=cast.margaret,
        caregiver=kwargs.pop("caregiver", cast.caregiver),
        service="Personal care",
        start_time=kwargs.pop("start_time", datetime.time(9, 0)),
        duration_minutes=kwargs.pop("duration_minutes", 120),
        start_date=kwargs.pop("start_date", datetime.date(2026, 2, 23)),
        **kwargs,
    )


def _on_day(day: datetime.date):
    """Pretend today is this day in the agency (noon in New York)."""
    now = datetime.datetime.combine(day, datetime.time(17, 0), tzinfo=UTC)
    return mock.patch("django.utils.timezone.now", return_value=now)


def test_it_makes_visits_on_the_chosen_days_at_the_local_time_across_spring_forward(cast):
    schedule = _schedule(cast)
    # Clocks go forward in New York on Sunday 8 March 2026.
    with _on_day(datetime.date(2026, 2, 23)):
        created = generate_visits(
            schedule=schedule, until=datetime.date(2026, 3, 15), actor=cast.scheduler
        )
    visits = list(Visit.objects.filter(schedule=schedule).order_by("start"))
    assert created == len(visits) == 6
    assert [v.start for v in visits] == [
        datetime.datetime(2026, 2, 23, 14, 0, tzinfo=UTC),  # Mon 9:00 EST
        datetime.datetime(2026, 2, 25, 14, 0, tzinfo=UTC),  # Wed
        datetime.datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        datetime.datetime(2026, 3, 4, 14, 0, tzinfo=UTC),
        datetime.datetime(2026, 3, 9, 13, 0, tzinfo=UTC),  # Mon 9:00 EDT
        datetime.datetime(2026, 3, 11, 13, 0, tzinfo=UTC),
    ]
    tz = cast.sunrise.tz
    for visit in visits:
        local = visit.start.astimezone(tz)
        assert local.weekday() in (0, 2)
        assert local.time() == datetime.time(9, 0)
        assert visit.end - visit.start == datetime.timedelta(hours=2)
        assert (visit.agency, visit.client, visit.caregiver) == (
            cast.sunrise,
            cast.margaret,
            cast.caregiver,
        )
        assert visit.service == "Personal care"
        assert visit.status == "scheduled"
    event = AuditEvent.objects.get(action="visit_schedule.visits_created")
    assert event.actor == cast.scheduler
    assert event.object_id == str(schedule.pk)
    assert event.client_id == cast.margaret.pk
    assert event.detail["created"] == 6


def test_it_keeps_the_local_time_across_fall_back(cast):
    # Clocks go back in New York on Sunday 1 November 2026.
    schedule = _schedule(
        cast, monday=False, wednesday=False, saturday=True, sunday=True,
        start_time=datetime.time(8, 30), start_date=datetime.date(2026, 10, 31),
    )  # fmt: skip
    with _on_day(datetime.date(2026, 10, 30)):
        generate_visits(schedule=schedule, until=datetime.date(2026, 11, 1))
    starts = list(Visit.objects.filter(schedule=schedule).values_list("start", flat=True))
    assert starts == [
        datetime.datetime(2026, 10, 31, 12, 30, tzinfo=UTC),  # 8:30 EDT
        datetime.datetime(2026, 11, 1, 13, 30, tzinfo=UTC),  # 8:30 EST
    ]


def test_it_is_idempotent(cast):
    schedule = _schedule(cast)
    with _on_day(datetime.date(2026, 2, 23)):
        first = generate_visits(schedule=schedule, until=datetime.date(2026, 3, 8))
        # A cancelled visit stays cancelled: it is not made again.
        Visit.objects.filter(schedule=schedule).update(status="cancelled")
        again = generate_visits(schedule=schedule, until=datetime.date(2026, 3, 8))
        longer = generate_visits(schedule=schedule, until=datetime.date(2026, 3, 11))
    assert (first, again, longer) == (4, 0, 2)
    assert Visit.objects.filter(schedule=schedule).count() == 6
    # The database refuses a second visit of the schedule at the same start.
    visit = Visit.objects.filter(schedule=schedule).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.create(
            agency=cast.sunrise,
            client=cast.margaret,
            service="Copy",
            start=visit.start,
            end=visit.end,
            schedule=schedule,
        )


def test_a_day_with_a_visit_of_the_schedule_gets_no_new_one(cast):
    schedule = _schedule(cast)
    with _on_day(datetime.date(2026, 2, 23)):
        assert generate_visits(schedule=schedule, until=datetime.date(2026, 3, 8)) == 4
        visits = list(Visit.objects.filter(schedule=schedule).order_by("start"))
        # Moved by hand two hours later; another one cancelled.
        moved, cancelled = visits[1], visits[2]
        Visit.objects.filter(pk=moved.pk).update(
            start=moved.start + datetime.timedelta(hours=2),
            end=moved.end + datetime.timedelta(hours=2),
        )
        Visit.objects.filter(pk=cancelled.pk).update(status="cancelled")
        assert generate_visits(schedule=schedule, until=datetime.date(2026, 3, 8)) == 0
    assert Visit.objects.filter(schedule=schedule).count() == 4
    tz = cast.sunrise.tz
    moved_day = moved.start.astimezone(tz).date()
    (on_moved_day,) = [
        v
        for v in Visit.objects.filter(schedule=schedule)
        if v.start.astimezone(tz).date() == moved_day
    ]
    assert on_moved_day.start.astimezone(tz).time() == datetime.time(11, 0)
    assert Visit.objects.get(pk=cancelled.pk).status == "cancelled"


def test_a_visit_moved_across_midnight_utc_still_counts_for_its_local_day(cast):
    # 21:30 in New York is the next day in UTC: the local date is what counts.
    schedule = _schedule(cast, start_time=datetime.time(21, 30))
    with _on_day(datetime.date(2026, 2, 23)):
        assert generate_visits(schedule=schedule, until=datetime.date(2026, 2, 25)) == 2
        first = Visit.objects.filter(schedule=schedule).order_by("start").first()
        Visit.objects.filter(pk=first.pk).update(
            start=first.start + datetime.timedelta(hours=2),  # 23:30 local, still Monday
            end=first.end + datetime.timedelta(hours=2),
        )
        assert generate_visits(schedule=schedule, until=datetime.date(2026, 2, 25)) == 0
    assert Visit.objects.filter(schedule=schedule).count() == 2


def test_it_respects_the_last_day_the_first_day_and_today(cast):
    schedule = _schedule(cast, end_date=datetime.date(2026, 3, 4))
    with _on_day(datetime.date(2026, 2, 25)):  # after the first day: nothing in the past
        created = generate_visits(schedule=schedule, until=datetime.date(2026, 4, 30))
    starts = [
        s.astimezone(cast.sunrise.tz).date()
        for s in Visit.objects.filter(schedule=schedule).values_list("start", flat=True)
    ]
    assert created == 3
    assert starts == [
        datetime.date(2026, 2, 25),
        datetime.date(2026, 3, 2),
        datetime.date(2026, 3, 4),
    ]

    later = _schedule(cast, start_date=datetime.date(2026, 3, 9))
    with _on_day(datetime.date(2026, 2, 25)):
        assert generate_visits(schedule=later, until=datetime.date(2026, 3, 10)) == 1
    assert Visit.objects.get(schedule=later).start.date() == datetime.date(2026, 3, 9)


def test_an_inactive_schedule_makes_nothing(cast):
    schedule = _schedule(cast, is_active=False)
    with _on_day(datetime.date(2026, 2, 23)):
        assert generate_visits(schedule=schedule, until=datetime.date(2026, 3, 8)) == 0
    assert not Visit.objects.filter(schedule=schedule).exists()


def test_it_validates_dates_and_days(cast):
    schedule = VisitSchedule(
        agency=cast.sunrise,
        client=cast.margaret,
        service="Personal care",
        start_time=datetime.time(9, 0),
        duration_minutes=60,
        start_date=datetime.date(2026, 3, 10),
        end_date=datetime.date(2026, 3, 9),
    )
    with pytest.raises(ValidationError) as excinfo:
        schedule.full_clean()
    messages = " ".join(excinfo.value.messages)
    assert "The last day cannot be before the first day." in messages
    assert "Choose at least one day of the week." in messages
    schedule.monday = True
    with pytest.raises(IntegrityError), transaction.atomic():
        schedule.save()
    schedule.end_date = None
    schedule.save()


def test_it_refuses_another_agencys_caregiver(cast):
    with pytest.raises(ValidationError):
        _schedule(cast, caregiver=cast.harbor_caregiver)


# The back office ------------------------------------------------------------------------

CHANGELIST = reverse("backoffice:scheduling_visitschedule_changelist")


def _run_action(browser, *schedules):
    return browser.post(
        CHANGELIST,
        {"action": "create_visits", "_selected_action": [s.pk for s in schedules]},
    )


def test_a_scheduler_creates_the_next_eight_weeks_of_visits(client, cast):
    today = timezone.localdate(timezone=cast.sunrise.tz)
    schedule = _schedule(
        cast, start_date=today, **dict.fromkeys(("tuesday", "friday", "sunday"), True)
    )  # five days a week
    sign_in(client, cast.scheduler)
    response = _run_action(client, schedule)
    assert response.status_code == 302
    visits = Visit.objects.filter(schedule=schedule)
    # Today through today + 56 days: 57 days, so 40 or 41 of them are chosen weekdays.
    assert visits.count() in (40, 41)
    last = max(v.start.astimezone(cast.sunrise.tz).date() for v in visits)
    assert last <= today + datetime.timedelta(weeks=8)
    assert _run_action(client, schedule).status_code == 302
    assert Visit.objects.filter(schedule=schedule).count() == visits.count()


def test_billing_reads_schedules_but_cannot_create_visits(client, cast):
    schedule = _schedule(cast, start_date=timezone.localdate(timezone=cast.sunrise.tz))
    sign_in(client, cast.billing)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "create_visits" not in response.content.decode()
    change = client.get(reverse("backoffice:scheduling_visitschedule_change", args=[schedule.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    _run_action(client, schedule)
    assert not Visit.objects.filter(schedule=schedule).exists()
    assert not AuditEvent.objects.filter(action="visit_schedule.visits_created").exists()


def test_another_agencys_staff_cannot_run_the_action_on_a_schedule(client, cast):
    schedule = _schedule(cast, start_date=timezone.localdate(timezone=cast.sunrise.tz))
    sign_in(client, cast.harriet)
    _run_action(client, schedule)
    assert not Visit.objects.filter(schedule=schedule).exists()
    response = client.get(reverse("backoffice:scheduling_visitschedule_change", args=[schedule.pk]))
    assert response.status_code == 302  # like a missing record
    assert "Margaret" not in client.get(CHANGELIST).content.decode()


def test_the_schedule_admin_is_registered_for_the_scheduling_roles(cast):
    from django.test import RequestFactory

    model_admin = backoffice_site._registry[VisitSchedule]
    for user, can_change in (
        (cast.owner, True),
        (cast.administrator, True),
        (cast.scheduler, True),
        (cast.billing, False),
    ):
        request = RequestFactory().get("/")
        request.user = user
        assert model_admin.has_view_permission(request)
        assert model_admin.has_change_permission(request) is can_change
        assert ("create_visits" in model_admin.get_actions(request)) is can_change


def test_opening_a_schedule_in_the_back_office_is_audited(client, cast):
    schedule = _schedule(cast, start_date=timezone.localdate(timezone=cast.sunrise.tz))
    sign_in(client, cast.scheduler)
    url = reverse("backoffice:scheduling_visitschedule_change", args=[schedule.pk])

    assert client.get(url).status_code == 200

    (event,) = AuditEvent.objects.filter(action="calendar.viewed")
    assert (event.actor, event.agency) == (cast.scheduler, cast.sunrise)
    assert event.object_type == "scheduling.visitschedule"
    assert event.object_id == str(schedule.pk)
    assert event.client_id == cast.margaret.pk
    assert event.detail["place"] == "backoffice"


def test_the_schedule_change_list_records_one_event_per_page_view(client, cast):
    today = timezone.localdate(timezone=cast.sunrise.tz)
    margarets = _schedule(cast, start_date=today)
    walters = _schedule(cast, start_date=today)
    VisitSchedule.objects.filter(pk=walters.pk).update(client=cast.walter)
    sign_in(client, cast.scheduler)

    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert client.get(CHANGELIST, {"q": "no such schedule"}).status_code == 200

    first, second = AuditEvent.objects.filter(action="calendar.viewed").order_by("pk")
    assert (first.actor, first.agency) == (cast.scheduler, cast.sunrise)
    assert first.detail["place"] == "backoffice"
    assert first.detail["model"] == "scheduling.visitschedule"
    assert sorted(first.detail["ids"]) == sorted([margarets.pk, walters.pk])
    assert first.detail["clients"] == sorted([cast.margaret.pk, cast.walter.pk])
    assert second.detail["ids"] == []


def test_no_view_is_recorded_for_another_agencys_schedule(client, cast):
    schedule = _schedule(cast, start_date=timezone.localdate(timezone=cast.sunrise.tz))
    sign_in(client, cast.harriet)
    url = reverse("backoffice:scheduling_visitschedule_change", args=[schedule.pk])
    assert client.get(url).status_code == 302
    assert not AuditEvent.objects.filter(
        action="calendar.viewed", object_id=str(schedule.pk)
    ).exists()
