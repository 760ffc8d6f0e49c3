"""The back office's pages do only the work they show: 25 rows a page, no rows loaded that
the page does not show, a sidebar built once per role, a client's page that names its
payers and communities instead of editing them inline, and plain inputs written in Python
with the markup Django's templates give."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.templatetags import admin_list
from django.forms.renderers import DjangoTemplates
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from careportal.backoffice.scoping import scoped_form
from careportal.backoffice.site import backoffice_site
from careportal.backoffice.templatetags import backoffice_list
from careportal.backoffice.tests.conftest import sign_in
from careportal.backoffice.tests.test_lists import _add_rows, _list_url
from careportal.billing.models import Invoice
from careportal.builders import make_login, make_visit
from careportal.people.models import Client, ClientPayer, Community, Payer, Residence
from careportal.renderers import FormRenderer
from tests.cast import PASSWORD


def test_it_shows_twenty_five_rows_a_page(client, world):
    _add_rows(world, 30)
    sign_in(client, world.cast.owner)
    for name in ("people_client", "scheduling_visit", "billing_invoice"):
        response = client.get(_list_url(name))
        assert len(response.context["cl"].result_list) == 25
        assert response.context["cl"].paginator.num_pages == 2


def test_it_counts_a_list_without_computing_its_columns(
    client, world, django_assert_max_num_queries
):
    sign_in(client, world.cast.owner)
    with django_assert_max_num_queries(25) as queries:
        assert client.get(_list_url("people_client")).status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    # The "sign-in locked" column is a subquery per row: the count leaves it out.
    assert len(counts) == 1
    assert "axes_accessfailurelog" not in counts[0]


def test_it_lists_invoices_without_their_lines_and_payments(
    client, world, django_assert_max_num_queries
):
    sign_in(client, world.cast.owner)
    with django_assert_max_num_queries(25) as queries:
        response = client.get(_list_url("billing_invoice"))
    assert world.sunrise(Invoice).number in response.content.decode()
    # The totals, balance and status shown are stored on the invoice.
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "billing_invoiceline" not in tables
    assert "billing_payment" not in tables


def test_it_marks_the_current_list_in_the_sidebar_for_each_role(client, world):
    cast = world.cast
    sign_in(client, cast.owner)
    content = client.get(_list_url("scheduling_visit")).content.decode()
    assert '<tr class="model-visit current-model">' in content
    assert f'href="{_list_url("billing_invoice")}"' in content
    # Built once for the owner's role on this list, then reused: the same markup.
    again = client.get(_list_url("scheduling_visit")).content.decode()
    sidebar = content[content.index('id="nav-sidebar"') : content.index("</nav>")]
    assert sidebar in again
    # Another list marks its own row.
    invoices = client.get(_list_url("billing_invoice")).content.decode()
    assert '<tr class="model-invoice current-model">' in invoices
    assert '<tr class="model-visit current-model">' not in invoices
    # A scheduler never sees money, in the sidebar either.
    sign_in(client, cast.scheduler)
    scheduler = client.get(_list_url("scheduling_visit")).content.decode()
    assert '<tr class="model-visit current-model">' in scheduler
    assert _list_url("billing_invoice") not in scheduler


def test_it_keeps_a_copy_of_the_module_list_for_each_page(rf, world):
    request = rf.get("/")
    request.user = world.cast.owner
    first = backoffice_site.get_app_list(request)
    first[0]["models"].clear()
    assert backoffice_site.get_app_list(request)[0]["models"]


def test_it_gives_each_requests_forms_their_own_agency(rf, world):
    """The form classes are the factory's new ones for each request, each given its
    agency; the admin's own form class never holds one."""
    client_admin = backoffice_site._registry[Client]
    forms_made = {}
    for user in (world.cast.owner, world.cast.harriet):
        request = rf.get("/")
        request.user = user
        form = client_admin.get_form(request)
        (formset, _inline), *_ = client_admin.get_formsets_with_inlines(request)
        forms_made[user.agency_id] = (form, formset.form)
    (sunrise_form, sunrise_row), (harbor_form, harbor_row) = forms_made.values()
    assert sunrise_form.backoffice_agency == world.cast.sunrise
    assert sunrise_row.backoffice_agency == world.cast.sunrise
    assert harbor_form.backoffice_agency == world.cast.harbor
    assert harbor_row.backoffice_agency == world.cast.harbor
    assert client_admin.form.backoffice_agency is None
    # Handed the admin's own class, scoped_form makes a subclass rather than mark it.
    made = scoped_form(client_admin.form, world.cast.sunrise)
    assert made is not client_admin.form
    assert made.backoffice_agency == world.cast.sunrise
    assert client_admin.form.backoffice_agency is None


def test_it_shows_the_chosen_client_in_the_filter_box(client, world):
    cast = world.cast
    make_visit(cast.margaret, cast.caregiver, timezone.now())
    sign_in(client, cast.owner)
    url = _list_url("scheduling_visit")
    content = client.get(url, {"client__id__exact": cast.margaret.pk}).content.decode()
    assert f'<option value="{cast.margaret.pk}" selected>{cast.margaret}</option>' in content
    assert 'class="admin-autocomplete"' in content
    assert 'data-field-name="client"' in content
    # Another agency's client: no name in the box, and nothing found.
    foreign = client.get(url, {"client__id__exact": cast.hank.pk})
    assert str(cast.hank) not in foreign.content.decode()
    assert not list(foreign.context["cl"].result_list)


def test_it_names_a_clients_payers_and_communities_with_links(
    client, world, django_assert_max_num_queries
):
    cast = world.cast
    margaret = cast.margaret
    url = reverse("backoffice:people_client_change", args=[margaret.pk])
    sign_in(client, cast.owner)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        content = client.get(url).content.decode()
    link = world.sunrise(ClientPayer)
    assert str(link.payer) in content
    assert reverse("backoffice:people_clientpayer_change", args=[link.pk]) in content
    assert f"{reverse('backoffice:people_clientpayer_add')}?client={margaret.pk}" in content
    assert f"{_list_url('people_residence')}?client__id__exact={margaret.pk}" in content
    # Not inline forms: the page posts no payer or residence rows.
    assert "payer_links-TOTAL_FORMS" not in content
    assert "residences-TOTAL_FORMS" not in content
    # More payers: not one query more.
    start = datetime.date(2024, 1, 1)
    for n in range(5):
        payer = Payer.objects.create(
            agency=cast.sunrise, name=f"Extra Payer {n}", kind="ltc_insurer"
        )
        ClientPayer.objects.create(
            agency=cast.sunrise, client=margaret, payer=payer, start_date=start
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = client.get(url).content.decode()
    assert "Extra Payer 4" in content


def test_it_offers_adding_a_payer_only_to_a_role_that_may(client, world):
    cast = world.cast
    url = reverse("backoffice:people_client_change", args=[cast.margaret.pk])
    sign_in(client, cast.scheduler)
    content = client.get(url).content.decode()
    assert str(world.sunrise(ClientPayer).payer) in content
    assert reverse("backoffice:people_clientpayer_add") not in content


def test_it_opens_the_payer_form_with_the_client_chosen(client, world):
    cast = world.cast
    sign_in(client, cast.owner)
    response = client.get(
        reverse("backoffice:people_clientpayer_add"), {"client": cast.margaret.pk}
    )
    assert f'<option value="{cast.margaret.pk}" selected>' in response.content.decode()


class EveryInput(forms.Form):
    name = forms.CharField(initial='Ann "<b>" & Co', widget=forms.TextInput(attrs={"size": 0}))
    email = forms.EmailField(initial="ann@mail.example")
    secret = forms.CharField(widget=forms.HiddenInput, initial=7)
    count = forms.IntegerField(initial=3)
    born = forms.DateField(initial=datetime.date(1940, 5, 1))
    agreed = forms.BooleanField(initial=True)
    declined = forms.BooleanField(required=False)
    notes = forms.CharField(widget=forms.Textarea, required=False)
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], initial="b")
    grouped = forms.ChoiceField(
        choices=[("", "---"), ("Group <1>", [("x", "X & Y"), ("y", "Y")]), ("z", "Z")],
        initial="x",
    )
    several = forms.MultipleChoiceField(choices=[("a", "A"), ("b", '"B"')], initial=["a", "b"])


@pytest.mark.parametrize("auto_id", ["id_%s", False])
@pytest.mark.parametrize("bound", [False, True])
def test_it_writes_the_inputs_as_djangos_templates_do(bound, auto_id):
    data = {"name": "<script>", "email": "bad", "count": "x", "born": "1940-05-01"}
    args = (data,) if bound else ()
    ours = EveryInput(*args, auto_id=auto_id, renderer=FormRenderer())
    theirs = EveryInput(*args, auto_id=auto_id, renderer=DjangoTemplates())
    # The whole form: labels, error lists (empty or not) and every widget.
    assert str(ours) == str(theirs)
    for name in EveryInput.base_fields:
        assert str(ours[name]) == str(theirs[name])
        assert ours[name].label_tag() == theirs[name].label_tag()
        assert str(ours[name].errors) == str(theirs[name].errors)
    assert "&lt;script&gt;" in str(ours) if bound else "&lt;b&gt;" in str(ours)


def test_it_writes_each_lists_rows_as_djangos_admin_does(client, world):
    """The rows come from backoffice_list, each column resolved once a page: the same
    cells, classes and links as Django's items_for_result, on every list of the site."""
    _add_rows(world, 3)
    sign_in(client, world.cast.owner)
    pages = 0
    for model in backoffice_site._registry:
        url = _list_url(f"{model._meta.app_label}_{model._meta.model_name}")
        for query in ("", "?o=-2", "?_changelist_filters=q%3Dhal"):
            response = client.get(url + query)
            if response.status_code != 200:
                continue
            cl = response.context["cl"]
            # In the agency's time zone, as the view renders.
            with timezone.override(world.cast.sunrise.tz):
                django_rows = ["".join(map(str, row)) for row in admin_list.results(cl)]
                assert [str(row) for row in backoffice_list.rows(cl)] == django_rows
            content = response.content.decode()
            for row in django_rows:
                assert f"<tr>{row}</tr>" in content
            pages += bool(django_rows)
    assert pages > 20


def test_it_writes_each_lists_table_as_djangos_template_does(client, world):
    """The headings (sorted by one column or several) and the rows, or nothing for an
    empty list: what admin/change_list_results.html writes, to the character."""
    _add_rows(world, 3)
    sign_in(client, world.cast.owner)
    pages = 0
    for model in backoffice_site._registry:
        url = _list_url(f"{model._meta.app_label}_{model._meta.model_name}")
        for query in ("", "?o=-2.1", "?o=1.-2.3", "?q=nothing-matches-this"):
            response = client.get(url + query)
            if response.status_code != 200 or response.context["cl"].formset:
                continue
            cl = response.context["cl"]
            with timezone.override(world.cast.sunrise.tz):
                theirs = render_to_string(
                    "admin/change_list_results.html", admin_list.result_list(cl)
                )
                assert backoffice_list.table(cl) == theirs
            assert theirs in response.content.decode()
            pages += 1
    assert pages > 60


def test_it_names_a_clients_latest_payers_first_and_ten_at_most(client, world):
    cast = world.cast
    margaret = cast.margaret
    ClientPayer.objects.filter(client=margaret).delete()
    for n in range(12):
        payer = Payer.objects.create(
            agency=cast.sunrise, name=f"Fund number {n:02}", kind="ltc_insurer"
        )
        ClientPayer.objects.create(
            agency=cast.sunrise,
            client=margaret,
            payer=payer,
            start_date=datetime.date(2024, 1, 1) + datetime.timedelta(days=n // 2),
        )
    sign_in(client, cast.owner)
    response = client.get(reverse("backoffice:people_client_change", args=[margaret.pk]))
    links = response.context["client_links"]
    (payers,) = [kind for kind in links if kind["title"] == ClientPayer._meta.verbose_name_plural]
    # The latest start first; on the same day, the latest added first.
    assert [str(row[0]) for row in payers["rows"]] == [
        f"Fund number {n:02}" for n in range(11, 1, -1)
    ]
    assert [row[1] for row in payers["rows"]][:2] == [datetime.date(2024, 1, 6)] * 2
    content = response.content.decode()
    assert "Fund number 02" in content
    assert "Fund number 01" not in content


def test_it_keeps_the_filters_of_a_list_in_its_rows_links(client, world):
    cast = world.cast
    sign_in(client, cast.owner)
    content = client.get(_list_url("people_client"), {"status__exact": "active"}).content
    change = reverse("backoffice:people_client_change", args=[cast.margaret.pk])
    assert f'<a href="{change}?_changelist_filters=status__exact%3Dactive">' in content.decode()


def test_it_takes_an_inlines_media_from_its_formset_once(client, world):
    """The inline's media is the formset's: what Django's sum over every row gives."""
    cast = world.cast
    sign_in(client, cast.owner)
    for url in (
        reverse("backoffice:people_payer_change", args=[world.sunrise(Payer).pk]),
        reverse("backoffice:billing_invoice_change", args=[world.sunrise(Invoice).pk]),
        reverse("backoffice:people_client_add"),
    ):
        inlines = client.get(url).context["inline_admin_formsets"]
        assert inlines
        for inline in inlines:
            assert str(inline.media) == str(helpers.InlineAdminFormSet.media.fget(inline))


def test_it_writes_every_kind_of_column_as_djangos_admin_does(client, world, monkeypatch):
    """Ids, dates, choices, logins, methods, booleans, blanks and links in any column."""
    client_admin = backoffice_site._registry[Client]

    def has_email(obj: Client) -> bool:
        return bool(obj.email)

    has_email.boolean = True
    columns = (
        "id", "last_name", "date_of_birth", "status", "user", "preferred_name",
        "action_checkbox", has_email, lambda obj: obj.date_of_birth,
    )  # fmt: skip
    cast = world.cast
    Client.objects.filter(pk=cast.margaret.pk).update(preferred_name="  ", email="")
    sign_in(client, cast.owner)
    for links in ((), ("last_name", "status"), None):
        monkeypatch.setattr(client_admin, "list_display", columns)
        monkeypatch.setattr(client_admin, "list_display_links", links)
        response = client.get(_list_url("people_client"), {"status__exact": "active"})
        cl = response.context["cl"]
        with timezone.override(cast.sunrise.tz):
            django_rows = ["".join(map(str, row)) for row in admin_list.results(cl)]
            assert [str(row) for row in backoffice_list.rows(cl)] == django_rows
        assert any('class="field-date_of_birth nowrap"' in row for row in django_rows)
        for row in django_rows:
            assert f"<tr>{row}</tr>" in response.content.decode()


@pytest.mark.parametrize(
    ("party_model", "link_model", "field", "prefix"),
    [
        (Payer, ClientPayer, "payer", "client_links"),
        (Community, Residence, "community", "residences"),
    ],
)
def test_a_payers_or_communitys_page_names_its_latest_clients_with_links(
    client, world, django_assert_max_num_queries, party_model, link_model, field, prefix
):
    """A payer of thousands of clients gets a page of ten links, not thousands of rows."""
    cast = world.cast
    party = world.sunrise(party_model)
    link_model.objects.filter(**{field: party}).delete()
    start = datetime.date(2024, 1, 1)
    for n in range(12):
        person = Client.objects.create(
            agency=cast.sunrise, first_name="Resident", last_name=f"Number {n:02}"
        )
        link_model.objects.create(
            agency=cast.sunrise,
            client=person,
            start_date=start + datetime.timedelta(days=n),
            **{field: party},
        )
    url = reverse(f"backoffice:people_{field}_change", args=[party.pk])
    sign_in(client, cast.owner)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        response = client.get(url)
    content = response.content.decode()
    assert f"{prefix}-TOTAL_FORMS" not in content
    assert 'name="people-TOTAL_FORMS"' in content
    (links,) = response.context["client_links"]
    assert [row[0] for row in links["rows"]] == [
        f"Resident Number {n:02}" for n in range(11, 1, -1)
    ]
    latest = link_model.objects.get(client__last_name="Number 11")
    name = link_model._meta.model_name
    assert reverse(f"backoffice:people_{name}_change", args=[latest.pk]) in content
    assert f"{_list_url(f'people_{name}')}?{field}__id__exact={party.pk}" in content
    assert f"{reverse(f'backoffice:people_{name}_add')}?{field}={party.pk}&amp;" in content
    # Twice the clients: not one query more.
    for n in range(12, 24):
        person = Client.objects.create(agency=cast.sunrise, first_name="R", last_name=f"N {n}")
        link_model.objects.create(
            agency=cast.sunrise, client=person, start_date=start, **{field: party}
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
    new = client.get(reverse(f"backoffice:people_{field}_add")).content.decode()
    assert f'name="{prefix}-TOTAL_FORMS"' in new


def _without_tokens(body: str) -> str:
    # Each page has a CSRF token of its own, in every form.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", body)


def test_it_gives_every_role_the_same_pages_with_the_frame_kept(client, world, settings):
    # Each role walks its lists and a client's page as rendered afresh, then with the
    # frame's links and a list's styles and scripts kept: what it gets is the same,
    # whoever walked before it. Operators walk Django's own admin (its frame is ours too).
    lists = ("people_client", "scheduling_visit", "billing_invoice", "careplans_serviceplan")
    backoffice = [reverse(f"backoffice:{name}_changelist") for name in lists]
    backoffice.append(reverse("backoffice:people_client_change", args=[world.cast.margaret.pk]))
    operator = make_login(
        None, "otto.operator", password=PASSWORD, kind="operator", is_staff=True, is_superuser=True
    )
    walks = [(getattr(world.cast, role), backoffice) for role in ("owner", "scheduler", "billing")]
    walks.append(
        (operator, [reverse("admin:index"), reverse("admin:post_office_email_changelist")])
    )

    def walk() -> dict[tuple[str, str], tuple[int, str]]:
        seen = {}
        for user, pages in walks:
            sign_in(client, user)
            for page in pages:
                response = client.get(page)
                body = _without_tokens(response.content.decode())
                seen[user.username, page] = (response.status_code, body)
        return seen

    fresh = walk()
    settings.CACHES = {
        **settings.CACHES,
        "template_fragments": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"backoffice-frame-of-{uuid.uuid4()}",
        },
    }
    for _round in range(2):
        kept = walk()
        for key, page in fresh.items():
            assert kept[key] == page, key


def test_it_links_each_page_of_a_list_as_django_does_keeping_its_filters(client, world):
    _add_rows(world, 60)
    sign_in(client, world.cast.owner)

    response = client.get(_list_url("billing_invoice"), {"status": "issued", "p": "2"})

    cl = response.context["cl"]
    assert cl.paginator.num_pages == 3
    body = response.content.decode()
    for number in (1, 2, 3):
        assert str(admin_list.paginator_number(cl, number)).strip() in body
    assert '<span class="this-page">2</span>' in body
    assert '<a href="?p=3&amp;status=issued" class="end">3</a>' in body
