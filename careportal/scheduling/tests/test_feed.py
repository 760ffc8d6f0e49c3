import datetime
import hashlib
import re

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.builders import make_client, make_visit
from careportal.people.models import ClientPayer, EmergencyContact
from careportal.scheduling import ics, services
from careportal.scheduling.models import CalendarFeed, CalendarFeedClient, VisitStatus

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


def _payer_with_clients(cast, count):
    """Give Paula's payer Atlas `count` more clients, each with a visit tomorrow."""
    start = timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=30)
    extras = []
    for i in range(count):
        extra = make_client(cast.sunrise, f"Extra{i:02d}", "Client")
        ClientPayer.objects.create(
            agency=cast.sunrise, client=extra, payer=cast.atlas, start_date=start
        )
        make_visit(extra, cast.caregiver, _soon(24 + i))
        extras.append(extra)
    return extras


def test_it_carries_every_client_of_a_login_with_up_to_twenty_five(client, cast):
    _payer_with_clients(cast, ics.FEED_CLIENTS_MAX - 3)  # and Margaret, Walter, Rosa
    url = _create_feed_url(client, cast.paula)

    assert len(_events(client.get(url))) == ics.FEED_CLIENTS_MAX - 3
    client.force_login(cast.paula)
    assert "Clients on this calendar" not in client.get(SETTINGS_URL).content.decode()


def test_it_carries_no_client_above_twenty_five_until_chosen(client, cast):
    _payer_with_clients(cast, 30)
    url = _create_feed_url(client, cast.paula)

    assert _events(client.get(url)) == []
    client.force_login(cast.paula)
    body = client.get(SETTINGS_URL).content.decode()
    assert "Clients on this calendar" in body
    assert "No client is chosen yet, so your calendar address carries no visits." in body
    assert '<label for="feed-client-q">Find a client by name</label>' in body


def test_it_lets_a_login_with_many_clients_choose_them(client, cast):
    extras = _payer_with_clients(cast, 30)
    url = _create_feed_url(client, cast.paula)
    client.force_login(cast.paula)

    found = client.get(SETTINGS_URL, {"q": "extra0"})
    assert [c.pk for c in found.context["results"]] == [e.pk for e in extras[:10]]
    added = client.post(SETTINGS_URL, {"action": "add_client", "client": extras[3].pk, "q": "x"})
    client.post(SETTINGS_URL, {"action": "add_client", "client": extras[4].pk})
    client.post(SETTINGS_URL, {"action": "remove_client", "client": extras[4].pk})

    assert added.status_code == 302
    assert added["Location"] == f"{SETTINGS_URL}?q=x"
    feed = CalendarFeed.objects.get(revoked_at__isnull=True)
    assert list(feed.chosen.values_list("client_id", flat=True)) == [extras[3].pk]
    page = client.get(SETTINGS_URL, {"q": "extra"})
    assert page.context["chosen"] == [extras[3]]
    assert extras[3] not in page.context["results"]
    assert "Remove Extra03 Client" in page.content.decode()
    assert AuditEvent.objects.filter(
        action="calendar_feed.client_added", client_id=extras[3].pk
    ).exists()
    assert AuditEvent.objects.filter(action="calendar_feed.client_removed").count() == 1
    client.logout()
    (event,) = _events(client.get(url))
    assert event["uid"].startswith(f"visit-{extras[3].visits.get().pk}@")


@pytest.mark.parametrize("other", ["sam", "stan_client", "hank"])
def test_it_refuses_a_client_the_login_does_not_see(client, cast, other):
    _payer_with_clients(cast, 30)
    _create_feed_url(client, cast.paula)
    client.force_login(cast.paula)

    response = client.post(
        SETTINGS_URL, {"action": "add_client", "client": getattr(cast, other).pk}
    )

    assert response.status_code == 400
    assert "Choose a client from the list." in response.content.decode()
    assert not CalendarFeedClient.objects.exists()


def test_it_refuses_a_bad_client_id(client, cast):
    _payer_with_clients(cast, 30)
    _create_feed_url(client, cast.paula)
    client.force_login(cast.paula)

    response = client.post(SETTINGS_URL, {"action": "add_client", "client": "one"})

    assert response.status_code == 400
    assert not CalendarFeedClient.objects.exists()


def test_it_carries_at_most_twenty_five_chosen_clients(client, cast):
    extras = _payer_with_clients(cast, 30)
    _create_feed_url(client, cast.paula)
    client.force_login(cast.paula)
    for extra in extras[: ics.FEED_CLIENTS_MAX]:
        client.post(SETTINGS_URL, {"action": "add_client", "client": extra.pk})

    response = client.post(SETTINGS_URL, {"action": "add_client", "client": extras[-1].pk})

    assert response.status_code == 400
    assert "carries at most 25 clients" in response.content.decode()
    assert CalendarFeedClient.objects.count() == ics.FEED_CLIENTS_MAX


def test_it_drops_a_chosen_client_whose_link_ended(client, cast):
    extras = _payer_with_clients(cast, 30)
    url = _create_feed_url(client, cast.paula)
    feed = CalendarFeed.objects.get(revoked_at__isnull=True)
    for extra in extras[:2]:
        services.add_feed_client(feed=feed, client_id=extra.pk, request=None)
    assert len(_events(client.get(url))) == 2

    ClientPayer.objects.filter(client=extras[0]).update(
        end_date=timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=1)
    )

    assert len(_events(client.get(url))) == 1


def test_it_keeps_the_chosen_clients_on_a_new_address(client, cast):
    extras = _payer_with_clients(cast, 30)
    _create_feed_url(client, cast.paula)
    old = CalendarFeed.objects.get(revoked_at__isnull=True)
    services.add_feed_client(feed=old, client_id=extras[0].pk, request=None)
    client.force_login(cast.paula)

    response = client.post(SETTINGS_URL, {"action": "regenerate"})

    client.logout()
    assert len(_events(client.get(response.context["new_url"]))) == 1
    new = CalendarFeed.objects.get(revoked_at__isnull=True)
    assert list(new.chosen.values_list("client_id", flat=True)) == [extras[0].pk]


def test_it_carries_at_most_max_events(client, cast, monkeypatch):
    monkeypatch.setattr(ics, "MAX_EVENTS", 3)
    for hours in range(5):
        make_visit(cast.margaret, cast.caregiver, _soon(24 + hours * 3))
    url = _create_feed_url(client, cast.margaret.user)

    events = _events(client.get(url))

    assert len(events) == 3
    assert max(e.decoded("dtstart") for e in events) < _soon(24 + 3 * 3)


def test_it_serves_a_chosen_feed_in_the_same_queries(client, cast, django_assert_max_num_queries):
    extras = _payer_with_clients(cast, 30)
    url = _create_feed_url(client, cast.paula)
    feed = CalendarFeed.objects.get(revoked_at__isnull=True)
    services.add_feed_client(feed=feed, client_id=extras[0].pk, request=None)
    client.get(url)
    with django_assert_max_num_queries(7):
        client.get(url)
    for extra in extras[1:10]:
        services.add_feed_client(feed=feed, client_id=extra.pk, request=None)
    with django_assert_max_num_queries(7):
        assert len(_events(client.get(url))) == 10


def test_it_escapes_and_folds_lines_as_the_icalendar_parser_reads_them(client, cast):
    cast.sunrise.name = "Sunrise Home Care; Día y Noche, Inc. \\ " + "Ñandú " * 12
    cast.sunrise.save()
    cast.caregiver.first_name = "Zoë, Ann; \\Lee"
    cast.caregiver.save()
    make_visit(cast.margaret, cast.caregiver, _soon(24))
    url = _create_feed_url(client, cast.margaret.user)

    response = client.get(url)

    body = response.content
    lines = body.split(b"\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode()  # no line ends inside a UTF-8 character
    # An X- property's value is TEXT (RFC 5545 3.8.8.2), escaped like the others.
    unfolded = body.replace(b"\r\n ", b"").decode()
    calname = "X-WR-CALNAME:Care visits – Sunrise Home Care\\; Día y Noche\\, Inc. \\\\ Ñandú"
    assert calname in unfolded
    calendar = icalendar.Calendar.from_ical(body)
    (event,) = calendar.walk("VEVENT")
    assert str(event["description"]) == "Caregiver: Zoë, Ann; \\Lee\nStatus: Scheduled"
    assert str(event["uid"]).startswith("visit-")
    assert event.decoded("dtstamp").utcoffset() == datetime.timedelta(0)


def test_it_writes_the_feed_in_the_users_language(client, cast):
    cast.margaret.user.language = "es"
    cast.margaret.user.save()
    make_visit(cast.margaret, None, _soon(24), status=VisitStatus.MISSED)
    url = _create_feed_url(client, cast.margaret.user)

    (event,) = _events(client.get(url))

    assert str(event["summary"]) != "Care visit"
    assert "Aún sin asignar" in str(event["description"])
    assert str(event["status"]) == "CANCELLED"


@pytest.mark.parametrize(
    "line",
    ["SHORT:line", "X:" + "a" * 200, "X:" + "é" * 100, "X:" + "a" * 73 + "€€€" + "b" * 80],
)
def test_it_folds_at_75_octets_without_splitting_a_character(line):
    folded = ics.fold(line).encode()

    parts = folded.split(b"\r\n")
    assert all(len(part) <= 75 for part in parts)
    assert all(part.startswith(b" ") for part in parts[1:])
    assert b"".join([parts[0], *(part[1:] for part in parts[1:])]).decode() == line
