"""Back-office isolation: staff never list, open, edit, pick or create another agency's rows."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import RequestFactory
from django.urls import reverse

from careportal.agencies.models import Agency
from careportal.backoffice.scoping import AgencyRawIdWidget, has_agency_column
from careportal.backoffice.site import backoffice_site
from careportal.backoffice.tests.conftest import HARBOR_WORDS, SUNRISE_WORDS, sign_in
from careportal.billing.models import Invoice
from careportal.people.models import Client, ClientPayer, EmergencyContact
from careportal.scheduling.models import Visit

MODELS = list(backoffice_site._registry)
# Which agency's staff looks, at whose record, and the words of the records they must not see.
SIDES = [
    pytest.param("harriet", 0, SUNRISE_WORDS, id="harbor-looks-at-sunrise"),
    pytest.param("owner", 1, HARBOR_WORDS, id="sunrise-looks-at-harbor"),
]


def _url(obj, view: str = "change") -> str:
    opts = obj._meta
    return reverse(f"backoffice:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


def _missing_url(model, view: str = "change") -> str:
    opts = model._meta
    return reverse(f"backoffice:{opts.app_label}_{opts.model_name}_{view}", args=[987654])


def _request(user):
    request = RequestFactory().get("/backoffice/")
    request.user = user
    return request


def test_it_registers_only_models_with_an_agency_column():
    for model in MODELS:
        assert model is Agency or has_agency_column(model), model
    labels = {model._meta.label_lower for model in MODELS}
    for forbidden in ("sessions.session", "admin.logentry", "post_office.email", "accounts.user"):
        assert forbidden not in labels
    assert not any(label.startswith(("axes.", "otp_")) for label in labels)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
@pytest.mark.parametrize(("who", "other", "words"), SIDES)
def test_it_lists_only_the_agencys_records(client, world, model, who, other, words):
    staff = getattr(world.cast, who)
    sign_in(client, staff)
    opts = model._meta
    response = client.get(
        reverse(f"backoffice:{opts.app_label}_{opts.model_name}_changelist"), follow=True
    )
    assert response.status_code == 200
    content = response.content.decode()
    foreign = world.records[model][other]
    assert _url(foreign) not in content
    for word in words:
        assert word not in content, word


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
@pytest.mark.parametrize(("who", "other", "words"), SIDES)
def test_it_answers_another_agencys_record_like_a_missing_one(
    client, world, model, who, other, words
):
    sign_in(client, getattr(world.cast, who))
    foreign = world.records[model][other]
    for view in ("change", "delete", "history"):
        response = client.get(_url(foreign, view))
        missing = client.get(_missing_url(model, view))
        # A redirect to the index ("doesn't exist"), or 403 where the role may never delete.
        assert response.status_code == missing.status_code
        assert response.status_code in (302, 403)
        assert response.get("Location") == missing.get("Location")
        assert response.content == missing.content


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
@pytest.mark.parametrize(("who", "other", "words"), SIDES)
def test_it_refuses_to_edit_or_delete_another_agencys_record(
    client, world, model, who, other, words
):
    sign_in(client, getattr(world.cast, who))
    foreign = world.records[model][other]
    before = model._default_manager.filter(pk=foreign.pk).values().get()
    for view, data in (
        ("change", {"name": "Taken", "first_name": "Taken"}),
        ("delete", {"post": "yes"}),
    ):
        response = client.post(_url(foreign, view), data)
        missing = client.post(_missing_url(model, view), data)
        assert response.status_code == missing.status_code
        assert response.status_code in (302, 403)
    assert model._default_manager.filter(pk=foreign.pk).values().get() == before


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
@pytest.mark.parametrize(("who", "other", "words"), SIDES)
def test_it_offers_only_the_agencys_records_as_choices(world, model, who, other, words):
    staff = getattr(world.cast, who)
    own_agency = staff.staff_membership.agency
    request = _request(staff)
    model_admin = backoffice_site._registry[model]
    obj = world.records[model][1 - other]
    forms = [model_admin.get_form(request, obj, change=True)]
    forms += [formset.form for formset, _i in model_admin.get_formsets_with_inlines(request, obj)]
    checked = 0
    for form in forms:
        for name, field in form.base_fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is None:
                continue
            related = queryset.model
            if related is Agency:
                assert list(queryset) == [own_agency], name
            else:
                assert has_agency_column(related), name
                assert not queryset.exclude(agency=own_agency).exists(), name
            checked += 1
    assert "agency" not in forms[0].base_fields
    # A client's page offers no other records to choose (its payers and communities are
    # links to their own pages); these forms do.
    if model in (Visit, Invoice, EmergencyContact, ClientPayer):
        assert checked


@pytest.mark.parametrize(("who", "other", "words"), SIDES)
def test_it_autocompletes_only_the_agencys_records(client, world, who, other, words):
    staff = getattr(world.cast, who)
    sign_in(client, staff)
    agency = staff.staff_membership.agency
    checked = 0
    for model, model_admin in backoffice_site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            field = model._meta.get_field(field_name)
            response = client.get(
                reverse("backoffice:autocomplete"),
                {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field_name,
                    "term": "",
                },
            )
            assert response.status_code == 200, (model, field_name)
            ids = [int(r["id"]) for r in json.loads(response.content)["results"]]
            assert ids, (model, field_name)
            related = field.related_model._default_manager
            assert set(ids) <= set(related.filter(agency=agency).values_list("pk", flat=True))
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize(("who", "other", "words"), SIDES)
def test_it_lists_only_the_agencys_records_in_sidebar_filters(client, world, who, other, words):
    sign_in(client, getattr(world.cast, who))
    response = client.get(reverse("backoffice:scheduling_visit_changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    own = world.records[Visit][1 - other]
    foreign = world.records[Visit][other]
    # The client and caregiver filters are search boxes: no record is listed until chosen.
    assert 'name="caregiver__id__exact"' in content
    assert f"caregiver__id__exact={foreign.caregiver_id}" not in content
    assert f"client__id__exact={foreign.client_id}" not in content
    # The agency's own caregiver, once chosen, is named in the box.
    response = client.get(
        reverse("backoffice:scheduling_visit_changelist"),
        {"caregiver__id__exact": own.caregiver_id},
    )
    assert f'<option value="{own.caregiver_id}" selected>{own.caregiver}</option>' in (
        response.content.decode()
    )
    # Asking for another agency's client or caregiver by the filter's own parameter names
    # nothing and finds nothing.
    for name, value in (
        ("client__id__exact", foreign.client_id),
        ("caregiver__id__exact", foreign.caregiver_id),
    ):
        response = client.get(reverse("backoffice:scheduling_visit_changelist"), {name: value})
        content = response.content.decode()
        assert _url(foreign) not in content
        assert f'<option value="{value}"' not in content
        for word in words:
            assert word not in content, word


def test_it_refuses_a_submitted_id_of_another_agencys_record(client, world):
    cast = world.cast
    sign_in(client, cast.harriet)
    today = datetime.date.today()
    response = client.post(
        reverse("backoffice:billing_invoice_add"),
        {
            "number": "H-1",
            "bill_to_client": cast.margaret.pk,
            "client": cast.margaret.pk,
            "issue_date": today,
            "due_date": today,
            "period_start": today,
            "period_end": today,
            "tax_rate": "0",
            "adjustments": "0",
            "lines-TOTAL_FORMS": 0,
            "lines-INITIAL_FORMS": 0,
            "payments-TOTAL_FORMS": 0,
            "payments-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["client"]
    assert "Margaret" not in response.content.decode()
    assert not Invoice.objects.filter(number="H-1").exists()

    response = client.post(
        reverse("backoffice:people_emergencycontact_add"),
        {"client": cast.margaret.pk, "name": "Intruder", "relationship": "friend"},
    )
    assert response.status_code == 200
    assert not EmergencyContact.objects.filter(name="Intruder").exists()


def test_it_never_names_another_agencys_record_beside_a_raw_id(client, world):
    cast = world.cast
    sign_in(client, cast.harriet)
    response = client.post(
        reverse("backoffice:scheduling_visit_add"),
        {
            "client": cast.hank.pk,
            "caregiver": cast.caregiver.pk,
            "service": "Night care",
            "start_0": "2026-01-15",
            "start_1": "09:00",
            "end_0": "2026-01-15",
            "end_1": "11:00",
            "status": "scheduled",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["caregiver"]
    assert "Carla" not in response.content.decode()
    assert not Visit.objects.filter(service="Night care").exists()
    widget = response.context["adminform"].form.fields["caregiver"].widget
    assert isinstance(widget, AgencyRawIdWidget)


def test_it_names_the_agencys_own_record_beside_a_raw_id(world):
    cast = world.cast
    field = Visit._meta.get_field("caregiver")
    widget = AgencyRawIdWidget(field.remote_field, backoffice_site, agency=cast.sunrise)
    assert widget.label_and_url_for_value(cast.caregiver.pk)[0] == "Carla Giver"
    assert widget.label_and_url_for_value(cast.harbor_caregiver.pk) == ("", "")


def test_it_creates_records_in_the_staff_members_agency(client, world):
    cast = world.cast
    sign_in(client, cast.harriet)
    response = client.post(
        reverse("backoffice:people_client_add"),
        {
            "first_name": "Hilda",
            "last_name": "Harbor",
            "status": "active",
            "emergency_contacts-TOTAL_FORMS": 1,
            "emergency_contacts-INITIAL_FORMS": 0,
            "emergency_contacts-0-name": "Hal Harbor",
            "emergency_contacts-0-relationship": "brother",
            "payer_links-TOTAL_FORMS": 0,
            "payer_links-INITIAL_FORMS": 0,
            "residences-TOTAL_FORMS": 0,
            "residences-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    hilda = Client.objects.get(first_name="Hilda")
    assert hilda.agency == cast.harbor
    assert EmergencyContact.objects.get(name="Hal Harbor").agency == cast.harbor


def test_it_checks_invoice_numbers_within_the_agency_only(client, world):
    cast = world.cast
    taken = world.sunrise(Invoice).number
    today = datetime.date.today()
    data = {
        "number": taken,
        "bill_to_client": cast.hank.pk,
        "client": cast.hank.pk,
        "issue_date": today,
        "due_date": today,
        "period_start": today,
        "period_end": today,
        "tax_rate": "0",
        "adjustments": "0",
        "lines-TOTAL_FORMS": 0,
        "lines-INITIAL_FORMS": 0,
        "payments-TOTAL_FORMS": 0,
        "payments-INITIAL_FORMS": 0,
    }
    sign_in(client, cast.harriet)
    response = client.post(reverse("backoffice:billing_invoice_add"), data)
    assert response.status_code == 302
    assert Invoice.objects.get(agency=cast.harbor, number=taken).status == "draft"

    # The same number again in Harbor is refused by the form, not by the database.
    response = client.post(reverse("backoffice:billing_invoice_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert Invoice.objects.filter(agency=cast.harbor, number=taken).count() == 1


def test_it_shows_and_reads_times_in_the_agencys_time_zone(client, world):
    cast = world.cast
    visit = world.sunrise(Visit)
    visit.start = datetime.datetime(2026, 1, 15, 14, 0, tzinfo=datetime.UTC)
    visit.end = datetime.datetime(2026, 1, 15, 16, 0, tzinfo=datetime.UTC)
    visit.save()
    sign_in(client, cast.scheduler)
    response = client.get(_url(visit))
    assert response.status_code == 200
    assert 'value="09:00:00"' in response.content.decode()

    response = client.post(
        _url(visit),
        {
            "client": cast.margaret.pk,
            "caregiver": cast.caregiver.pk,
            "service": "Personal care",
            "start_0": "2026-01-15",
            "start_1": "10:00",
            "end_0": "2026-01-15",
            "end_1": "12:00",
            "status": "scheduled",
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.start == datetime.datetime(2026, 1, 15, 15, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label_lower)
def test_it_opens_the_agencys_own_records_for_the_owner(client, world, model):
    sign_in(client, world.cast.owner)
    own = world.sunrise(model)
    response = client.get(_url(own))
    assert response.status_code == 200
    assert response.context["original"] == own
    opts = model._meta
    add = client.get(reverse(f"backoffice:{opts.app_label}_{opts.model_name}_add"))
    can_add = backoffice_site._registry[model].has_add_permission(_request(world.cast.owner))
    assert add.status_code == (200 if can_add else 403)
