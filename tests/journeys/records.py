"""Records the journeys need in the server's database, made inside a `manage.py shell`.

A journey never calls the ORM itself (Playwright's sync API keeps an event loop in the main
thread, where Django refuses it); it runs these functions in the server's database instead:

    journey_server.manage("shell", "-c", records.call("give_care", email="iris@mail.example"))

Each function prints one line `RECORDS <json>` that `records.result(output)` reads back. Every
journey makes people of its own (named by a tag), so journeys never disturb each other or the
cast that other tests sign in as.
"""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

PREFIX = "RECORDS "


def call(function: str, **kwargs: Any) -> str:
    """Return the shell code that runs `function(**kwargs)` of this module."""
    return (
        f"from tests.journeys import records; "
        f"records.report(records.{function}(**{json.dumps(kwargs)!s}))"
    )


def report(value: Any) -> None:
    print(PREFIX + json.dumps(value), flush=True)


def result(output: str) -> Any:
    """Return what the function printed with `report`, from the shell's output."""
    line = next(line for line in reversed(output.splitlines()) if line.startswith(PREFIX))
    return json.loads(line[len(PREFIX) :])


def _sunrise() -> Any:
    from careportal.agencies.models import Agency

    return Agency.objects.get(name="Sunrise Home Care")


def _caregiver(agency: Any) -> Any:
    from careportal.scheduling.models import Caregiver

    return Caregiver.objects.get_or_create(agency=agency, first_name="Carla", last_name="Giver")[0]


def _local_noon(agency: Any) -> datetime.datetime:
    """Return noon today in the agency's zone: in this month's and this week's calendar."""
    from django.utils import timezone

    today = timezone.localdate(timezone=agency.tz)
    return datetime.datetime.combine(today, datetime.time(12), tzinfo=agency.tz)


def _invoice(client: Any, number: str, bill_to: Any = None) -> Any:
    from careportal.testing import make_invoice

    return make_invoice(client, bill_to=bill_to, number=number, caregiver=_caregiver(client.agency))


def staff_with_demo_key(username: str) -> dict[str, str]:
    """Make an administrator of Sunrise with the demo TOTP key (accounts.twofactor)."""
    from careportal.agencies.management.commands.seed_demo import (
        DEMO_TOTP_KEY,
        ensure_demo_totp_device,
    )
    from careportal.agencies.models import StaffRole
    from careportal.testing import make_staff

    user = make_staff(_sunrise(), username, StaffRole.ADMINISTRATOR)
    ensure_demo_totp_device(user)
    return {"username": user.username, "key": DEMO_TOTP_KEY}


def give_care(email: str) -> dict[str, Any]:
    """Give the client with this email an issued invoice, an active service plan and a visit."""
    from careportal.people.models import Client
    from careportal.testing import make_plan, make_visit

    client = Client.objects.get(email=email)
    invoice = _invoice(client, f"J-{client.pk}-1")
    plan = make_plan(client, title=f"Care at home for {client.first_name}")
    make_visit(client, _caregiver(client.agency), _local_noon(client.agency), service="Bathing")
    return {"invoice": invoice.number, "plan": plan.title, "client": client.full_name}


def invited_client(first_name: str, last_name: str, email: str) -> dict[str, Any]:
    """Make a client of Sunrise with an email (its invitation queued), then give_care."""
    from careportal.people.models import Client
    from careportal.people.services import save_party

    client = Client(first_name=first_name, last_name=last_name, email=email)
    save_party(party=client, agency=_sunrise())
    return give_care(email)


def family(tag: str) -> dict[str, Any]:
    """Make a little world of its own for the non-client roles, and invite its people.

    Two clients (with an invoice each, a service plan each, a visit each), an emergency
    contact of the first, a payer of both and a community where both live, each with one
    person who uses the portal and whose invitation is queued. Returns the emails and what
    each role must and must not see.
    """
    from careportal.people.models import (
        Client,
        ClientPayer,
        Community,
        CommunityPerson,
        EmergencyContact,
        Payer,
        PayerPerson,
        Residence,
    )
    from careportal.people.services import save_party
    from careportal.testing import make_plan, make_visit

    agency = _sunrise()
    caregiver = _caregiver(agency)
    name = tag.capitalize()
    start = datetime.date.today() - datetime.timedelta(days=365)
    payer = Payer.objects.create(agency=agency, name=f"{name} Insurance", kind="ltc_insurer")
    community = Community.objects.create(agency=agency, name=f"{name} Gardens")
    clients = []
    for first in ("Alma", "Bruno"):
        client = Client.objects.create(agency=agency, first_name=first, last_name=name)
        ClientPayer.objects.create(agency=agency, client=client, payer=payer, start_date=start)
        Residence.objects.create(
            agency=agency, client=client, community=community, start_date=start
        )
        make_plan(client, title=f"Plan for {first}")
        make_visit(client, caregiver, _local_noon(agency), service=f"Visit for {first}")
        clients.append(client)
    alma, bruno = clients
    invoices = {
        "contact": _invoice(alma, f"{tag.upper()}-C-1").number,
        "payer": _invoice(alma, f"{tag.upper()}-P-1", bill_to=payer).number,
        "community": _invoice(bruno, f"{tag.upper()}-M-1", bill_to=community).number,
    }
    people = {
        "contact": EmergencyContact(
            client=alma,
            name=f"Dora {name}",
            relationship="daughter",
            email=f"dora.{tag}@mail.example",
        ),
        "payer": PayerPerson(payer=payer, name=f"Pia {name}", email=f"pia.{tag}@mail.example"),
        "community": CommunityPerson(
            community=community, name=f"Nell {name}", email=f"nell.{tag}@mail.example"
        ),
    }
    for person in people.values():
        save_party(party=person, agency=agency)
    both = [alma.full_name, bruno.full_name]
    return {
        role: {
            "email": person.email,
            "name": person.name,
            "invoice": invoices[role],
            "other_invoices": [n for r, n in invoices.items() if r != role],
            "clients": [alma.full_name] if role == "contact" else both,
        }
        for role, person in people.items()
    }


def login(username: str, *, question: str = "", answer: str = "", invoices: int = 0) -> dict:
    """Make a client of Sunrise with a known password (careportal.testing.PASSWORD).

    With `question` and `answer`, the login has that security question; with `invoices`,
    that many issued invoices billed to the client (none and no visits by default: the
    empty lists).
    """
    from careportal.accounts.security import set_security_answer
    from careportal.people.models import Client
    from careportal.testing import PASSWORD, make_login

    agency = _sunrise()
    first, _, last = username.partition(".")
    user = make_login(agency, username, first_name=first.capitalize(), last_name=last.title())
    if question:
        set_security_answer(user, question, answer)
        user.save()
    client = Client.objects.create(
        agency=agency,
        first_name=first.capitalize(),
        last_name=last.title(),
        email=user.email,
        user=user,
    )
    numbers = [_invoice(client, f"{username.upper()}-{i}").number for i in range(invoices)]
    return {
        "username": user.username,
        "email": user.email,
        "password": PASSWORD,
        "invoices": numbers,
    }


def age_session(session_key: str, *, seconds_left: int) -> dict[str, int]:
    """Move the session's last activity back so that it has `seconds_left` before it ends.

    The same as the person having been idle that long: what the idle warning reacts to.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from careportal.accounts import sessions

    store = SessionStore(session_key=session_key)
    user = get_user_model().objects.get(pk=store["_auth_user_id"])
    store[sessions.LAST_ACTIVITY] = int(time.time()) - sessions.idle_seconds(user) + seconds_left
    store.save()
    return {"idle_seconds": sessions.idle_seconds(user)}
