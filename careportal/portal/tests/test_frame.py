import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.builders import make_invoice
from careportal.portal.templatetags.money import format_money

DASHBOARD = reverse("portal:dashboard")


def _reverse_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _nav(body: str) -> str:
    return re.search(r'<nav class="site-nav".*?</nav>', body, re.S).group(0)


def test_it_offers_the_care_plan_tab_to_the_client_alone(client, cast):
    care_plan = _reverse_or_none("careplans:care_plan")
    client.force_login(cast.margaret.user)
    nav = _nav(client.get(DASHBOARD).content.decode())
    assert "Dashboard" in nav and "Invoices" in nav
    assert ("Care Plan" in nav) is (care_plan is not None)

    for user in (cast.tom, cast.ellen, cast.paula, cast.nora):
        client.force_login(user)
        response = client.get(DASHBOARD)
        assert response.status_code == 200
        assert "Care Plan" not in _nav(response.content.decode())


def test_it_marks_the_current_tab(client, cast):
    client.force_login(cast.margaret.user)

    body = client.get(reverse("billing:invoice_list")).content.decode()

    assert f'<a href="{reverse("billing:invoice_list")}" aria-current="page">' in body


def test_it_has_the_envelope_and_sign_out_at_the_top(client, cast):
    compose = _reverse_or_none("messaging:compose")
    client.force_login(cast.tom)

    body = client.get(DASHBOARD).content.decode()

    if compose:
        link = re.search(rf'<a href="{compose}" class="icon-link[^"]*">(.*?)</a>', body, re.S)
        assert link, "the envelope links to the compose page"
        assert '<svg aria-hidden="true" focusable="false"' in link.group(1)
        visible_text = re.sub(r"<svg.*?</svg>|<[^>]+>", "", link.group(1), flags=re.S).strip()
        assert visible_text == "Email the agency owner"
    assert f'<form method="post" action="{reverse("accounts:logout")}"' in body
    assert ">Sign out</button>" in body


def test_it_lets_a_person_with_several_clients_narrow_the_page(client, cast):
    client.force_login(cast.ellen)

    body = client.get(DASHBOARD, {"client": cast.walter.pk}).content.decode()

    assert '<label for="client-selector">See:</label>' in body
    assert '<option value="">Everyone</option>' in body
    assert f'<option value="{cast.walter.pk}" selected>Walter Hale</option>' in body
    assert f'<option value="{cast.margaret.pk}">Maggie Hale</option>' in body


def test_it_shows_no_selector_to_a_person_with_one_client(client, cast):
    client.force_login(cast.tom)

    body = client.get(DASHBOARD).content.decode()

    assert "client-selector" not in body


def test_it_sends_staff_to_the_back_office(client, cast):
    client.force_login(cast.owner)
    device = TOTPDevice.objects.create(user=cast.owner, name="Phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    invoice = make_invoice(cast.margaret)

    for url in (
        DASHBOARD,
        reverse("billing:invoice_list"),
        reverse("billing:invoice_detail", args=[invoice.number]),
        reverse("billing:invoice_pdf", args=[invoice.number]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("backoffice:index")


def test_it_sends_anonymous_visitors_to_sign_in(client, cast):
    response = client.get(reverse("billing:invoice_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_is_never_stored_and_has_no_inline_script_or_style(client, cast):
    invoice = make_invoice(cast.margaret)
    client.force_login(cast.margaret.user)

    for url in (
        DASHBOARD,
        reverse("billing:invoice_list"),
        reverse("billing:invoice_detail", args=[invoice.number]),
    ):
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body) == [], url
        assert " style=" not in body and "<style" not in body and "hx-on" not in body, url
        assert '"historyCacheSize": 0' in body
        assert '"includeIndicatorStyles": false' in body
        assert 'hx-headers=\'{"X-CSRFToken": "' in body


def test_it_formats_money_in_the_agencys_currency():
    assert format_money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert format_money(Decimal("-5"), "USD") == "-$5.00"
    assert format_money(Decimal("0.005"), "EUR") == "€0.01"
    assert format_money(Decimal("12"), "CHF") == "12.00 CHF"


def test_it_keeps_the_pages_other_choices_when_the_client_changes(client, cast):
    client.force_login(cast.ellen)

    body = client.get(
        reverse("billing:invoice_list"), {"status": "paid", "page": "2", "client": cast.walter.pk}
    ).content.decode()

    selector = re.search(r'<form method="get"[^>]*class="client-selector">.*?</form>', body, re.S)
    assert '<input type="hidden" name="status" value="paid">' in selector.group(0)
    assert 'name="page"' not in selector.group(0)


FRAME_PAGES = ("scheduling:calendar", "scheduling:feed_settings", "portal:choose_client")


@pytest.mark.parametrize("who", ["client", "contact_ellen", "payer", "community"])
def test_it_asks_the_database_nothing_twice_per_page(client, cast, who):
    # The frame, the view and the audit all ask who the login sees: answered once.
    client.force_login(cast.portal_users[who])
    for name in FRAME_PAGES:
        client.get(reverse(name))  # the session's first write is not the page's
        with CaptureQueriesContext(connection) as page:
            assert client.get(reverse(name)).status_code == 200
        statements = [
            q["sql"]
            for q in page.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
        ]
        assert len(statements) == len(set(statements)), name


@pytest.mark.parametrize("who", ["client", "contact_tom"])
def test_it_keeps_the_frame_of_a_client_or_contact_to_three_reads(client, cast, who):
    # Session, login with its agency, and the login's relationships: nothing grows with
    # the data.
    client.force_login(cast.portal_users[who])
    client.get(reverse("portal:choose_client"))
    with CaptureQueriesContext(connection) as page:
        client.get(reverse("portal:choose_client"), {"q": "zz"})

    # PostgreSQL's UNION puts each part in parentheses.
    reads = [
        q["sql"].lstrip("(")
        for q in page.captured_queries
        if q["sql"].lstrip("(").startswith("SELECT")
    ]
    tables = [sql.split(" FROM ", 1)[1].split()[0].strip('"') for sql in reads]
    assert tables[:3] == [
        "django_session",
        "accounts_user",  # joined with agencies_agency
        "people_client",  # the UNION of the link tables
    ]
    assert '"agencies_agency"' in reads[1]
    # Then the chooser's own search, and nothing else: no second access query.
    assert len(reads) == 4
    assert "LIMIT 26" in reads[3]


def _csrf_tokens(body: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body))


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_shows_the_session_warning_with_the_pages_own_token(client, cast, language):
    client.force_login(cast.tom)

    body = client.get(DASHBOARD, headers={"accept-language": language}).content.decode()

    # The warning, rendered once per language, reads as its template renders it for this
    # request: this page's token in its "Stay signed in" form, the words in the language.
    (token,) = _csrf_tokens(body)
    with translation.override(language):
        warning = render_to_string("accounts/_session_warning.html", {"csrf_token": token})
    assert warning in body
    assert ("¿Sigue ahí?" if language == "es" else "Are you still there?") in body


def test_it_gives_each_page_its_own_token_in_the_session_warning(client, cast):
    client.force_login(cast.tom)

    first = client.get(DASHBOARD).content.decode()
    second = client.get(DASHBOARD).content.decode()

    assert len(_csrf_tokens(first)) == len(_csrf_tokens(second)) == 1
    assert "csrf-token-of-the-request" not in first


@pytest.mark.parametrize(
    ("language", "options"),
    [
        (
            "en",
            '<option value="en" lang="en" selected>English</option>'
            '<option value="es" lang="es">Español</option>',
        ),
        (
            "es",
            '<option value="en" lang="en">English</option>'
            '<option value="es" lang="es" selected>Español</option>',
        ),
    ],
)
def test_it_offers_each_language_by_its_own_name_the_current_one_selected(
    client, cast, language, options
):
    for user in (cast.paula, None):
        if user:
            client.force_login(user)
        else:
            client.logout()
        page = reverse("portal:dashboard") if user else reverse("accounts:login")

        body = client.get(page, headers={"accept-language": language}).content.decode()

        assert '<select id="language-select" name="language">' in body
        assert options in body


@pytest.fixture
def kept_frame(settings):
    # As in production (DEBUG off): the frame's parts are rendered once and kept. A cache
    # of this test's own, so that nothing another test rendered is found in it.
    settings.CACHES = {
        **settings.CACHES,
        "template_fragments": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"frame-of-{uuid.uuid4()}",
        },
    }


def _current_tab(body: str) -> str:
    return re.search(r'<a href="([^"]+)" aria-current="page">', _nav(body)).group(1)


def test_it_marks_each_pages_own_tab_with_the_frame_kept(client, cast, kept_frame):
    client.force_login(cast.margaret.user)

    for name in ("portal:dashboard", "billing:invoice_list", "scheduling:calendar"):
        body = client.get(reverse(name)).content.decode()
        assert _current_tab(body) == reverse(name)
    compose = client.get(reverse("messaging:compose")).content.decode()
    assert 'class="icon-link is-current"' in compose
    assert "aria-current" not in _nav(compose)


def test_it_offers_the_care_plan_tab_to_the_client_alone_with_the_frame_kept(
    client, cast, kept_frame
):
    for user, has_tab in ((cast.margaret.user, True), (cast.tom, False), (cast.paula, False)):
        client.force_login(user)
        nav = _nav(client.get(DASHBOARD).content.decode())
        assert ("Care Plan" in nav) is has_tab, user.username
        assert ("My privacy" in nav) is has_tab, user.username


def test_it_shows_the_agencys_new_name_at_once_with_the_frame_kept(client, cast, kept_frame):
    client.force_login(cast.tom)
    assert (
        '<span class="agency-name">Sunrise Home Care</span>'
        in client.get(DASHBOARD).content.decode()
    )
    agency = cast.tom.agency
    agency.name = "Sunrise Care & Company"
    agency.save(update_fields=["name"])

    body = client.get(DASHBOARD).content.decode()

    assert '<span class="agency-name">Sunrise Care &amp; Company</span>' in body
    assert "<title>Dashboard · Sunrise Care &amp; Company</title>" in body


def test_it_shows_the_frame_in_each_persons_language_with_the_frame_kept(client, cast, kept_frame):
    client.force_login(cast.tom)
    english = client.get(DASHBOARD, headers={"accept-language": "en"}).content.decode()
    spanish = client.get(DASHBOARD, headers={"accept-language": "es"}).content.decode()
    again = client.get(DASHBOARD, headers={"accept-language": "en"}).content.decode()

    assert "Invoices" in _nav(english) and "Invoices" in _nav(again)
    assert "Facturas" in _nav(spanish) and "Invoices" not in _nav(spanish)
    assert "Ir al contenido principal" in spanish
    assert "Skip to main content" in again


def _without_tokens(body: str) -> str:
    # Each page has a token of its own (the CSRF token, in forms and in htmx's headers).
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", body)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "TOKEN", body)


def test_it_gives_every_login_the_same_pages_with_the_frame_kept(client, cast, settings):
    # Each login walks its pages as rendered afresh, then with the frame's parts kept:
    # what they get is the same, whoever walked before them. (Not My privacy: the walk
    # itself adds to what it lists.)
    invoice = make_invoice(cast.margaret)
    pages = [
        reverse(name)
        for name in (
            "portal:dashboard",
            "billing:invoice_list",
            "scheduling:calendar",
            "careplans:care_plan",
            "messaging:compose",
            "messaging:sent",
            "accounts:settings",
        )
    ] + [reverse("billing:invoice_detail", args=[invoice.number])]
    logins = ("client", "contact_tom", "contact_ellen", "payer", "community")
    fresh: dict[tuple[str, str], tuple[int, str]] = {}
    for who in logins:
        client.force_login(cast.portal_users[who])
        for page in pages:
            response = client.get(page)
            fresh[who, page] = (response.status_code, _without_tokens(response.content.decode()))
    settings.CACHES = {
        **settings.CACHES,
        "template_fragments": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"frame-of-{uuid.uuid4()}",
        },
    }
    for _round in range(2):
        for who in logins:
            client.force_login(cast.portal_users[who])
            for page in pages:
                response = client.get(page)
                kept = (response.status_code, _without_tokens(response.content.decode()))
                assert kept == fresh[who, page], (who, page)
