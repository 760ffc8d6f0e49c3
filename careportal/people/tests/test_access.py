import datetime

from django.utils import timezone

from careportal.billing.models import Invoice, InvoiceStatus
from careportal.careplans.models import ServicePlan
from careportal.people.models import Client, ClientPayer, ClientStatus
from careportal.scheduling.models import Visit
from careportal.testing import make_invoice, make_plan, make_visit


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
