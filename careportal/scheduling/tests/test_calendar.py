import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.builders import make_client, make_visit
from careportal.people.models import Client, ClientPayer
from careportal.scheduling import views
from careportal.scheduling.models import VisitStatus

URL = reverse("scheduling:calendar")


def _today(cast):
    return timezone.localdate(timezone=cast.sunrise.tz)


def _at(cast, day, hour, minute=0):
    """Return an aware datetime at this local time of the agency."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=cast.sunrise.tz)


def _visits_of_everyone(cast):
    day = _today(cast)
    return {
        "Margaret": make_visit(
            cast.margaret, cast.caregiver, _at(cast, day, 9), service="Bathing help"
        ),
        "Walter": make_visit(cast.walter, None, _at(cast, day, 11), service="Walter errand"),
        "Rosa": make_visit(cast.rosa, cast.caregiver, _at(cast, day, 13), service="Rosa meal"),
        "Sam": make_visit(cast.sam, cast.caregiver, _at(cast, day, 15), service="Sam walk"),
        "Stan": make_visit(
            cast.stan_client, cast.caregiver, _at(cast, day, 16), service="Stan care"
        ),
        "Hank": make_visit(
            cast.hank, cast.harbor_caregiver, _at(cast, day, 17), service="Hank care"
        ),
    }


SERVICES = {
    "Margaret": "Bathing help",
    "Walter": "Walter errand",
    "Rosa": "Rosa meal",
    "Sam": "Sam walk",
    "Stan": "Stan care",
    "Hank": "Hank care",
}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("client", {"Margaret"}),
        ("contact_tom", {"Margaret"}),
        ("contact_ellen", {"Margaret", "Walter"}),
        ("payer", {"Margaret", "Walter", "Rosa"}),
        ("community", {"Rosa", "Sam"}),
        ("stranger", {"Stan"}),
        ("other_agency_client", {"Hank"}),
    ],
)
@pytest.mark.parametrize("view", ["month", "week", "list"])
def test_it_shows_each_role_its_visits(client, cast, who, sees, view):
    _visits_of_everyone(cast)
    client.force_login(cast.portal_users[who])

    response = client.get(URL, {"view": view})

    assert response.status_code == 200
    body = response.content.decode()
    for name, service in SERVICES.items():
        assert (service in body) == (name in sees), (name, service)
    assert (
        AuditEvent.objects.filter(action="calendar.viewed", actor=cast.portal_users[who]).count()
        == 1
    )


@pytest.mark.parametrize("who", ["owner", "billing", "harriet"])
def test_it_keeps_staff_out(client, cast, who):
    _visits_of_everyone(cast)
    client.force_login(getattr(cast, who))

    response = client.get(URL)

    assert response.status_code != 200
    assert b"Bathing help" not in response.content
    assert not AuditEvent.objects.filter(action="calendar.viewed").exists()


def test_it_sends_anonymous_visitors_to_sign_in(client, cast):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_shows_time_in_the_agency_zone_caregiver_first_name_and_status(client, cast):
    day = _today(cast)
    make_visit(cast.margaret, cast.caregiver, _at(cast, day, 9, 30), status=VisitStatus.COMPLETED)
    make_visit(cast.margaret, None, _at(cast, day, 14))
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"view": "list", "date": day.isoformat()})

    body = response.content.decode()
    assert "9:30" in body
    assert "with Carla" in body
    assert "Giver" not in body
    assert "Not yet assigned" in body
    assert "Completed" in body


def test_it_offers_previous_next_and_today(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"view": "month", "date": "2026-03-15"})

    assert response.context["previous_url"].endswith("view=month&date=2026-02-01")
    assert response.context["next_url"].endswith("view=month&date=2026-04-01")
    assert response.context["today_url"].endswith(f"date={_today(cast).isoformat()}")
    body = response.content.decode()
    assert "Previous" in body and "Next" in body and "Today" in body
    assert '<th scope="col">' in body
    assert "<caption>" in body


def test_it_steps_a_week_at_a_time(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"view": "week", "date": "2026-03-18"})

    period = response.context["period"]
    assert (period.last - period.first).days == 6
    assert period.first <= datetime.date(2026, 3, 18) <= period.last
    assert response.context["next_url"].endswith(
        f"date={(period.first + datetime.timedelta(days=7)).isoformat()}"
    )


def test_it_shows_today_for_a_bad_date_or_view(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"view": "year", "date": "not-a-date"})

    assert response.status_code == 200
    assert response.context["period"].view == "month"
    assert response.context["period"].day == _today(cast)


def test_it_narrows_to_one_client(client, cast):
    _visits_of_everyone(cast)
    client.force_login(cast.paula)

    response = client.get(URL, {"view": "list", "client": cast.walter.pk})

    body = response.content.decode()
    assert "Walter errand" in body
    assert "Bathing help" not in body and "Rosa meal" not in body
    assert f'<option value="{cast.walter.pk}" selected>' in body
    assert response.context["next_url"].endswith(f"client={cast.walter.pk}")
    event = AuditEvent.objects.get(action="calendar.viewed")
    assert event.client_id == cast.walter.pk


@pytest.mark.parametrize("other", ["sam", "stan_client", "hank"])
def test_it_answers_404_for_a_client_not_theirs(client, cast, other):
    client.force_login(cast.paula)

    response = client.get(URL, {"client": getattr(cast, other).pk})

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="calendar.viewed").exists()


def test_it_offers_no_filter_to_a_single_client(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert 'name="client"' not in response.content.decode()


def test_it_stops_showing_a_payer_link_that_ended(client, cast):
    _visits_of_everyone(cast)
    ClientPayer.objects.filter(client=cast.rosa, payer=cast.atlas).update(
        end_date=_today(cast) - datetime.timedelta(days=1)
    )
    client.force_login(cast.paula)

    response = client.get(URL, {"view": "list"})

    assert "Rosa meal" not in response.content.decode()
    assert "Bathing help" in response.content.decode()


def test_it_forbids_storing_the_page(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert "no-store" in response["Cache-Control"]


def _visits(client_record, caregiver, count):
    day = timezone.localdate(timezone=client_record.agency.tz).replace(day=1)
    for i in range(count):
        start = datetime.datetime.combine(
            day + datetime.timedelta(days=i % 27),
            datetime.time(8 + i % 9),
            tzinfo=client_record.agency.tz,
        )
        make_visit(client_record, caregiver, start)


QUERY_BOUND = 15


@pytest.mark.parametrize("view", ["month", "week", "list"])
def test_it_runs_the_same_queries_for_one_visit_or_fifty(
    client, cast, view, django_assert_max_num_queries
):
    client.force_login(cast.margaret.user)
    _visits(cast.margaret, cast.caregiver, 1)
    with django_assert_max_num_queries(QUERY_BOUND):
        assert client.get(URL, {"view": view}).status_code == 200
    _visits(cast.margaret, cast.caregiver, 49)
    with django_assert_max_num_queries(QUERY_BOUND):
        assert client.get(URL, {"view": view}).status_code == 200


def _payer_with_extra_clients(cast, count, visits_each=2):
    start = _today(cast) - datetime.timedelta(days=30)
    extras = []
    for i in range(count):
        extra = make_client(cast.sunrise, f"Extra{i:02d}", "Client")
        ClientPayer.objects.create(
            agency=cast.sunrise, client=extra, payer=cast.atlas, start_date=start
        )
        _visits(extra, cast.caregiver if i % 2 else None, visits_each)
        extras.append(extra)
    return extras


def test_it_pages_a_payer_with_fifteen_clients_ten_at_a_time_in_the_same_queries(
    client, cast, django_assert_max_num_queries
):
    client.force_login(cast.paula)
    extras = _payer_with_extra_clients(cast, 12)
    assert Client.objects.visible_to(cast.paula).count() == 15
    assert views.CLIENTS_PER_PAGE == 10

    with django_assert_max_num_queries(QUERY_BOUND):
        first = client.get(URL, {"view": "month"})
    with django_assert_max_num_queries(QUERY_BOUND):
        second = client.get(URL, {"view": "month", "clients_page": "2"})

    # By name: the 12 "Client"s come first, then Diaz and the two Hales.
    page = first.context["client_page"]
    assert [c.pk for c in page.clients] == [extra.pk for extra in extras[:10]]
    assert (page.count, page.first, page.last) == (15, 1, 10)
    assert {v.client_id for v in first.context["visits"]} == {e.pk for e in extras[:10]}
    assert len(first.context["visits"]) == 20
    body = first.content.decode()
    assert "Clients 1 to 10 of 15" in body
    assert "Client, Extra00; Client, Extra01;" in body
    assert "Next clients" in body and "Previous clients" not in body
    assert first.context["next_clients_url"].endswith("clients_page=2")
    assert reverse("portal:choose_client") in body
    assert [c.first_name for c in second.context["client_page"].clients] == [
        "Extra10",
        "Extra11",
        "Rosa",
        "Margaret",
        "Walter",
    ]
    assert len(second.context["visits"]) == 4
    second_body = second.content.decode()
    assert "Clients 11 to 15 of 15" in second_body
    assert "Previous clients" in second_body and "Next clients" not in second_body
    # Each visit names its client, as the page holds several.
    assert '<span class="visit-client">Extra10 Client</span>' in second_body
    # Stepping to the next month keeps the page of clients.
    assert second.context["next_url"].endswith("clients_page=2")
    event = AuditEvent.objects.filter(action="calendar.viewed").order_by("pk").first()
    assert event.detail["clients"] == sorted(e.pk for e in extras[:10])


def test_it_pages_a_payer_with_hundreds_of_clients_in_the_same_queries(
    client, cast, django_assert_max_num_queries
):
    start = _today(cast) - datetime.timedelta(days=30)
    extras = Client.objects.bulk_create(
        Client(agency=cast.sunrise, first_name=f"Many{i:03d}", last_name="Aaron")
        for i in range(300)
    )
    ClientPayer.objects.bulk_create(
        ClientPayer(agency=cast.sunrise, client=extra, payer=cast.atlas, start_date=start)
        for extra in extras
    )
    _visits(extras[-1], cast.caregiver, 3)
    client.force_login(cast.paula)

    with django_assert_max_num_queries(QUERY_BOUND):
        response = client.get(URL, {"view": "month", "clients_page": "30"})

    page = response.context["client_page"]
    assert (page.count, page.first, page.last) == (303, 291, 300)
    assert [c.first_name for c in page.clients] == [f"Many{i:03d}" for i in range(290, 300)]
    assert {v.client_id for v in response.context["visits"]} == {extras[-1].pk}
    assert "Clients 291 to 300 of 303" in response.content.decode()


def test_it_shows_a_narrowed_client_whatever_their_page(
    client, cast, django_assert_max_num_queries
):
    client.force_login(cast.paula)
    _payer_with_extra_clients(cast, 12)
    _visits_of_everyone(cast)

    with django_assert_max_num_queries(QUERY_BOUND):
        response = client.get(URL, {"view": "list", "client": cast.walter.pk})

    assert response.context["client_page"] is None
    assert [v.service for v in response.context["visits"]] == ["Walter errand"]


def test_it_answers_the_first_page_of_clients_for_a_bad_page_number(client, cast):
    client.force_login(cast.paula)
    _payer_with_extra_clients(cast, 12, visits_each=0)

    for raw in ("0", "-1", "abc", "99"):
        page = client.get(URL, {"clients_page": raw}).context["client_page"]
        assert page.number == (2 if raw == "99" else 1), raw


def test_it_shows_every_client_at_once_up_to_ten(client, cast):
    client.force_login(cast.paula)
    _payer_with_extra_clients(cast, 7, visits_each=1)

    response = client.get(URL, {"view": "month"})

    assert response.context["client_page"] is None
    assert len({v.client_id for v in response.context["visits"]}) == 7
    assert "Next clients" not in response.content.decode()


def test_it_bounds_the_visits_laid_out_on_one_page(client, cast, monkeypatch):
    monkeypatch.setattr(views, "VISITS_SHOWN", 10)
    _visits(cast.margaret, cast.caregiver, 12)
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"view": "month"})

    assert len(response.context["visits"]) == 10
    assert response.context["more_visits"] is True
    assert "Only the first 10 visits of this period are shown" in response.content.decode()


def test_it_converts_stored_utc_to_the_agency_zone(client, cast):
    start = datetime.datetime(2026, 1, 15, 14, 0, tzinfo=datetime.UTC)
    make_visit(cast.margaret, cast.caregiver, start)
    client.force_login(cast.margaret.user)

    response = client.get(URL, {"view": "list", "date": "2026-01-15"})

    visit = response.context["visits"][0]
    assert visit.local_start.hour == 9  # New York is five hours behind UTC in January
    assert "9 a.m." in response.content.decode()


def test_it_files_a_late_evening_visit_under_the_local_day(client, cast):
    # 23:30 on 31 January in New York is already 1 February in UTC.
    start = datetime.datetime(2026, 1, 31, 23, 30, tzinfo=cast.sunrise.tz)
    make_visit(cast.margaret, cast.caregiver, start, hours=1)
    client.force_login(cast.margaret.user)

    january = client.get(URL, {"view": "month", "date": "2026-01-10"})
    february = client.get(URL, {"view": "month", "date": "2026-02-10"})

    assert len(january.context["visits"]) == 1
    cells = [cell for week in january.context["weeks"] for cell in week if cell["visits"]]
    assert [cell["date"] for cell in cells] == [datetime.date(2026, 1, 31)]
    assert february.context["visits"] == []


@pytest.mark.parametrize("view", ["month", "week", "list"])
def test_it_escapes_what_staff_typed(client, cast, view):
    day = _today(cast)
    cast.caregiver.first_name = "Carla <i>"
    cast.caregiver.save()
    service = '<script>x</script> & "go"'
    make_visit(cast.margaret, cast.caregiver, _at(cast, day, 9), service=service)
    client.force_login(cast.paula)

    response = client.get(URL, {"view": view})

    body = response.content.decode()
    assert "<script>x" not in body and "Carla <i>" not in body
    assert "&lt;script&gt;x&lt;/script&gt; &amp; &quot;go&quot;" in body
    assert "with Carla &lt;i&gt;" in body
    assert '<span class="visit-client">Margaret Hale</span>' in body


def test_it_labels_days_for_screen_readers_and_headings(client, cast):
    make_visit(cast.margaret, cast.caregiver, _at(cast, datetime.date(2026, 3, 18), 9))
    client.force_login(cast.margaret.user)

    month = client.get(URL, {"view": "month", "date": "2026-03-18"}).content.decode()
    week = client.get(URL, {"view": "week", "date": "2026-03-18"}).content.decode()

    assert '<abbr title="Wednesday">Wed</abbr>' in month
    assert (
        '<span class="visually-hidden-wide">Wednesday, </span><span class="day-number">18</span>'
        '<span class="visually-hidden-wide"> March</span>'
    ) in month
    assert '<time datetime="2026-03-18T09:00:00-04:00">9 a.m.</time>' in month
    assert '<h3 id="day-2026-03-18">Wednesday, March 18</h3>' in week
    assert 'aria-labelledby="day-2026-03-18"' in week


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_marks_today_and_each_days_visits_in_every_view(client, cast, language):
    today = _today(cast)
    make_visit(cast.margaret, cast.caregiver, _at(cast, today, 9), service="Bathing help")
    client.force_login(cast.margaret.user)
    headers = {"accept-language": language}
    today_label = "(hoy)" if language == "es" else "(today)"
    no_visits = "No hay visitas." if language == "es" else "No visits."

    month = client.get(URL, {"view": "month"}, headers=headers).content.decode()
    week = client.get(URL, {"view": "week"}, headers=headers).content.decode()
    listed = client.get(URL, {"view": "list"}, headers=headers).content.decode()

    # Month: today's cell says so and lists its visit; no other day is marked today.
    cell = re.search(r'<td class="today">(.*?)</td>', month, re.S).group(1)
    assert f'<span class="today-label">{today_label}</span>' in cell
    assert '<ul class="visits"><li class="visit visit-scheduled">' in cell
    assert "Bathing help" in cell
    assert month.count("today-label") == 1
    # Week: today's section has the visit, the six other days say there is none.
    iso = today.isoformat()
    section = re.search(
        rf'<section class="calendar-day today" aria-labelledby="day-{iso}">(.*?)</section>',
        week,
        re.S,
    ).group(1)
    assert f'<h3 id="day-{iso}">' in section and today_label in section
    assert "Bathing help" in section
    assert week.count(f'<p class="no-visits">{no_visits}</p>') == 6
    # List: the one day with visits.
    assert listed.count('<section class="calendar-day') == 1
    assert f'aria-labelledby="day-{iso}"' in listed and "Bathing help" in listed
