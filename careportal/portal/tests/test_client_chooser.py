"""The "Showing" control: a select for a few clients, a searchable chooser for many."""

from __future__ import annotations

import datetime
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from careportal.builders import make_client
from careportal.people.models import (
    Client,
    ClientPayer,
    ClientStatus,
    EmergencyContact,
    Relationship,
)
from careportal.portal import narrowing

DASHBOARD = reverse("portal:dashboard")
INVOICES = reverse("billing:invoice_list")
CALENDAR = reverse("scheduling:calendar")
CHOOSER = reverse("portal:choose_client")


def _link_to_atlas(cast, count: int, prefix: str = "Extra") -> list[Client]:
    start = timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=30)
    extras = []
    for i in range(count):
        extra = make_client(cast.sunrise, f"{prefix}{i:03d}", "Client")
        ClientPayer.objects.create(
            agency=cast.sunrise, client=extra, payer=cast.atlas, start_date=start
        )
        extras.append(extra)
    return extras


def test_it_offers_a_select_up_to_ten_clients(client, cast):
    _link_to_atlas(cast, narrowing.SELECT_LIMIT - 3)  # Paula: 3 of the cast and these
    client.force_login(cast.paula)

    body = client.get(INVOICES).content.decode()

    selector = re.search(r'<form method="get"[^>]*class="client-selector">.*?</form>', body, re.S)
    assert '<select id="client-selector" name="client">' in selector.group(0)
    # Every client, and "Everyone".
    assert selector.group(0).count("<option value=") == narrowing.SELECT_LIMIT + 1
    assert 'id="client-search"' not in body


def test_it_offers_a_search_field_and_no_list_above_ten_clients(client, cast):
    extras = _link_to_atlas(cast, 40)
    client.force_login(cast.paula)

    body = client.get(INVOICES, {"status": "paid"}).content.decode()

    assert '<select id="client-selector"' not in body
    assert "<option" not in body.split("<main")[0]
    assert '<label for="client-search">Find a client by name</label>' in body
    assert f'action="{CHOOSER}"' in body
    assert f'name="next" value="{INVOICES}?status=paid"' in body
    assert extras[0].last_name not in body.split("<main")[0]


def test_it_finds_clients_by_name_as_links_that_narrow_the_page(client, cast):
    _link_to_atlas(cast, 30)
    client.force_login(cast.paula)

    response = client.get(CHOOSER, {"q": "wal", "next": f"{CALENDAR}?view=week&client=1"})

    assert response.status_code == 200
    assert [c for c, _url in response.context["results"]] == [cast.walter]
    body = response.content.decode()
    assert f'<a href="{CALENDAR}?view=week&amp;client={cast.walter.pk}">Hale, Walter</a>' in body
    assert '<label for="client-chooser-q">' in body
    assert 'role="status" aria-live="polite">1 client found.' in body
    assert "client-selector" not in body  # the frame's own search is not repeated


def test_it_lists_at_most_twenty_five_clients(client, cast):
    _link_to_atlas(cast, 40)
    client.force_login(cast.paula)

    response = client.get(CHOOSER, {"q": "extra"})

    results = response.context["results"]
    assert len(results) == narrowing.CHOOSER_LIMIT
    assert [c.first_name for c, _url in results][:2] == ["Extra000", "Extra001"]
    assert response.context["more"] is True
    assert "The first 25 clients are shown" in response.content.decode()


def test_it_never_lists_another_persons_clients(client, cast):
    client.force_login(cast.paula)

    response = client.get(CHOOSER, {"q": "a"})

    found = {c.first_name for c, _url in response.context["results"]}
    assert found == {"Margaret", "Walter", "Rosa"}
    for name in ("Sam", "Stan", "Hank"):
        assert name not in response.content.decode()


def test_it_sends_an_unsafe_next_to_the_dashboard(client, cast):
    client.force_login(cast.ellen)

    for target in ("https://evil.example/x", "//evil.example/", "javascript:alert(1)"):
        response = client.get(CHOOSER, {"q": "Walter", "next": target})
        ((_client, url),) = response.context["results"]
        assert url == f"{DASHBOARD}?client={cast.walter.pk}", target


def test_it_answers_htmx_with_the_results_alone(client, cast):
    client.force_login(cast.ellen)

    response = client.get(CHOOSER, {"q": "hale"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="client-results"')
    assert "<html" not in body
    assert "2 clients found." in body


def test_it_says_when_nothing_matches(client, cast):
    client.force_login(cast.tom)

    body = client.get(CHOOSER, {"q": "zzz"}).content.decode()

    assert "No client's name contains “zzz”." in body


def test_it_keeps_the_frames_queries_whatever_the_number_of_clients(client, cast):
    client.force_login(cast.paula)
    with CaptureQueriesContext(connection) as few:
        assert client.get(INVOICES).status_code == 200
    _link_to_atlas(cast, 60)
    with CaptureQueriesContext(connection) as many:
        assert client.get(INVOICES).status_code == 200

    assert len(many.captured_queries) <= len(few.captured_queries)


def test_it_narrows_by_one_query_on_the_id(client, cast):
    client.force_login(cast.paula)
    client.get(CHOOSER)  # the first page after sign-in notes activity on the session
    with CaptureQueriesContext(connection) as whole:
        client.get(CHOOSER)
    with CaptureQueriesContext(connection) as narrowed:
        client.get(CHOOSER, {"client": cast.walter.pk})

    client_queries = [
        q["sql"] for q in narrowed.captured_queries if re.search(r'FROM "people_client"', q["sql"])
    ]
    assert len(narrowed.captured_queries) == len(whole.captured_queries) + 1
    assert any(f'"people_client"."id" = {cast.walter.pk}' in sql for sql in client_queries)


def test_it_offers_an_emergency_contact_her_clients_by_name_without_asking_again(client, cast):
    adams = make_client(cast.sunrise, "Abe", "Adams")
    gone = make_client(cast.sunrise, "Gus", "Gone", status=ClientStatus.DISCHARGED)
    for person in (cast.walter, adams, gone):
        EmergencyContact.objects.create(
            agency=cast.sunrise,
            client=person,
            name="Tom Hale",
            relationship=Relationship.SON,
            email=cast.tom.email,
            user=cast.tom,
        )
    client.force_login(cast.tom)

    with CaptureQueriesContext(connection) as queries:
        body = client.get(CALENDAR).content.decode()

    selector = re.search(r'<form method="get"[^>]*class="client-selector">.*?</form>', body, re.S)
    listed = [int(pk) for pk in re.findall(r'<option value="(\d+)"', selector.group(0))]
    # By last name, then first name; the discharged client is not offered.
    assert listed == [adams.pk, cast.margaret.pk, cast.walter.pk]
    # The names come with the login's relationships: no query lists the clients by name.
    assert not [q for q in queries.captured_queries if 'ORDER BY "people_client"' in q["sql"]]
