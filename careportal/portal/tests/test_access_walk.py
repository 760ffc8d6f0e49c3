"""The access walk: every portal URL, for every kind of visitor, has an expected answer.

The table EXPECTED names each portal URL pattern. A pattern added under a portal prefix
without a row here fails `test_it_has_an_expectation_for_every_portal_url`; a row for a
page another engineer has not built yet is simply not walked until the pattern exists.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.billing.models import Invoice
from careportal.builders import make_invoice, make_visit
from careportal.messaging.models import Message
from careportal.scheduling.models import Caregiver
from tests.cast import TINY_PNG, Cast

# The URL namespaces mounted at the portal's prefixes ("", invoices/, calendar/, ...),
# and the one accounts page that belongs to the portal's frame.
PORTAL_NAMESPACES = ("portal", "billing", "scheduling", "careplans", "messaging")
EXTRA_NAMES = ("accounts:settings",)

VISITORS = (
    "client",
    "contact_tom",
    "several",  # Ellen: contact of Margaret and Walter, and a person of the family trust payer
    "payer",
    "community",
    "stranger",
    "other_agency",
    "staff",  # the owner, signed in with two-factor as the back office requires
    "staff_unverified",  # the owner before the two-factor step
    "anonymous",
)
PORTAL_VISITORS = VISITORS[:7]

OK, NOT_FOUND, SIGN_IN, BACK_OFFICE = "200", "404", "sign in", "back office"
TWO_FACTOR = "two-factor sign-in"


def _every(answer: str, **overrides: str) -> dict[str, str]:
    return {visitor: overrides.get(visitor, answer) for visitor in VISITORS}


def _portal_page(**overrides: str) -> dict[str, str]:
    """A page every portal login has: 200, staff to the back office, others to sign in."""
    return {
        **dict.fromkeys(PORTAL_VISITORS, OK),
        "staff": BACK_OFFICE,
        "staff_unverified": TWO_FACTOR,
        "anonymous": SIGN_IN,
        **overrides,
    }


@dataclass
class Objects:
    margaret_invoice: Invoice  # billed to Margaret
    atlas_invoice: Invoice  # billed to the payer Atlas, for Margaret
    maple_invoice: Invoice  # billed to the community Maple Grove, for Rosa
    harbor_invoice: Invoice  # another agency's
    margaret_message: Message
    carla: Caregiver  # visits Margaret; Sunrise lets families see her photo
    harbor_caregiver: Caregiver  # visits Hank of Harbor; photo allowed too


# One row per URL name: (variant, kwargs builder, expected answer per visitor).
Row = list[tuple[str, Callable[[Objects], dict[str, Any]], dict[str, str]]]


def _no_kwargs(objects: Objects) -> dict[str, Any]:
    return {}


def _invoice_rows() -> Row:
    def number(attr: str) -> Callable[[Objects], dict[str, Any]]:
        return lambda objects: {"number": getattr(objects, attr).number}

    return [
        (
            "own invoice of the client",
            number("margaret_invoice"),
            _portal_page(
                payer=NOT_FOUND, community=NOT_FOUND, stranger=NOT_FOUND, other_agency=NOT_FOUND
            ),
        ),
        (
            "invoice billed to the payer",
            number("atlas_invoice"),
            _portal_page(
                client=NOT_FOUND,
                contact_tom=NOT_FOUND,
                several=NOT_FOUND,
                community=NOT_FOUND,
                stranger=NOT_FOUND,
                other_agency=NOT_FOUND,
            ),
        ),
        (
            "invoice billed to the community",
            number("maple_invoice"),
            _portal_page(
                client=NOT_FOUND,
                contact_tom=NOT_FOUND,
                several=NOT_FOUND,
                payer=NOT_FOUND,
                stranger=NOT_FOUND,
                other_agency=NOT_FOUND,
            ),
        ),
        (
            "another agency's invoice",
            number("harbor_invoice"),
            _portal_page(
                client=NOT_FOUND,
                contact_tom=NOT_FOUND,
                several=NOT_FOUND,
                payer=NOT_FOUND,
                community=NOT_FOUND,
                stranger=NOT_FOUND,
            ),
        ),
        (
            "no such invoice",
            lambda objects: {"number": "NO-SUCH-INVOICE"},
            _portal_page(**dict.fromkeys(PORTAL_VISITORS, NOT_FOUND)),
        ),
    ]


EXPECTED: dict[str, Row] = {
    "portal:dashboard": [("page", _no_kwargs, _portal_page())],
    # The client chooser lists only the login's own clients (see test_client_chooser).
    "portal:choose_client": [("page", _no_kwargs, _portal_page())],
    "billing:invoice_list": [("page", _no_kwargs, _portal_page())],
    "billing:invoice_detail": _invoice_rows(),
    "billing:invoice_pdf": _invoice_rows(),
    "scheduling:calendar": [("page", _no_kwargs, _portal_page())],
    "scheduling:feed_settings": [("page", _no_kwargs, _portal_page())],
    # The feed carries its own token and no session: an unknown token is 404 for everyone.
    "scheduling:feed": [
        (
            "unknown token",
            lambda objects: {"token": "not-a-real-token"},
            # The accounts middleware sends a half-signed-in staff login to finish first.
            _every(NOT_FOUND, staff_unverified=TWO_FACTOR),
        )
    ],
    # Only the client's own login has a care plan; Stan and Hank are clients themselves.
    "careplans:care_plan": [
        (
            "page",
            _no_kwargs,
            _portal_page(
                contact_tom=NOT_FOUND, several=NOT_FOUND, payer=NOT_FOUND, community=NOT_FOUND
            ),
        )
    ],
    "messaging:compose": [("page", _no_kwargs, _portal_page())],
    "messaging:sent": [("page", _no_kwargs, _portal_page())],
    "messaging:message_detail": [
        (
            "message the client sent",
            lambda objects: {"pk": objects.margaret_message.pk},
            _portal_page(
                contact_tom=NOT_FOUND,
                several=NOT_FOUND,
                payer=NOT_FOUND,
                community=NOT_FOUND,
                stranger=NOT_FOUND,
                other_agency=NOT_FOUND,
            ),
        )
    ],
    # Margaret's calendar is seen by herself, her contacts and her payer's person (Paula).
    "scheduling:caregiver_photo": [
        (
            "caregiver who visits the client",
            lambda objects: {"caregiver_id": objects.carla.pk},
            _portal_page(community=NOT_FOUND, stranger=NOT_FOUND, other_agency=NOT_FOUND),
        ),
        (
            "another agency's caregiver",
            lambda objects: {"caregiver_id": objects.harbor_caregiver.pk},
            _portal_page(
                client=NOT_FOUND,
                contact_tom=NOT_FOUND,
                several=NOT_FOUND,
                payer=NOT_FOUND,
                community=NOT_FOUND,
                stranger=NOT_FOUND,
            ),
        ),
    ],
    # Account settings serve staff too, once their two-factor sign-in is done.
    "accounts:settings": [("page", _no_kwargs, _portal_page(staff=OK))],
}


def _names(patterns: list, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            names |= _names(pattern.url_patterns, inner or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def portal_url_names() -> set[str]:
    """Return every named URL pattern under the portal's prefixes, read from the resolver."""
    every = _names(get_resolver().url_patterns)
    portal = {name for name in every if name.split(":")[0] in PORTAL_NAMESPACES}
    return portal | {name for name in EXTRA_NAMES if name in every}


def test_it_has_an_expectation_for_every_portal_url():
    names = portal_url_names()

    assert names - EXPECTED.keys() == set(), "add these URL names to the access walk"
    # The pages of this part of the portal exist, so the walk cannot pass by finding none.
    assert {"portal:dashboard", "billing:invoice_list", "billing:invoice_detail"} <= names


def _with_photo(caregiver: Caregiver, client: Any) -> Caregiver:
    caregiver.photo.save(f"{caregiver.first_name}.png", ContentFile(TINY_PNG), save=False)
    caregiver.show_photo_to_families = True
    caregiver.save()
    make_visit(client, caregiver, timezone.now() + datetime.timedelta(days=1))
    return caregiver


def _objects(cast: Cast) -> Objects:
    return Objects(
        margaret_invoice=make_invoice(cast.margaret),
        atlas_invoice=make_invoice(cast.margaret, bill_to=cast.atlas),
        maple_invoice=make_invoice(cast.rosa, bill_to=cast.maple),
        harbor_invoice=make_invoice(cast.hank),
        margaret_message=Message.objects.create(
            agency=cast.sunrise,
            sender=cast.margaret.user,
            sender_name="Margaret Hale",
            sender_email=cast.margaret.user.email,
            relationship="Client",
            subject="Tuesday",
            body="Could Carla come at ten?",
            recipient=cast.sunrise.owner_email,
        ),
        carla=_with_photo(cast.caregiver, cast.margaret),
        harbor_caregiver=_with_photo(cast.harbor_caregiver, cast.hank),
    )


def _visitor(cast: Cast, who: str):
    return {
        "client": cast.margaret.user,
        "contact_tom": cast.tom,
        "several": cast.ellen,
        "payer": cast.paula,
        "community": cast.nora,
        "stranger": cast.stan,
        "other_agency": cast.hank.user,
        "staff": cast.owner,
        "staff_unverified": cast.owner,
        "anonymous": None,
    }[who]


def _answer(response) -> str:
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith(reverse("accounts:login")):
            return SIGN_IN
        if location.startswith(reverse("backoffice:index")):
            return BACK_OFFICE
        try:
            if location.startswith(reverse("accounts:two_factor")):
                return TWO_FACTOR
        except NoReverseMatch:
            pass
        return f"redirect to {location}"
    return str(response.status_code)


@pytest.mark.parametrize("who", VISITORS)
def test_it_walks_every_portal_url(client, cast, who, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the caregivers' photos
    objects = _objects(cast)
    user = _visitor(cast, who)
    if user is not None:
        client.force_login(user)
    if who == "staff":
        device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    names = portal_url_names()
    walked = 0
    wrong = []
    for name, rows in sorted(EXPECTED.items()):
        if name not in names:
            continue  # built by another engineer, not in this tree yet
        for variant, kwargs, expected in rows:
            url = reverse(name, kwargs=kwargs(objects))
            response = client.get(url)
            walked += 1
            answer = _answer(response)
            if answer != expected[who]:
                wrong.append(f"{name} ({variant}) {url}: {answer}, not {expected[who]}")
            elif answer == OK and "no-store" not in response.get("Cache-Control", ""):
                wrong.append(f"{name} ({variant}) {url}: not marked no-store")

    assert wrong == []
    assert walked >= 4
