import datetime
import hashlib
import re

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.people.models import ClientPayer, EmergencyContact
from careportal.scheduling import services
from careportal.scheduling.models import CalendarFeed, VisitStatus
from careportal.testing import make_visit

SETTINGS_URL = reverse("scheduling:feed_settings")


def _create_feed_url(client, user):
    client.force_login(user)
    response = client.post(SETTINGS_URL, {"action": "create"})
    assert response.status_code == 200
    url = response.context["new_url"]
    client.logout()
    return url


def _events(response):
    calendar = icalendar.Calendar.from_ical(response.content)
    return calendar.walk("VEVENT")


def _soon(hours):
    return timezone.now() + datetime.timedelta(hours=hours)


def test_it_creates_a_feed_and_shows_its_address_once(client, cast):
    client.force_login(cast.margaret.user)

    response = client.post(SETTINGS_URL, {"action": "create"})

    assert response.status_code == 200
    url = response.context["new_url"]
    assert re.search(r"/calendar/feed/[A-Za-z0-9_-]{40,}\.ics$", url)
    body = response.content.decode()
    assert url in body
    assert "Anyone who has this address can see the visit times" in body
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(user=cast.margaret.user)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in feed.token_hash
    assert AuditEvent.objects.filter(
        action="calendar_feed.created", actor=cast.margaret.user
    ).exists()
    # The address is never shown again.
    again = client.get(SETTINGS_URL)
    assert token not in again.content.decode()
    assert "Stop this address" in again.content.decode()


def test_it_serves_valid_icalendar_with_the_least_detail(client, cast):
    cast.margaret.address = "12 Elm Street"
    cast.margaret.save()
    make_visit(cast.margaret, cast.caregiver, _soon(24), service="Wound dressing")
    make_visit(cast.margaret, None, _soon(48), status=VisitStatus.CANCELLED)
    make_visit(cast.rosa, cast.caregiver, _soon(24), service="Rosa only")
    url = _create_feed_url(client, cast.margaret.user)

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "no-store" in response["Cache-Control"]
    events = _events(response)
    assert len(events) == 2
    first, second = sorted(events, key=lambda e: e.decoded("dtstart"))
    assert str(first["summary"]) == "Care visit"
    assert first.decoded("dtstart").utcoffset() == datetime.timedelta(0)
    assert first.decoded("dtend") - first.decoded("dtstart") == datetime.timedelta(hours=2)
    assert "Carla" in str(first["description"]) and "Scheduled" in str(first["description"])
    assert "Not yet assigned" in str(second["description"])
    assert str(second["status"]) == "CANCELLED"
    text = response.content.decode()
    for secret in ("Margaret", "Hale", "Wound dressing", "Elm Street", "Giver", "Rosa"):
        assert secret not in text


def test_it_keeps_to_a_window_around_today(client, cast):
    make_visit(cast.margaret, cast.caregiver, _soon(-24 * 40))
    make_visit(cast.margaret, cast.caregiver, _soon(-24 * 5))
    make_visit(cast.margaret, cast.caregiver, _soon(24 * 60))
    make_visit(cast.margaret, cast.caregiver, _soon(24 * 120))
    url = _create_feed_url(client, cast.margaret.user)

    response = client.get(url)

    assert len(_events(response)) == 2


def test_it_answers_404_once_revoked(client, cast):
    make_visit(cast.margaret, cast.caregiver, _soon(24))
    url = _create_feed_url(client, cast.margaret.user)
    assert client.get(url).status_code == 200
    client.force_login(cast.margaret.user)

    response = client.post(SETTINGS_URL, {"action": "revoke"})

    assert response.status_code == 200
    assert "You have no calendar address" in response.content.decode()
    client.logout()
    assert client.get(url).status_code == 404
    assert CalendarFeed.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="calendar_feed.revoked").exists()


def test_it_kills_the_old_address_on_regenerate(client, cast):
    old_url = _create_feed_url(client, cast.margaret.user)
    client.force_login(cast.margaret.user)

    response = client.post(SETTINGS_URL, {"action": "regenerate"})

    new_url = response.context["new_url"]
    assert new_url != old_url
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(new_url).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_it_answers_404_to_an_unknown_token(client, cast):
    response = client.get(reverse("scheduling:feed", args=["nope" * 10]))

    assert response.status_code == 404


def test_it_answers_404_once_the_account_is_inactive(client, cast):
    url = _create_feed_url(client, cast.margaret.user)
    cast.margaret.user.is_active = False
    cast.margaret.user.save()

    assert client.get(url).status_code == 404


def test_it_dies_with_the_account(client, cast):
    url = _create_feed_url(client, cast.tom)

    cast.tom.delete()

    assert not CalendarFeed.objects.exists()
    assert client.get(url).status_code == 404


def test_it_recomputes_visibility_on_every_fetch(client, cast):
    make_visit(cast.margaret, cast.caregiver, _soon(24))
    make_visit(cast.rosa, cast.caregiver, _soon(26))
    url = _create_feed_url(client, cast.paula)
    assert len(_events(client.get(url))) == 2

    ClientPayer.objects.filter(client=cast.rosa).update(
        end_date=timezone.localdate() - datetime.timedelta(days=2)
    )

    assert len(_events(client.get(url))) == 1


def test_it_empties_a_contacts_feed_once_removed(client, cast):
    make_visit(cast.margaret, cast.caregiver, _soon(24))
    url = _create_feed_url(client, cast.tom)
    assert len(_events(client.get(url))) == 1

    EmergencyContact.objects.filter(user=cast.tom).delete()

    response = client.get(url)
    assert response.status_code == 200
    assert _events(response) == []


def test_it_records_fetches_once_a_day_with_a_count(client, cast):
    url = _create_feed_url(client, cast.margaret.user)

    for _ in range(3):
        assert client.get(url).status_code == 200

    feed = CalendarFeed.objects.get()
    assert feed.last_fetched_on == timezone.localdate(timezone=cast.sunrise.tz)
    assert feed.fetches_on_last_day == 3
    events = AuditEvent.objects.filter(action="calendar_feed.fetched")
    assert events.count() == 1
    assert events.get().object_id == str(feed.pk)

    # The next day's first fetch writes the next event, carrying the day before's count.
    CalendarFeed.objects.filter(pk=feed.pk).update(
        last_fetched_on=feed.last_fetched_on - datetime.timedelta(days=1)
    )
    client.get(url)

    assert events.count() == 2
    latest = events.order_by("-id").first()
    assert latest.detail["previous_day_fetches"] == 3
    feed.refresh_from_db()
    assert feed.fetches_on_last_day == 1


def test_it_stores_only_the_hash(cast):
    feed, token = services.create_feed(user=cast.ellen, request=None)

    assert CalendarFeed.objects.filter(token_hash=token).count() == 0
    assert services.feed_for_token(token) == feed


@pytest.mark.parametrize(
    "who",
    [
        "client",
        "contact_ellen",
        "contact_tom",
        "payer",
        "community",
        "stranger",
        "other_agency_client",
    ],
)
def test_it_gives_every_portal_user_the_feed_page(client, cast, who):
    client.force_login(cast.portal_users[who])

    response = client.get(SETTINGS_URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Make my calendar address" in response.content.decode()


def test_it_keeps_staff_and_anonymous_visitors_off_the_feed_page(client, cast):
    assert client.get(SETTINGS_URL)["Location"].startswith(reverse("accounts:login"))
    client.force_login(cast.owner)

    response = client.post(SETTINGS_URL, {"action": "create"})

    assert response.status_code != 200
    assert not CalendarFeed.objects.exists()


def test_it_revokes_only_the_users_own_feed(client, cast):
    ellen_url = _create_feed_url(client, cast.ellen)
    client.force_login(cast.tom)

    client.post(SETTINGS_URL, {"action": "revoke"})

    client.logout()
    assert client.get(ellen_url).status_code == 200


def test_it_rejects_an_unknown_action(client, cast):
    client.force_login(cast.margaret.user)

    response = client.post(SETTINGS_URL, {"action": "explode"})

    assert response.status_code == 400
    assert not CalendarFeed.objects.exists()


def test_it_serves_the_feed_with_a_constant_number_of_queries(
    client, cast, django_assert_max_num_queries
):
    url = _create_feed_url(client, cast.paula)
    make_visit(cast.margaret, cast.caregiver, _soon(24))
    with django_assert_max_num_queries(10):
        client.get(url)
    for i in range(50):
        make_visit(cast.walter, cast.caregiver if i % 2 else None, _soon(24 + i))
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert len(_events(response)) == 51
