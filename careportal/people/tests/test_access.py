import datetime

from django.utils import timezone

from careportal.billing.models import Invoice, InvoiceStatus
from careportal.builders import make_invoice, make_plan, make_visit
from careportal.careplans.models import ServicePlan
from careportal.people import access
from careportal.people.models import Client, ClientPayer, ClientStatus
from careportal.scheduling.models import Visit


def _visible_clients(user):
    return set(Client.objects.visible_to(user).values_list("first_name", flat=True))


def test_it_lists_each_roles_clients(cast):
    assert _visible_clients(cast.margaret.user) == {"Margaret"}
    assert _visible_clients(cast.tom) == {"Margaret"}
    assert _visible_clients(cast.ellen) == {"Margaret", "Walter"}
    assert _visible_clients(cast.paula) == {"Margaret", "Walter", "Rosa"}
    assert _visible_clients(cast.nora) == {"Rosa", "Sam"}
    assert _visible_clients(cast.owner) == set()
    assert _visible_clients(cast.hank.user) == {"Hank"}


def test_it_shows_service_plans_to_the_client_alone(cast):
    plan = make_plan(cast.margaret)
    assert list(ServicePlan.objects.visible_to(cast.margaret.user)) == [plan]
    for user in (
        cast.ellen,
        cast.tom,
        cast.paula,
        cast.nora,
        cast.stan,
        cast.owner,
        cast.hank.user,
    ):
        assert not ServicePlan.objects.visible_to(user).exists()


def test_it_shows_invoices_by_bill_to_party(cast):
    own = make_invoice(cast.margaret)
    to_atlas = make_invoice(cast.margaret, bill_to=cast.atlas)
    to_maple = make_invoice(cast.rosa, bill_to=cast.maple)
    make_invoice(cast.margaret, status=InvoiceStatus.DRAFT)

    def seen(user):
        return set(Invoice.objects.visible_to(user))

    assert seen(cast.margaret.user) == {own}
    assert seen(cast.tom) == {own}
    assert seen(cast.paula) == {to_atlas}
    assert seen(cast.nora) == {to_maple}
    assert seen(cast.stan) == set()
    assert seen(cast.hank.user) == set()


def test_it_ends_calendar_access_with_the_link_but_keeps_the_invoices(cast):
    now = timezone.now()
    visit = make_visit(cast.rosa, cast.caregiver, now + datetime.timedelta(days=1))
    invoice = make_invoice(cast.rosa, bill_to=cast.atlas)
    assert visit in Visit.objects.visible_to(cast.paula)
    ClientPayer.objects.filter(client=cast.rosa, payer=cast.atlas).update(
        end_date=timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=1)
    )
    assert visit not in Visit.objects.visible_to(cast.paula)
    assert invoice in Invoice.objects.visible_to(cast.paula)


def test_it_hides_a_discharged_client_from_everyone(cast):
    make_visit(cast.margaret, cast.caregiver, timezone.now() + datetime.timedelta(days=1))
    Client.objects.filter(pk=cast.margaret.pk).update(status=ClientStatus.DISCHARGED)
    for user in (cast.margaret.user, cast.tom, cast.ellen, cast.paula):
        assert not Visit.objects.visible_to(user).filter(client=cast.margaret).exists()


def test_it_resolves_a_client_in_one_query_and_a_payer_in_two(cast, django_assert_num_queries):
    margaret = cast.margaret.user
    cast.paula.agency  # noqa: B018 (loaded, as on a request)
    with django_assert_num_queries(1):
        assert access.calendar_client_ids(margaret) == [cast.margaret.pk]
    with django_assert_num_queries(2):
        ids = access.calendar_client_ids(cast.paula)
    assert ids == sorted([cast.margaret.pk, cast.walter.pk, cast.rosa.pk])
    with django_assert_num_queries(2):
        assert set(access.calendar_client_ids(cast.ellen)) == {cast.margaret.pk, cast.walter.pk}
    rels = access.relationship_ids(cast.ellen)
    assert rels.contact_client_ids == tuple(sorted([cast.margaret.pk, cast.walter.pk]))
    assert rels.payer_ids == (cast.trust.pk,)
    assert rels.own_client_ids == ()


def test_it_remembers_answers_inside_a_request_memo_only(cast, django_assert_num_queries):
    with access.request_memo():
        access.calendar_client_ids(cast.paula)
        with django_assert_num_queries(0):
            access.calendar_client_ids(cast.paula)
            access.has_care_plan(cast.paula)
            Invoice.objects.visible_to(cast.paula).query  # noqa: B018 (builds, runs nothing)
    # Outside it every call asks again, so a change between two calls is seen.
    assert access.has_care_plan(cast.margaret.user)
    cast.margaret.user = None
    cast.margaret.save()
    user = type(cast.walter.user).objects.get(username="margaret.hale")
    assert not access.has_care_plan(user)


def test_it_forgets_between_two_memos(cast):
    with access.request_memo():
        assert cast.rosa.pk in access.calendar_client_ids(cast.paula)
    ClientPayer.objects.filter(client=cast.rosa).delete()
    with access.request_memo():
        assert cast.rosa.pk not in access.calendar_client_ids(cast.paula)


def test_it_keeps_only_visible_clients_among_those_asked(cast):
    mine = make_visit(cast.margaret, cast.caregiver, timezone.now())
    make_visit(cast.sam, cast.caregiver, timezone.now())

    asked = [cast.margaret.pk, cast.sam.pk, cast.hank.pk]

    assert list(Visit.objects.visible_to(cast.paula, among=asked)) == [mine]
    assert list(Visit.objects.visible_to(cast.paula, among=[])) == []
    assert not Visit.objects.visible_to(cast.stan, among=asked).exists()


def test_it_narrows_only_to_a_client_the_login_may_see(cast, django_assert_num_queries):
    make_invoice(cast.rosa, bill_to=cast.atlas)
    ClientPayer.objects.filter(client=cast.rosa).update(
        end_date=timezone.localdate(timezone=cast.sunrise.tz) - datetime.timedelta(days=1)
    )

    assert access.narrowable_client(cast.paula, cast.walter.pk) == cast.walter
    with access.request_memo():
        access.calendar_client_ids(cast.paula)
        with django_assert_num_queries(1):
            # Off the calendar, but an invoice billed to Atlas covers her: one EXISTS.
            assert access.narrowable_client(cast.paula, cast.rosa.pk) == cast.rosa
    assert access.narrowable_client(cast.paula, cast.sam.pk) is None
    assert access.narrowable_client(cast.tom, cast.walter.pk) is None
    assert access.narrowable_client(cast.hank.user, cast.margaret.pk) is None
    assert access.narrowable_client(cast.owner, cast.margaret.pk) is None


def test_it_filters_invoices_by_literal_ids(cast):
    sql = str(Invoice.objects.visible_to(cast.ellen).query)

    assert "SELECT" not in sql.split("WHERE", 1)[1], "no subquery in the access filter"
    assert not Invoice.objects.visible_to(cast.owner).exists()


def test_it_tells_whether_a_partys_calendar_holds_more_clients_than_a_number(
    cast, monkeypatch, django_assert_num_queries
):
    # Paula's payer is linked to three clients today; a client and a contact have none.
    assert len(access.calendar_client_ids(cast.paula)) == 3
    with django_assert_num_queries(2):  # her relationships, then a few of her links
        assert access.calendar_has_more_than(cast.paula, 2)
    assert not access.calendar_has_more_than(cast.paula, 3)
    assert not access.calendar_has_more_than(cast.margaret.user, 1)
    assert access.calendar_has_more_than(cast.ellen, 1)
    # Fewer links read than she has: the rest are counted rather than guessed.
    monkeypatch.setattr(access, "_LINKS_SAMPLED", 1)
    assert access.calendar_has_more_than(cast.paula, 2)
    assert not access.calendar_has_more_than(cast.paula, 3)
