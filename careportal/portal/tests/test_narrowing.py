"""Narrowing pages to one client (`?client=`): a payer keeps a client whose link ended while
invoices billed to it for that client remain."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from careportal.billing.models import InvoiceStatus
from careportal.builders import make_invoice, make_visit
from careportal.people import access
from careportal.people.models import Client, ClientPayer, ClientStatus, Residence

DASHBOARD = reverse("portal:dashboard")
INVOICES = reverse("billing:invoice_list")
CALENDAR = reverse("scheduling:calendar")


def _yesterday(cast) -> datetime.date:
    return timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=1)


def _end_atlas_link_of_rosa(cast) -> None:
    ClientPayer.objects.filter(client=cast.rosa, payer=cast.atlas).update(end_date=_yesterday(cast))


def _names(queryset) -> set[str]:
    return set(queryset.values_list("first_name", flat=True))


def test_it_lets_a_payer_narrow_to_a_client_whose_link_ended(client, cast):
    make_invoice(cast.rosa, bill_to=cast.atlas, number="INV-ROSA")
    make_invoice(cast.margaret, bill_to=cast.atlas, number="INV-MAGGIE")
    make_visit(cast.rosa, cast.caregiver, timezone.now() + datetime.timedelta(hours=2))
    _end_atlas_link_of_rosa(cast)
    client.force_login(cast.paula)

    dashboard = client.get(DASHBOARD, {"client": cast.rosa.pk})
    invoices = client.get(INVOICES, {"client": cast.rosa.pk})
    calendar = client.get(CALENDAR, {"client": cast.rosa.pk, "view": "list"})

    assert dashboard.status_code == 200
    (section,) = dashboard.context["party_sections"]
    assert [row.client for row in section.rows] == [cast.rosa]
    assert section.rows[0].next_visit is None
    assert invoices.status_code == 200
    assert [i.number for i in invoices.context["page"].object_list] == ["INV-ROSA"]
    # The calendar may be narrowed to her, but shows none of her visits any more.
    assert calendar.status_code == 200
    assert calendar.context["visits"] == []
    # The selector offers her, as the Dashboard lists her.
    body = dashboard.content.decode()
    assert f'<option value="{cast.rosa.pk}" selected>Rosa Diaz</option>' in body


def test_it_keeps_refusing_a_client_with_nothing_billed_to_the_party(client, cast):
    # Rosa's link ended and nothing is billed to Atlas for her; a draft does not count.
    make_invoice(cast.rosa, bill_to=cast.atlas, status=InvoiceStatus.DRAFT)
    make_invoice(cast.rosa, number="INV-HERS")  # billed to Rosa herself
    _end_atlas_link_of_rosa(cast)
    client.force_login(cast.paula)

    for url in (DASHBOARD, INVOICES, CALENDAR):
        assert client.get(url, {"client": cast.rosa.pk}).status_code == 404, url
    assert client.get(DASHBOARD, {"client": cast.sam.pk}).status_code == 404


def test_it_lets_a_community_narrow_to_a_resident_who_moved_out(client, cast):
    make_invoice(cast.sam, bill_to=cast.maple, number="INV-SAM")
    Residence.objects.filter(client=cast.sam, community=cast.maple).update(
        end_date=_yesterday(cast)
    )
    client.force_login(cast.nora)

    response = client.get(INVOICES, {"client": cast.sam.pk})

    assert response.status_code == 200
    assert [i.number for i in response.context["page"].object_list] == ["INV-SAM"]


def test_it_builds_the_narrowable_clients_from_the_access_rules(cast):
    make_invoice(cast.rosa, bill_to=cast.atlas)
    _end_atlas_link_of_rosa(cast)

    assert _names(access.narrowable_clients(cast.paula)) == {"Margaret", "Walter", "Rosa"}
    assert _names(Client.objects.visible_to(cast.paula)) == {"Margaret", "Walter"}
    assert _names(access.narrowable_clients(cast.nora)) == {"Rosa", "Sam"}
    assert _names(access.narrowable_clients(cast.margaret.user)) == {"Margaret"}
    assert _names(access.narrowable_clients(cast.stan)) == {"Stan"}
    assert not access.narrowable_clients(cast.owner).exists()
    assert not access.narrowable_clients(cast.hank.user).filter(agency=cast.sunrise).exists()
    # A discharged client is seen by nobody, invoices or not.
    Client.objects.filter(pk=cast.rosa.pk).update(status=ClientStatus.DISCHARGED)
    assert "Rosa" not in _names(access.narrowable_clients(cast.paula))


@pytest.mark.parametrize("user", ["paula", "nora", "ellen"])
def test_it_keeps_the_frame_query_count_with_an_ended_link(
    client, cast, user, django_assert_max_num_queries
):
    make_invoice(cast.rosa, bill_to=cast.atlas)
    client.force_login(getattr(cast, user))
    with django_assert_max_num_queries(40) as before:
        client.get(DASHBOARD)
    _end_atlas_link_of_rosa(cast)
    # One more query at most, to check the invoices of the clients whose link has ended...
    with django_assert_max_num_queries(len(before.captured_queries) + 1) as ended:
        assert client.get(DASHBOARD).status_code == 200
    for _ in range(5):
        make_invoice(cast.rosa, bill_to=cast.atlas)
    # ...and none for more of their invoices.
    with django_assert_max_num_queries(len(ended.captured_queries)):
        assert client.get(DASHBOARD).status_code == 200
