"""My privacy: the client's page, and the choices for each emergency contact."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from post_office.models import Email

from careportal.audit.models import AuditEvent
from careportal.builders import make_invoice, make_visit
from careportal.people.models import ClientPayer, EmergencyContact
from tests.cast import sign_in

URL = reverse("privacy:my_privacy")

pytestmark = pytest.mark.django_db


def _tom(cast):
    return EmergencyContact.objects.get(client=cast.margaret, user=cast.tom)


def _today(cast):
    return timezone.localdate(timezone=cast.sunrise.tz)


def _calendar(browser):
    return browser.get(reverse("scheduling:calendar"), {"view": "list"}).content.decode()


def _invoices(browser):
    return browser.get(reverse("billing:invoice_list")).content.decode()


def _post(browser, contact, *, calendar=True, invoices=True, ends=""):
    data = {"contact": contact.pk, f"contact-{contact.pk}-access_ends_on": ends}
    if calendar:
        data[f"contact-{contact.pk}-sees_calendar"] = "on"
    if invoices:
        data[f"contact-{contact.pk}-sees_invoices"] = "on"
    return browser.post(URL, data)


def test_it_shows_the_client_who_may_see_her_information(client, cast):
    sign_in(client, cast.margaret.user)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "My privacy" in body
    assert "Tom Hale, Son" in body and "Ellen Hale, Daughter" in body
    assert "Atlas Long-Term Care" in body
    assert "Sunrise Home Care" in body
    # The frame links the page for the client.
    assert f'href="{URL}" aria-current="page"' in body


def test_it_names_a_payer_link_that_has_ended_and_whom_to_call(client, cast):
    cast.sunrise.phone = "555-0100"
    cast.sunrise.save()
    link = ClientPayer.objects.get(client=cast.margaret, payer=cast.atlas)
    link.end_date = _today(cast) - datetime.timedelta(days=1)
    link.save()
    sign_in(client, cast.margaret.user)

    body = client.get(URL).content.decode()

    assert "(ended)" in body
    assert "555-0100" in body
    assert "Sunrise Home Care sets these dates" in body


@pytest.mark.parametrize("who", ["ellen", "tom", "paula", "nora", "owner", "billing", "harriet"])
def test_it_answers_404_to_everyone_but_the_client(client, cast, who):
    client.force_login(getattr(cast, who))

    response = client.get(URL)

    # Staff are sent to the back office before any portal page answers.
    assert response.status_code == (302 if who in ("owner", "billing", "harriet") else 404)
    assert b"Tom Hale" not in response.content
    assert client.post(URL, {"contact": _tom(cast).pk}).status_code in (404, 302)
    assert _tom(cast).sees_calendar


def test_it_shows_another_agencys_client_only_his_own(client, cast):
    sign_in(client, cast.hank.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert b"Tom Hale" not in response.content and b"Sunrise" not in response.content
    assert _post(client, _tom(cast), calendar=False).status_code == 404
    assert _tom(cast).sees_calendar


@pytest.mark.parametrize("who", ["ellen", "tom", "paula", "nora"])
def test_it_shows_no_link_to_anyone_but_the_client(client, cast, who):
    client.force_login(getattr(cast, who))

    body = client.get(reverse("portal:dashboard")).content.decode()

    assert URL not in body


def test_it_sends_anonymous_visitors_to_sign_in(client, cast):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_answers_404_for_another_clients_contact(client, cast):
    walters = EmergencyContact.objects.get(client=cast.walter)
    sign_in(client, cast.margaret.user)

    response = _post(client, walters, calendar=False)

    assert response.status_code == 404
    walters.refresh_from_db()
    assert walters.sees_calendar


def test_it_narrows_what_tom_sees_at_once(client, cast):
    now = timezone.now()
    make_visit(cast.margaret, cast.caregiver, now + datetime.timedelta(days=1), service="Bathing")
    invoice = make_invoice(cast.margaret, number="SUN-2026-0005")
    tom_browser = type(client)()
    sign_in(tom_browser, cast.tom)
    assert "Bathing" in _calendar(tom_browser)
    sign_in(client, cast.margaret.user)

    response = _post(client, _tom(cast), calendar=False, invoices=False)

    assert response.status_code == 302
    calendar = _calendar(tom_browser)
    assert "Bathing" not in calendar
    assert "Margaret Hale chose" in calendar
    invoices = _invoices(tom_browser)
    assert "SUN-2026-0005" not in invoices
    assert "Margaret Hale chose" in invoices
    detail = reverse("billing:invoice_detail", args=[invoice.number])
    assert tom_browser.get(detail).status_code == 404
    assert tom_browser.get(reverse("billing:invoice_pdf", args=[invoice.number])).status_code == 404
    dashboard = tom_browser.get(reverse("portal:dashboard")).content.decode()
    assert "Bathing" not in dashboard and "SUN-2026-0005" not in dashboard
    assert "Margaret Hale chose" in dashboard
    # Ellen, whose access Margaret left alone, still sees both.
    ellen_browser = type(client)()
    sign_in(ellen_browser, cast.ellen)
    ellens = _calendar(ellen_browser)
    assert "Bathing" in ellens and "chose not to share" not in ellens
    assert "SUN-2026-0005" in _invoices(ellen_browser)


def test_it_keeps_the_calendar_and_hides_only_invoices(client, cast):
    make_visit(cast.margaret, cast.caregiver, timezone.now() + datetime.timedelta(days=1))
    make_invoice(cast.margaret, number="SUN-2026-0005")
    sign_in(client, cast.margaret.user)

    _post(client, _tom(cast), calendar=True, invoices=False)

    tom_browser = sign_in(type(client)(), cast.tom)
    assert "Personal care" in _calendar(tom_browser)
    assert "SUN-2026-0005" not in _invoices(tom_browser)


def test_it_records_the_consent_and_tells_the_owner(client, cast):
    sign_in(client, cast.margaret.user)

    _post(client, _tom(cast), calendar=False, invoices=True)

    event = AuditEvent.objects.get(action="consent.changed")
    assert event.client_id == cast.margaret.pk
    assert event.actor_id == cast.margaret.user.pk
    assert event.detail["before"]["sees_calendar"] is True
    assert event.detail["after"]["sees_calendar"] is False
    email = Email.objects.get(to=cast.sunrise.owner_email)
    assert "Tom Hale" in email.message and "Margaret Hale" in email.subject
    assert not _tom(cast).sees_calendar


def test_it_changes_nothing_when_nothing_changes(client, cast):
    sign_in(client, cast.margaret.user)

    response = _post(client, _tom(cast))

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="consent.changed").exists()
    assert not Email.objects.filter(to=cast.sunrise.owner_email).exists()


@pytest.mark.parametrize("ends", ["31/02/2027", "yesterday", "past"])
def test_it_refuses_a_bad_date_and_changes_nothing(client, cast, ends):
    if ends == "past":
        ends = (_today(cast) - datetime.timedelta(days=1)).isoformat()
    sign_in(client, cast.margaret.user)

    response = _post(client, _tom(cast), calendar=False, ends=ends)

    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was changed for Tom Hale" in body
    assert "year-month-day" in body or "cannot be in the past" in body
    assert 'aria-invalid="true"' in body
    # The card shows what was sent: the calendar off, the date as written.
    tom = _tom(cast)
    assert f'id="id_contact-{tom.pk}-sees_calendar">' in body
    assert f'id="id_contact-{tom.pk}-sees_invoices" checked>' in body
    assert f'name="contact-{tom.pk}-access_ends_on" value="{ends}"' in body
    contact = _tom(cast)
    assert contact.sees_calendar and contact.access_ends_on is None
    assert not AuditEvent.objects.filter(action="consent.changed").exists()


def test_it_ends_all_access_after_the_last_day(client, cast):
    make_visit(cast.margaret, cast.caregiver, timezone.now() + datetime.timedelta(days=1))
    make_invoice(cast.margaret, number="SUN-2026-0005")
    sign_in(client, cast.margaret.user)
    _post(client, _tom(cast), ends=_today(cast).isoformat())
    tom_browser = sign_in(type(client)(), cast.tom)

    # Today is the last day: Tom still sees both.
    assert "SUN-2026-0005" in _invoices(tom_browser)

    EmergencyContact.objects.filter(pk=_tom(cast).pk).update(
        access_ends_on=_today(cast) - datetime.timedelta(days=1)
    )
    assert "SUN-2026-0005" not in _invoices(tom_browser)
    calendar = _calendar(tom_browser)
    assert "Personal care" not in calendar
    assert "Margaret Hale chose" in calendar


def test_it_leaves_tom_out_of_the_calendar_feed(client, cast):
    make_visit(cast.margaret, cast.caregiver, timezone.now() + datetime.timedelta(days=1))
    tom_browser = sign_in(type(client)(), cast.tom)
    response = tom_browser.post(reverse("scheduling:feed_settings"), {"action": "create"})
    feed_url = response.context["new_url"]
    assert "BEGIN:VEVENT" in tom_browser.get(feed_url).content.decode()
    sign_in(client, cast.margaret.user)

    _post(client, _tom(cast), calendar=False)

    assert "BEGIN:VEVENT" not in tom_browser.get(feed_url).content.decode()
