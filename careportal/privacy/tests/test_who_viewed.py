"""Who viewed my information: the client's list of views, from the audit trail."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in as staff_sign_in
from careportal.builders import make_invoice, make_plan, make_visit
from careportal.people.models import EmergencyContact
from tests.cast import sign_in

URL = reverse("privacy:my_privacy")

pytestmark = pytest.mark.django_db


def _rows(response):
    return [(row.who, row.what, row.place) for row in response.context["rows"]]


def _browser(client, user):
    return sign_in(type(client)(), user)


def test_it_shows_a_contacts_invoice_view_with_name_and_relationship(client, cast):
    make_invoice(cast.margaret, number="SUN-2026-0005")
    tom = _browser(client, cast.tom)
    assert tom.get(reverse("billing:invoice_detail", args=["SUN-2026-0005"])).status_code == 200
    assert tom.get(reverse("billing:invoice_pdf", args=["SUN-2026-0005"])).status_code == 200
    sign_in(client, cast.margaret.user)

    response = client.get(URL)

    rows = _rows(response)
    assert rows[0] == ("Tom Hale, Son", "Invoice SUN-2026-0005, as a PDF", "Portal")
    assert rows[1] == ("Tom Hale, Son", "Invoice SUN-2026-0005", "Portal")
    body = response.content.decode()
    assert "Tom Hale, Son" in body and "Invoice SUN-2026-0005" in body


def test_it_shows_a_contacts_calendar_view(client, cast):
    make_visit(cast.margaret, cast.caregiver, timezone.now() + datetime.timedelta(days=1))
    _browser(client, cast.tom).get(reverse("scheduling:calendar"))
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL))

    assert rows == [("Tom Hale, Son", "Calendar", "Portal")]


def test_it_shows_each_client_a_calendar_view_of_several(client, cast):
    # Ellen is the contact of Margaret and Walter: one look at the calendar shows both.
    _browser(client, cast.ellen).get(reverse("scheduling:calendar"))
    paula = _browser(client, cast.paula)
    paula.get(reverse("scheduling:calendar"))
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL))

    assert ("Paula Payer, for Atlas Long-Term Care (payer)", "Calendar", "Portal") in rows
    assert ("Ellen Hale, Daughter", "Calendar", "Portal") in rows
    walters = AuditEvent.objects.filter(client_id=cast.walter.pk, action__startswith="calendar")
    assert walters.count() == 2
    # The page of Walter does not name Margaret's other viewers' rows as his.
    walter = _browser(client, cast.walter.user) if cast.walter.user else None
    assert walter is None or "Tom Hale" not in walter.get(URL).content.decode()


def test_it_groups_a_feeds_fetches_per_day(client, cast):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    tom = _browser(client, cast.tom)
    feed_url = tom.post(reverse("scheduling:feed_settings"), {"action": "create"}).context[
        "new_url"
    ]
    with time_machine.travel(yesterday, tick=False):
        for _ in range(3):
            assert tom.get(feed_url).status_code == 200
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL))

    assert rows == [("Tom Hale, Son", "Calendar feed, 3 times", "Calendar app")]

    # Today's first fetch writes today's event; yesterday's count travels on it.
    tom.get(feed_url)

    rows = _rows(client.get(URL))

    assert rows == [
        ("Tom Hale, Son", "Calendar feed, once", "Calendar app"),
        ("Tom Hale, Son", "Calendar feed, 3 times", "Calendar app"),
    ]
    assert len(AuditEvent.objects.filter(action="calendar_feed.fetched")) == 2


def test_it_hides_the_clients_own_views_unless_asked(client, cast):
    make_plan(cast.margaret)
    sign_in(client, cast.margaret.user)
    client.get(reverse("careplans:care_plan"))
    client.get(reverse("scheduling:calendar"))

    assert _rows(client.get(URL)) == []

    rows = _rows(client.get(URL, {"own": "1"}))

    assert ("You", "Care plan", "Portal") in rows
    assert ("You", "Calendar", "Portal") in rows


def test_it_marks_the_clients_own_views_when_they_are_recorded(client, cast):
    """The list's default leaves them out on an index of its own, however many they are."""
    make_invoice(cast.margaret, number="SUN-2026-0007")
    invoice = reverse("billing:invoice_detail", args=["SUN-2026-0007"])
    sign_in(client, cast.margaret.user)
    for url in (reverse("portal:dashboard"), reverse("scheduling:calendar"), invoice):
        assert client.get(url).status_code == 200
    _browser(client, cast.tom).get(invoice)
    _browser(client, cast.paula).get(reverse("scheduling:calendar"))

    about_her = AuditEvent.objects.filter(client_id=cast.margaret.pk)
    mine = about_her.filter(actor=cast.margaret.user)
    assert mine.count() >= 3
    assert set(mine.values_list("by_client", flat=True)) == {True}
    others = about_her.exclude(actor=cast.margaret.user)
    assert {e.actor for e in others} >= {cast.tom, cast.paula}
    assert set(others.values_list("by_client", flat=True)) == {False}

    rows = _rows(client.get(URL))
    assert {who for who, _what, _place in rows} == {
        "Tom Hale, Son",
        "Paula Payer, for Atlas Long-Term Care (payer)",
    }


def test_it_shows_staff_views_in_the_back_office(client, cast):
    plan = make_plan(cast.margaret)
    owner = staff_sign_in(type(client)(), cast.owner)
    owner.get(reverse("backoffice:careplans_serviceplan_change", args=[plan.pk]))
    assert AuditEvent.objects.filter(action="service_plan.viewed", actor=cast.owner).exists()
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL))

    assert rows[0][1:] == ("Care plan", "Back office")
    assert rows[0][0].startswith("Sunrise Home Care staff")
    assert "Owner" in rows[0][0]


def test_it_filters_by_who(client, cast):
    make_invoice(cast.margaret, number="SUN-2026-0005")
    _browser(client, cast.tom).get(reverse("billing:invoice_detail", args=["SUN-2026-0005"]))
    _browser(client, cast.ellen).get(reverse("billing:invoice_detail", args=["SUN-2026-0005"]))
    sign_in(client, cast.margaret.user)

    response = client.get(URL, {"who": str(cast.tom.pk)})

    assert [row[0] for row in _rows(response)] == ["Tom Hale, Son"]
    body = response.content.decode()
    assert f'<option value="{cast.tom.pk}" selected>Tom Hale, Son</option>' in body
    # Someone who is not among the client's people is ignored, not trusted.
    everyone = _rows(client.get(URL, {"who": str(cast.stan.pk)}))
    assert len(everyone) == 2
    assert len(_rows(client.get(URL, {"who": "9" * 30}))) == 2


def test_it_filters_by_the_agencys_staff(client, cast):
    plan = make_plan(cast.margaret)
    owner = staff_sign_in(type(client)(), cast.owner)
    owner.get(reverse("backoffice:careplans_serviceplan_change", args=[plan.pk]))
    _browser(client, cast.tom).get(reverse("careplans:care_plan"))
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL, {"who": "staff"}))

    assert [row[1:] for row in rows] == [("Care plan", "Back office")]


def test_it_filters_by_month(client, cast):
    make_invoice(cast.margaret, number="SUN-2026-0005")
    _browser(client, cast.tom).get(reverse("billing:invoice_detail", args=["SUN-2026-0005"]))
    sign_in(client, cast.margaret.user)
    today = timezone.localdate(timezone=cast.sunrise.tz)
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")

    assert len(_rows(client.get(URL, {"month": today.strftime("%Y-%m")}))) == 1
    assert _rows(client.get(URL, {"month": last_month})) == []
    # A month not offered is ignored.
    assert len(_rows(client.get(URL, {"month": "1999-01"}))) == 1


def test_it_pages_views_newest_first(client, cast, django_assert_max_num_queries):
    invoice = make_invoice(cast.margaret, number="SUN-2026-0005")
    tom = EmergencyContact.objects.get(client=cast.margaret, user=cast.tom)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            agency=cast.sunrise,
            actor=cast.tom,
            action="invoice.viewed",
            object_type="billing.invoice",
            object_id=str(invoice.pk),
            object_label=f"SUN-2026-{i:04d}",
            client_id=cast.margaret.pk,
        )
        for i in range(30)
    )
    assert tom.user_id == cast.tom.pk
    sign_in(client, cast.margaret.user)

    # The session, the login, its relationships, then the client's people and the page of
    # views (with the viewers' logins) in one query: the views are not counted.
    with django_assert_max_num_queries(5):
        first = client.get(URL)

    assert len(first.context["rows"]) == 25
    assert first.context["rows"][0].what == "Invoice SUN-2026-0029"
    body = first.content.decode()
    assert "Older views" in body and "Newer views" not in body
    assert "<span>Page 1</span>" in body
    second = client.get(URL, {"page": "2"})
    assert [row.what for row in second.context["rows"]] == [
        f"Invoice SUN-2026-{i:04d}" for i in range(4, -1, -1)
    ]
    body = second.content.decode()
    assert "Newer views" in body and "Older views" not in body
    assert 'href="?page=1#who-looked"' in body


@pytest.mark.parametrize("page", ["9", "0", "-1"])
def test_it_shows_the_last_page_for_a_page_out_of_range(client, cast, page):
    invoice = make_invoice(cast.margaret, number="SUN-2026-0005")
    AuditEvent.objects.bulk_create(
        AuditEvent(
            agency=cast.sunrise,
            actor=cast.tom,
            action="invoice.viewed",
            object_type="billing.invoice",
            object_id=str(invoice.pk),
            object_label=f"SUN-2026-{i:04d}",
            client_id=cast.margaret.pk,
        )
        for i in range(30)
    )
    sign_in(client, cast.margaret.user)

    response = client.get(URL, {"page": page, "who": str(cast.tom.pk)})

    assert response.context["page"].number == 2
    assert len(response.context["rows"]) == 5
    # The filters are kept in the way back.
    assert f'href="?page=1&amp;who={cast.tom.pk}#who-looked"' in response.content.decode()


def test_it_shows_the_first_page_for_a_page_that_is_not_a_number(client, cast):
    make_invoice(cast.margaret, number="SUN-2026-0005")
    _browser(client, cast.tom).get(reverse("billing:invoice_detail", args=["SUN-2026-0005"]))
    sign_in(client, cast.margaret.user)

    response = client.get(URL, {"page": "two"})

    assert response.context["page"].number == 1
    assert _rows(response) == [("Tom Hale, Son", "Invoice SUN-2026-0005", "Portal")]


def test_it_shows_no_view_of_another_client(client, cast):
    make_invoice(cast.walter, number="SUN-2026-0009")
    _browser(client, cast.ellen).get(reverse("billing:invoice_detail", args=["SUN-2026-0009"]))
    sign_in(client, cast.margaret.user)

    assert _rows(client.get(URL)) == []


def test_it_shows_a_contacts_look_at_the_invoice_list(client, cast):
    make_invoice(cast.margaret, number="SUN-2026-0005")
    _browser(client, cast.tom).get(reverse("billing:invoice_list"))
    sign_in(client, cast.margaret.user)

    assert _rows(client.get(URL)) == [("Tom Hale, Son", "Invoices (the list)", "Portal")]


def test_it_shows_a_staff_look_at_the_clients_details(client, cast):
    owner = staff_sign_in(type(client)(), cast.owner)
    page = owner.get(reverse("backoffice:people_client_change", args=[cast.margaret.pk]))
    assert page.status_code == 200
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL))

    assert rows == [("Sunrise Home Care staff: Olivia, Owner", "Your details", "Back office")]


def test_it_shows_a_contacts_look_at_the_dashboard(client, cast):
    make_invoice(cast.margaret, number="SUN-2026-0005")
    _browser(client, cast.tom).get(reverse("portal:dashboard"))
    sign_in(client, cast.margaret.user)

    rows = _rows(client.get(URL))

    assert rows == [("Tom Hale, Son", "Dashboard: next visits and amounts due", "Portal")]
