"""Records the journeys need in the server's database, made with `careportal.builders`.

A journey never calls the ORM itself (Playwright's sync API keeps an event loop in the main
thread, where Django refuses it); it names one of these functions and its arguments, and
the journey server runs it in its own database (`tests/journeys/run_record.py`):

    care = journey_server.record("give_care", email="iris@mail.example")

Each takes and returns JSON values only. Every journey makes people of its own (named by a
tag), so journeys never disturb each other or the cast that other tests sign in as.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.contrib.sessions.backends.db import SessionStore
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from careportal.accounts import sessions
from careportal.accounts.models import User
from careportal.accounts.security import set_security_answer
from careportal.agencies.management.commands.seed_demo import (
    DEMO_TOTP_KEY,
    ensure_demo_totp_device,
)
from careportal.agencies.models import Agency, StaffRole
from careportal.billing.models import Invoice
from careportal.builders import (
    make_caregiver,
    make_invoice,
    make_login,
    make_plan,
    make_staff,
    make_visit,
)
from careportal.invitations.models import Invitation
from careportal.people.models import (
    Client,
    ClientPayer,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Relationship,
    Residence,
)
from careportal.people.services import save_party
from careportal.scheduling.models import Caregiver
from tests.cast import PASSWORD


def _sunrise() -> Agency:
    return Agency.objects.get(name="Sunrise Home Care")


def _caregiver(agency: Agency) -> Caregiver:
    """Return the agency's Carla Giver (the cast's caregiver), made if it has none."""
    found = Caregiver.objects.filter(agency=agency, first_name="Carla", last_name="Giver")
    return found.first() or make_caregiver(agency, "Carla", "Giver")


def _local_noon(agency: Agency) -> datetime.datetime:
    """Return noon today in the agency's zone: in this month's and this week's calendar."""
    today = timezone.localdate(timezone=agency.tz)
    return datetime.datetime.combine(today, datetime.time(12), tzinfo=agency.tz)


def _invoice(client: Client, number: str, bill_to: Payer | Community | None = None) -> Invoice:
    return make_invoice(client, bill_to=bill_to, number=number, caregiver=_caregiver(client.agency))


def _visit(client: Client, service: str) -> None:
    make_visit(client, _caregiver(client.agency), _local_noon(client.agency), service=service)


def staff_with_demo_key(username: str) -> dict[str, str]:
    """Make an administrator of Sunrise with the demo TOTP key (accounts.twofactor)."""
    user = make_staff(_sunrise(), username, StaffRole.ADMINISTRATOR, password=PASSWORD)
    ensure_demo_totp_device(user)
    return {"username": user.username, "key": DEMO_TOTP_KEY}


def give_care(email: str) -> dict[str, Any]:
    """Give the client with this email an issued invoice, an active service plan and a visit."""
    client = Client.objects.get(email=email)
    invoice = _invoice(client, f"J-{client.pk}-1")
    plan = make_plan(client, title=f"Care at home for {client.first_name}")
    _visit(client, "Bathing")
    return {"invoice": invoice.number, "plan": plan.title, "client": client.full_name}


def invite_client(first_name: str, last_name: str, email: str, language: str = "") -> None:
    """Make a client of Sunrise as staff do (people.services.save_party): her login is
    made and her invitation queued, in `language` when given."""
    with transaction.atomic():
        client = Client(first_name=first_name, last_name=last_name, email=email)
        save_party(party=client, agency=_sunrise())
        if language:
            # In the same transaction, so the worker sends the invitation in her language.
            client.refresh_from_db()
            user = client.user
            assert user is not None, "a client saved with an email gets a login"
            user.language = language
            user.save(update_fields=["language"])


def invited_client(first_name: str, last_name: str, email: str) -> dict[str, Any]:
    """Make a client of Sunrise with an email (its invitation queued), then give_care."""
    invite_client(first_name, last_name, email)
    return give_care(email)


def expire_invitation(email: str) -> str:
    """Let the latest invitation to `email` expire yesterday; return its link's token."""
    invitation = Invitation.objects.filter(email=email).latest("pk")
    invitation.expires_at = timezone.now() - datetime.timedelta(days=1)
    invitation.save(update_fields=["expires_at"])
    return invitation.token


def family(tag: str) -> dict[str, Any]:
    """Make a little world of its own for the non-client roles, and invite its people.

    Two clients (with an invoice each, a service plan each, a visit each), an emergency
    contact of the first, a payer of both and a community where both live, each with one
    person who uses the portal and whose invitation is queued. Returns the emails and what
    each role must and must not see.
    """
    agency = _sunrise()
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
        _visit(client, f"Visit for {first}")
        clients.append(client)
    alma, bruno = clients
    invoices = {
        "contact": _invoice(alma, f"{tag.upper()}-C-1").number,
        "payer": _invoice(alma, f"{tag.upper()}-P-1", bill_to=payer).number,
        "community": _invoice(bruno, f"{tag.upper()}-M-1", bill_to=community).number,
    }
    people: dict[str, EmergencyContact | PayerPerson | CommunityPerson] = {
        "contact": EmergencyContact(
            client=alma,
            name=f"Dora {name}",
            relationship=Relationship.DAUGHTER,
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


def _client_login(username: str) -> tuple[Client, User]:
    """Make a client of Sunrise, named by `username` (first.last), with the cast's password."""
    first, _, last = username.partition(".")
    user = make_login(
        _sunrise(),
        username,
        password=PASSWORD,
        first_name=first.capitalize(),
        last_name=last.title(),
    )
    client = Client.objects.create(
        agency=user.agency,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        user=user,
    )
    return client, user


def login(
    username: str, *, question: str = "", answer: str = "", invoices: int = 0
) -> dict[str, Any]:
    """Make a client of Sunrise with a known password (tests.cast.PASSWORD).

    With `question` and `answer`, the login has that security question; with `invoices`,
    that many issued invoices billed to the client (none and no visits by default: the
    empty lists).
    """
    client, user = _client_login(username)
    if question:
        set_security_answer(user, question, answer)
        user.save()
    numbers = [_invoice(client, f"{username.upper()}-{i}").number for i in range(invoices)]
    return {
        "username": user.username,
        "email": user.email,
        "password": PASSWORD,
        "invoices": numbers,
    }


def client_and_son(tag: str) -> dict[str, Any]:
    """Make a client of Sunrise and her son, her emergency contact, both with logins of the
    cast's password, and give her care (give_care). For My privacy's journey."""
    mother, mother_login = _client_login(f"priya.{tag}")
    son = make_login(
        mother.agency, f"sol.{tag}", password=PASSWORD, first_name="Sol", last_name=tag.title()
    )
    EmergencyContact.objects.create(
        agency=mother.agency,
        client=mother,
        name=son.get_full_name(),
        relationship=Relationship.SON,
        email=son.email,
        user=son,
    )
    care = give_care(mother.email)
    return {**care, "mother": mother_login.username, "son": son.username}


def queue_email(to: str, subject: str, body: str) -> None:
    """Queue an email as the product does (Django's send_mail through the outbox)."""
    send_mail(subject, body, None, [to])


def import_waiting_for_the_worker(username: str, file_name: str, text: str) -> int:
    """Check a clients' file as `username` did and leave its import queued, as "Import all"
    does, but with no task for the worker: `run_import_now` runs it when the journey says.
    Return the import's id."""
    from careportal.imports.models import ClientImport, ImportState
    from careportal.imports.services import preview_client_import

    staff = User.objects.get(username=username)
    client_import = preview_client_import(
        agency=staff.staff_membership.agency, data=text.encode(), file_name=file_name, actor=staff
    )
    ClientImport.objects.filter(pk=client_import.pk, state=ImportState.READY).update(
        state=ImportState.QUEUED
    )
    return client_import.pk


def run_import_now(import_id: int) -> str:
    """Run a queued import here, as the worker's task would; return its final state."""
    from careportal.imports.services import run_import

    return run_import(import_id)


def age_session(session_key: str, *, seconds_left: int) -> dict[str, int]:
    """Move the session's last activity back so that it has `seconds_left` before it ends.

    The same as the person having been idle that long: what the idle warning reacts to.
    """
    store = SessionStore(session_key=session_key)
    user = User.objects.get(pk=store["_auth_user_id"])
    store[sessions.LAST_ACTIVITY] = int(time.time()) - sessions.idle_seconds(user) + seconds_left
    store.save()
    return {"idle_seconds": sessions.idle_seconds(user)}
