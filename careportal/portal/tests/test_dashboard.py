import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from careportal.audit.models import AuditEvent
from careportal.builders import make_client, make_invoice, make_plan, make_visit
from careportal.careplans.models import PlanStatus
from careportal.people.models import ClientPayer
from careportal.scheduling.models import Caregiver, VisitStatus

URL = reverse("portal:dashboard")
# The same bound with one invoice and visit as with fifty, and a payer with 33 clients: the
# frame, the login's relationships, one query per part of the page, the audit event and
# the session's own writes.
BOUND = 22


def _tomorrow_at(hour: int, cast) -> datetime.datetime:
    day = timezone.localdate(timezone=cast.sunrise.tz) + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=cast.sunrise.tz)


def test_it_shows_the_client_her_next_visits_invoices_and_plan(client, cast):
    make_visit(cast.margaret, cast.caregiver, _tomorrow_at(9, cast), service="Bathing help")
    make_visit(
        cast.margaret,
        cast.caregiver,
        _tomorrow_at(15, cast),
        status=VisitStatus.CANCELLED,
        service="Cancelled errand",
    )
    make_invoice(cast.margaret, number="INV-OPEN")  # 2.5 h x 31.00 = 77.50
    make_invoice(cast.margaret, number="INV-PAID", paid=Decimal("77.50"))
    make_invoice(cast.margaret, bill_to=cast.atlas, number="INV-ATLAS")
    make_plan(cast.margaret, title="Living well at home")
    make_plan(cast.margaret, title="Old plan", status=PlanStatus.ENDED)
    client.force_login(cast.margaret.user)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Bathing help" in body
    assert "Carla" in body and "Giver" not in body
    # The agency's time zone: 9 in the morning in New York, not the UTC hour.
    assert "9 a.m." in body
    assert "Cancelled errand" not in body
    assert "INV-OPEN" in body and "$77.50" in body
    assert "INV-PAID" not in body
    assert "INV-ATLAS" not in body
    assert "Living well at home" in body and "Old plan" not in body
    event = AuditEvent.objects.get(action="dashboard.viewed")
    assert event.actor == cast.margaret.user
    assert event.detail["clients"] == [cast.margaret.pk]


def test_it_never_shows_the_plan_to_an_emergency_contact(client, cast):
    make_plan(cast.margaret, title="Living well at home")
    make_invoice(cast.margaret, number="INV-OPEN")
    client.force_login(cast.tom)

    response = client.get(URL)

    assert response.status_code == 200
    assert "Living well at home" not in response.content.decode()
    assert "INV-OPEN" in response.content.decode()


def test_it_shows_a_payer_what_it_owes_for_each_client(client, cast):
    make_visit(cast.rosa, cast.caregiver, _tomorrow_at(10, cast), service="Companionship")
    make_invoice(cast.rosa, bill_to=cast.atlas, number="INV-A1")  # 77.50 owed by Atlas
    make_invoice(cast.margaret, bill_to=cast.atlas, number="INV-A2", paid=Decimal("20.00"))
    make_invoice(cast.margaret, number="INV-OWN")  # Margaret's own: never the payer's
    make_invoice(cast.rosa, bill_to=cast.maple, number="INV-MAPLE")
    client.force_login(cast.paula)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    section = response.context["party_sections"][0]
    owed = {row.client.first_name: row.owed for row in section.rows}
    assert owed == {
        "Margaret": Decimal("57.50"),
        "Walter": Decimal("0.00"),
        "Rosa": Decimal("77.50"),
    }
    assert section.total_owed == Decimal("135.00")
    assert "$135.00" in body
    assert "Companionship" in body
    assert response.context["care"] is None


def test_it_shows_a_community_its_residents(client, cast):
    make_invoice(cast.sam, bill_to=cast.maple, number="INV-M1")
    make_invoice(cast.sam, number="INV-SAM-OWN")
    client.force_login(cast.nora)

    response = client.get(URL)

    assert response.status_code == 200
    section = response.context["party_sections"][0]
    assert section.id == "as-community"
    owed = {row.client.first_name: row.owed for row in section.rows}
    assert owed == {"Rosa": Decimal("0.00"), "Sam": Decimal("77.50")}


def test_it_shows_every_section_to_a_person_with_several_relationships(client, cast):
    make_invoice(cast.walter, bill_to=cast.trust, number="INV-TRUST")
    make_invoice(cast.walter, number="INV-WALTER")
    client.force_login(cast.ellen)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["care"]["several_clients"] is True
    assert [s.id for s in response.context["party_sections"]] == ["as-payer"]
    assert "INV-WALTER" in body
    assert "Clients you pay for" in body


def test_it_narrows_the_dashboard_to_one_client(client, cast):
    make_invoice(cast.margaret, number="INV-MARGARET")
    make_invoice(cast.walter, number="INV-WALTER")
    client.force_login(cast.ellen)

    response = client.get(URL, {"client": cast.walter.pk})

    assert response.status_code == 200
    body = response.content.decode()
    assert "INV-WALTER" in body and "INV-MARGARET" not in body


def test_it_answers_404_for_a_client_not_visible(client, cast):
    client.force_login(cast.tom)

    assert client.get(URL, {"client": cast.walter.pk}).status_code == 404
    assert client.get(URL, {"client": cast.hank.pk}).status_code == 404
    assert client.get(URL, {"client": "abc"}).status_code == 404


def test_it_keeps_the_same_number_of_queries_with_more_data(
    client, cast, django_assert_max_num_queries
):
    counts = {}

    def render(user):
        client.force_login(user)
        with django_assert_max_num_queries(BOUND) as queries:
            response = client.get(URL)
        assert response.status_code == 200
        # No more queries with more data than with little (the frame's client selector
        # even saves one once a login has more than a few clients).
        assert len(queries) <= counts.setdefault(user.pk, len(queries)), user
        return response

    make_invoice(cast.margaret)
    make_visit(cast.margaret, cast.caregiver, _tomorrow_at(9, cast))
    make_invoice(cast.rosa, bill_to=cast.atlas)
    make_plan(cast.margaret)
    for user in (cast.margaret.user, cast.paula, cast.ellen, cast.nora):
        render(user)

    start = timezone.localdate() - datetime.timedelta(days=30)
    for i in range(49):
        make_invoice(cast.margaret, lines=3, caregiver=cast.caregiver)
        make_visit(
            cast.margaret, cast.caregiver, _tomorrow_at(9, cast) + datetime.timedelta(days=i)
        )
    for i in range(30):
        extra = make_client(cast.sunrise, f"Extra{i}", "Client")
        ClientPayer.objects.create(
            agency=cast.sunrise, client=extra, payer=cast.atlas, start_date=start
        )
        make_visit(extra, cast.caregiver, _tomorrow_at(11, cast))
        make_invoice(extra, bill_to=cast.atlas)
    for user in (cast.margaret.user, cast.ellen, cast.nora):
        render(user)
    response = render(cast.paula)
    section = response.context["party_sections"][0]
    assert len(section.rows) == 25 and section.page.paginator.count == 33
    assert all(row.next_visit is not None for row in section.rows)


def _photo(caregiver, *, shown: bool):
    caregiver.photo.name = "caregivers/carla.jpg"
    caregiver.show_photo_to_families = shown
    caregiver.save()
    # The app's own view answers it (scheduling.views.caregiver_photo), not /media/.
    src = reverse("scheduling:caregiver_photo", args=[caregiver.pk])
    return f'<img class="caregiver-photo" src="{src}" alt="Carla" width="48" height="48">'


def test_it_shows_the_caregivers_photo_when_the_agency_allows_it(client, cast):
    img = _photo(cast.caregiver, shown=True)
    make_visit(cast.margaret, cast.caregiver, _tomorrow_at(9, cast))
    make_visit(cast.rosa, cast.caregiver, _tomorrow_at(10, cast))

    for user in (cast.margaret.user, cast.paula):
        client.force_login(user)
        body = client.get(URL).content.decode()
        assert img in body, user
        assert "Carla" in body and "Giver" not in body


def test_it_hides_the_caregivers_photo_unless_the_agency_allows_it(client, cast):
    _photo(cast.caregiver, shown=False)
    no_photo = Caregiver.objects.create(
        agency=cast.sunrise, first_name="Dev", last_name="Patel", show_photo_to_families=True
    )
    make_visit(cast.margaret, cast.caregiver, _tomorrow_at(9, cast))
    make_visit(cast.margaret, no_photo, _tomorrow_at(12, cast))
    make_visit(cast.rosa, no_photo, _tomorrow_at(12, cast))
    client.force_login(cast.margaret.user)

    body = client.get(URL).content.decode()

    assert "Carla" in body and "Dev" in body
    assert "caregiver-photo" not in body and "carla.jpg" not in body
    # And in a payer's table of clients.
    client.force_login(cast.paula)
    body = client.get(URL).content.decode()
    assert "Carla" in body and "Dev" in body
    assert "caregiver-photo" not in body and "carla.jpg" not in body


def _atlas_clients(cast, count: int, *, last_name: str = "Client") -> list:
    start = timezone.localdate() - datetime.timedelta(days=30)
    clients = []
    for i in range(count):
        extra = make_client(cast.sunrise, f"Extra{i:02d}", last_name)
        ClientPayer.objects.create(
            agency=cast.sunrise, client=extra, payer=cast.atlas, start_date=start
        )
        clients.append(extra)
    return clients


def _names(response) -> list[str]:
    return [row.client.first_name for row in response.context["party_sections"][0].rows]


def test_it_pages_a_payers_clients_by_twenty_five(client, cast):
    extras = _atlas_clients(cast, 30)  # "Client" comes before Diaz and Hale
    for extra in extras:
        make_invoice(extra, bill_to=cast.atlas)
    client.force_login(cast.paula)

    first = client.get(URL)
    second = client.get(URL, {"payer_page": 2})

    assert _names(first) == [f"Extra{i:02d}" for i in range(25)]
    assert _names(second) == [f"Extra{i:02d}" for i in range(25, 30)] + [
        "Rosa",
        "Margaret",
        "Walter",
    ]
    body = first.content.decode()
    assert "Page 1 of 2" in body and "Total for 33 clients" in body
    assert 'href="?payer_page=2"' in body
    # The total covers every client, not only the page: 30 x 77.50.
    assert first.context["party_sections"][0].total_owed == Decimal("2325.00")
    assert "$2,325.00" in body
    # The audit records the clients shown: the page's 25, then the second page's 8.
    first_event, second_event = AuditEvent.objects.filter(action="dashboard.viewed").order_by("pk")
    assert first_event.detail["clients"] == sorted(e.pk for e in extras[:25])
    assert second_event.detail["clients"] == sorted(
        [e.pk for e in extras[25:]] + [cast.margaret.pk, cast.walter.pk, cast.rosa.pk]
    )


def test_it_searches_clients_by_first_last_or_preferred_name(client, cast):
    _atlas_clients(cast, 30)
    client.force_login(cast.paula)

    by_preferred = client.get(URL, {"q": "  maggie "})
    by_last = client.get(URL, {"q": "HALE"})
    by_both = client.get(URL, {"q": "walter hale"})
    nobody = client.get(URL, {"q": "Zed"})

    assert _names(by_preferred) == ["Margaret"]
    assert _names(by_last) == ["Margaret", "Walter"]
    assert _names(by_both) == ["Walter"]
    assert _names(nobody) == []
    body = by_preferred.content.decode()
    assert '<label for="client-search">First, last or preferred name</label>' in body
    assert 'name="q" value="maggie"' in body
    assert '<button type="submit" class="button">Search</button>' in body
    assert "No client's name contains “Zed”." in nobody.content.decode()


def test_it_keeps_the_search_and_the_client_in_the_paging_links(client, cast):
    _atlas_clients(cast, 30, last_name="Extra")
    client.force_login(cast.paula)

    response = client.get(URL, {"q": "extra", "payer_page": "2"})

    assert _names(response) == [f"Extra{i:02d}" for i in range(25, 30)]
    assert 'href="?q=extra&amp;payer_page=1"' in response.content.decode()
    narrowed = client.get(URL, {"client": cast.rosa.pk, "q": "rosa"})
    assert _names(narrowed) == ["Rosa"]
    body = narrowed.content.decode()
    assert f'<input type="hidden" name="client" value="{cast.rosa.pk}">' in body


def test_it_counts_no_invoice_below_zero_in_what_a_payer_owes(client, cast):
    make_invoice(cast.rosa, bill_to=cast.atlas)  # owes 77.50
    make_invoice(cast.rosa, bill_to=cast.atlas, paid=Decimal("100.00"))  # overpaid 22.50
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("7.50"))  # owes 70.00
    client.force_login(cast.paula)

    response = client.get(URL)

    section = response.context["party_sections"][0]
    owed = {row.client.first_name: row.owed for row in section.rows}
    assert owed == {"Rosa": Decimal("77.50"), "Margaret": Decimal("70.00"), "Walter": 0}
    assert section.total_owed == Decimal("147.50")


def test_it_keeps_listing_a_client_whose_link_ended_while_invoiced(client, cast):
    make_invoice(cast.rosa, bill_to=cast.atlas, number="INV-ROSA")
    ClientPayer.objects.filter(client=cast.rosa, payer=cast.atlas).update(
        end_date=timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=1)
    )
    make_visit(cast.rosa, cast.caregiver, _tomorrow_at(10, cast), service="Companionship")
    client.force_login(cast.paula)

    response = client.get(URL)

    section = response.context["party_sections"][0]
    rows = {row.client.first_name: row for row in section.rows}
    assert rows["Rosa"].owed == Decimal("77.50")
    # The calendar's access ended with the link: no visit is shown for her.
    assert rows["Rosa"].next_visit is None
    assert "Companionship" not in response.content.decode()


def test_it_shows_no_party_table_to_a_stranger_or_a_client(client, cast):
    make_invoice(cast.rosa, bill_to=cast.atlas, number="INV-ATLAS")
    for user in (cast.stan, cast.margaret.user, cast.tom):
        client.force_login(user)
        response = client.get(URL, {"q": "rosa", "payer_page": "2"})
        assert response.status_code == 200
        body = response.content.decode()
        assert response.context["party_sections"] == []
        assert "Rosa" not in body and "INV-ATLAS" not in body and "client-search" not in body
    client.force_login(cast.hank.user)
    response = client.get(URL)
    assert response.context["party_sections"] == [] and "Rosa" not in response.content.decode()


def test_it_answers_a_payer_in_the_same_number_of_queries_for_3_or_40_clients(
    client, cast, django_assert_max_num_queries
):
    counts = {}

    def render(user, **query):
        client.force_login(user)
        with django_assert_max_num_queries(BOUND) as queries:
            response = client.get(URL, query)
        assert response.status_code == 200
        key = (user.pk, "q" in query)
        # No more with 40 clients than with 3 (the frame's selector may save one).
        assert len(queries) <= counts.setdefault(key, len(queries)), key
        return response

    make_invoice(cast.rosa, bill_to=cast.atlas)
    make_invoice(cast.sam, bill_to=cast.maple)
    make_visit(cast.rosa, cast.caregiver, _tomorrow_at(9, cast))
    for user in (cast.paula, cast.nora):
        render(user)
        render(user, q="a")
    for extra in _atlas_clients(cast, 37):
        make_invoice(extra, bill_to=cast.atlas, lines=2, caregiver=cast.caregiver)
        make_visit(extra, cast.caregiver, _tomorrow_at(9, cast))
    for user in (cast.paula, cast.nora):
        render(user)
        render(user, q="a", payer_page="2")


def test_it_narrows_a_payers_table_to_one_client_linked_or_still_billed(client, cast):
    make_invoice(cast.rosa, bill_to=cast.atlas, number="INV-ROSA")  # 77.50
    make_invoice(cast.margaret, bill_to=cast.atlas, paid=Decimal("20.00"))  # 57.50
    ClientPayer.objects.filter(client=cast.rosa, payer=cast.atlas).update(
        end_date=timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=1)
    )
    client.force_login(cast.paula)

    for narrowed, owed in ((cast.margaret, "57.50"), (cast.rosa, "77.50")):
        response = client.get(URL, {"client": narrowed.pk})

        section = response.context["party_sections"][0]
        assert _names(response) == [narrowed.first_name]
        assert section.page.paginator.count == 1
        assert section.total_owed == Decimal(owed)
        assert "Total for 1 client" in response.content.decode()
    everyone = client.get(URL).context["party_sections"][0]
    assert everyone.page.paginator.count == 3  # Margaret, Walter, and Rosa still billed
    assert everyone.total_owed == Decimal("135.00")


def test_it_shows_each_clients_next_visit_day_and_time_in_the_agencys_zone(client, cast):
    # 14:30 UTC is 10:30 in New York in March (daylight saving time).
    start = datetime.datetime(2030, 3, 18, 14, 30, tzinfo=datetime.UTC)
    make_visit(cast.rosa, cast.caregiver, start, service="Companionship")
    make_visit(cast.margaret, cast.caregiver, start + datetime.timedelta(days=1, hours=1))
    client.force_login(cast.paula)

    english = client.get(URL).content.decode()
    spanish = client.get(URL, headers={"accept-language": "es"}).content.decode()

    assert "Monday, March 18, 10:30 a.m.<br>" in english
    assert "Tuesday, March 19, 11:30 a.m.<br>" in english
    # In Spanish the day comes first, capitalised as the start of the cell.
    assert "Lunes 18 de marzo, 10:30<br>" in spanish


def test_it_totals_what_a_search_owes_on_one_page_or_several(client, cast):
    extras = _atlas_clients(cast, 30)
    for extra in extras:
        make_invoice(extra, bill_to=cast.atlas)  # 77.50 each
    make_invoice(cast.walter, bill_to=cast.atlas, paid=Decimal("20.00"))  # 57.50
    make_invoice(cast.margaret, bill_to=cast.atlas)  # 77.50
    client.force_login(cast.paula)

    hales = client.get(URL, {"q": "hale"}).context["party_sections"][0]
    extra_pages = [
        client.get(URL, {"q": "extra", "payer_page": page}).context["party_sections"][0]
        for page in (1, 2)
    ]
    everyone = client.get(URL).context["party_sections"][0]

    assert [row.owed for row in hales.rows] == [Decimal("77.50"), Decimal("57.50")]
    assert hales.total_owed == Decimal("135.00")
    # Over both pages of the search, not only the page shown: 30 x 77.50.
    assert [section.total_owed for section in extra_pages] == [Decimal("2325.00")] * 2
    assert everyone.total_owed == Decimal("2460.00")
