"""Load the demo agencies, so that a newcomer can sign in as every role at once.

Development only: refuses to run when DEBUG is off. Running it again adds nothing: the
demo agency is written in one transaction, and skipped when it exists already. Every run
issues Nina Newman's invitation afresh (the earlier one dies) and prints its link and
one-time password, so the first sign-in can always be tried.
"""

from __future__ import annotations

import base64
import datetime
from binascii import unhexlify
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from careportal.accounts.lockout import clear_failures
from careportal.accounts.models import User, UserKind
from careportal.accounts.sessions import end_sessions
from careportal.agencies.models import Agency, StaffRole
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.billing.models import Invoice, InvoiceStatus
from careportal.builders import (
    make_agency,
    make_caregiver,
    make_invoice,
    make_plan,
    make_staff,
    new_visit,
    set_up_login,
)
from careportal.careplans.models import PlanStatus, ServicePlan
from careportal.invitations.models import Invitation
from careportal.invitations.outbox import send_invitation
from careportal.invitations.services import queue_invitation, setup_url_for
from careportal.messaging.models import Message
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
from careportal.scheduling.models import Caregiver, Visit, VisitStatus

DEMO_PASSWORD = "Demo-portal-2026!"
SUNRISE = "Sunrise Home Care"
HARBOR = "Harbor Care"
NEW_CLIENT_EMAIL = "nina.newman@example.com"

# (role, username, what they show), printed at the end and listed in the README.
SIGN_INS = [
    ("Owner (back office)", "demo.owner", "Sunrise: everything, agency settings, audit"),
    ("Administrator (back office)", "demo.admin", "Sunrise: all but agency settings"),
    ("Scheduler (back office)", "demo.scheduler", "Sunrise: visits, caregivers, plans"),
    ("Billing (back office)", "demo.billing", "Sunrise: invoices and payments"),
    ("Client", "margaret.hale", "Margaret: her visits, invoices, service plans"),
    ("Client", "walter.hale", "Walter, Margaret's husband"),
    ("Emergency contact", "tom.hale", "Tom, Margaret's son"),
    ("Contact and payer", "ellen.hale", "Ellen: contact of both parents, pays via the trust"),
    ("Payer", "paula.price", "Evergreen Long-Term Care: three clients"),
    ("Community", "nora.nurse", "Maple Grove: four residents"),
    ("Owner, other agency", "harbor.owner", "Harbor Care: sees nothing of Sunrise"),
    ("Client, other agency", "hank.harbor", "Harbor Care's client"),
]

# Demo staff get this TOTP key, so a newcomer can enter the back office. In an
# authenticator app, add it by hand as DEMO_TOTP_KEY_BASE32.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"
DEMO_TOTP_KEY_BASE32 = base64.b32encode(unhexlify(DEMO_TOTP_KEY)).decode()
# The demo agency's integration API key, a known value for the README's examples; every
# area, read and write. Demo only: a real key is made by the owner and shown once.
DEMO_API_KEY = "cpk_demo-sunrise-integration-key-0123456789abcdef"


# A party the demo makes through the one door, given back as the kind it is.
_Party = TypeVar("_Party", Client, EmergencyContact, Payer, PayerPerson, Community, CommunityPerson)


def ensure_demo_totp_device(user: User, key_hex: str = DEMO_TOTP_KEY) -> TOTPDevice:
    """Give a demo login a confirmed device with a known key."""
    device, _ = TOTPDevice.objects.update_or_create(
        user=user, name="Demo authenticator", defaults={"key": key_hex, "confirmed": True}
    )
    return device


def issue_demo_invitation(*, client: Client) -> tuple[str, str | None]:
    """Issue the client's invitation afresh and send it now (development only).

    Every run of seed_demo calls this, so the onboarding can always be tried: a client who
    has set up her account is put back to the not-yet-signed-in state, and her earlier
    invitations are deleted (their one-time passwords die with them) so that re-running
    leaves one invitation, not one more each time. Return (link, one-time password), the
    password None if the email did not go.
    """
    if not settings.DEBUG:
        raise RuntimeError("Demo invitations are for development only.")
    with transaction.atomic():
        # Nina came in through the one door (people.services.save_party), with her login.
        user = client.user
        assert user is not None, f"{client} has no login"
        if not user.must_change_password or user.has_usable_password():
            _reset_demo_login(user)
        Invitation.objects.filter(user=user).delete()
        invitation = queue_invitation(user=user)
    otp = send_invitation(invitation)
    invitation.refresh_from_db()
    return setup_url_for(invitation, absolute=True), otp


def _reset_demo_login(user: User) -> None:
    """Put a demo login back to the state before its first sign-in (development only)."""
    user.must_change_password = True
    user.set_unusable_password()
    user.password_changed_at = None
    user.security_question = ""
    user.security_answer_hash = ""
    user.is_active = True
    user.save()
    user.password_history.all().delete()
    user.password_resets.all().delete()
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    clear_failures(user)
    end_sessions(user)
    record(Action.PORTAL_ACCOUNT_DEMO_RESET, obj=user, agency=user.agency, login=user.username)


class Command(BaseCommand):
    help = "Load demo agencies with every role (development only; idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo is for development: it refuses to run when DEBUG is off.")
        if Agency.objects.filter(name=SUNRISE).exists():
            self.stdout.write("The demo data is there already: nothing added.")
        else:
            with transaction.atomic():
                Demo(make_agency(**SUNRISE_AGENCY)).sunrise()
                Demo(make_agency(**HARBOR_AGENCY)).harbor()
            self.stdout.write(self.style.SUCCESS("Demo agencies loaded."))
        totp_key = self._demo_two_factor()
        # Afresh on every run, so the first sign-in can always be tried.
        invitation = self._demo_invitation()
        self._print_sign_ins(totp_key, invitation)
        self._demo_api_key()

    def _demo_two_factor(self) -> str:
        for user in User.objects.filter(kind=UserKind.STAFF, username__in=_usernames()):
            ensure_demo_totp_device(user, DEMO_TOTP_KEY)
        return DEMO_TOTP_KEY_BASE32

    def _demo_api_key(self) -> None:
        """Give Sunrise the demo API key (once), and print it with a first call to try."""
        from careportal.api.models import ApiKey, Scope
        from careportal.api.services import create_api_key, hash_key

        if not ApiKey.objects.filter(hashed_key=hash_key(DEMO_API_KEY)).exists():
            create_api_key(
                agency=Agency.objects.get(name=SUNRISE),
                name="Demo integration",
                scopes=[scope.value for scope in Scope],
                key=DEMO_API_KEY,
            )
        self.stdout.write(f"Integration API key (Sunrise, every area): {DEMO_API_KEY}")
        self.stdout.write(
            f"  curl -H 'Authorization: Bearer {DEMO_API_KEY}' {settings.SITE_URL}/api/v1/clients"
        )
        self.stdout.write("")

    def _demo_invitation(self) -> tuple[str, str | None]:
        nina = Client.objects.get(agency__name=SUNRISE, email=NEW_CLIENT_EMAIL)
        return issue_demo_invitation(client=nina)

    def _print_sign_ins(self, totp_key: str, invitation: tuple[str, str | None]) -> None:
        write = self.stdout.write
        write("")
        write(f"Demo sign-ins (password for all: {DEMO_PASSWORD})")
        write(f"  {'role':<28} {'username':<16} shows")
        for role, username, shows in SIGN_INS:
            write(f"  {role:<28} {username:<16} {shows}")
        write(f"  Portal: {settings.SITE_URL}/   Back office: {settings.SITE_URL}/backoffice/")
        write(f"  Staff two-factor: authenticator key {totp_key} (TOTP, 6 digits, 30 s)")
        link, one_time_password = invitation
        write(f"  New client, not yet signed in (Nina Newman): {link}")
        write(f"    one-time password: {one_time_password}")
        write("")


def _usernames() -> list[str]:
    return [username for _role, username, _shows in SIGN_INS]


SUNRISE_AGENCY = {
    "name": SUNRISE,
    "owner_name": "Olivia Owens",
    "owner_email": "olivia.owens@sunrise.example",
    "phone": "+1 617 555 0100",
    "address": "12 Harbor Street\nBoston, MA 02110",
    "time_zone": "America/New_York",
    "payment_instructions": "Checks payable to Sunrise Home Care, 12 Harbor Street, Boston.",
}
HARBOR_AGENCY = {
    "name": HARBOR,
    "owner_name": "Harriet Harbor",
    "owner_email": "harriet@harbor.example",
    "phone": "+1 206 555 0199",
    "time_zone": "America/Los_Angeles",
}


class Demo:
    """Writes one agency's demo records; dates are relative to today in the agency's zone."""

    def __init__(self, agency: Agency) -> None:
        self.agency = agency
        self.tz = agency.tz
        self.today = timezone.localdate(timezone=self.tz)
        self.invoice_count = 0

    # Logins ---------------------------------------------------------------------------

    def staff(self, username: str, name: str, role: str) -> User:
        """Make a staff member with the demo password (portal logins come through the one
        door, `client` and `party`)."""
        email = f"{username.replace('.', '-')}@{self.agency.name.split()[0].lower()}.example"
        user = make_staff(
            self.agency, username, role, password=DEMO_PASSWORD, name=name, email=email
        )
        validate_password(DEMO_PASSWORD, user)
        return user

    def client(
        self, first: str, last: str, *, username: str | None = None, **fields: Any
    ) -> Client:
        """Make a client as staff do, through the one door; with `username`, her login is
        made by it too and then set up as after her first sign-in."""
        if username:
            fields["email"] = f"{username}@example.com"
        client = Client(first_name=first, last_name=last, **fields)
        save_party(party=client, agency=self.agency)
        if username:
            client.refresh_from_db()
            assert client.user is not None, "a client saved with an email gets a login"
            self.set_up(client.user, username)
        return client

    def party(self, party: _Party, *, username: str | None = None) -> _Party:
        """Make a contact, payer or community (and its people) through the one door."""
        save_party(party=party, agency=self.agency)
        if username:
            self.set_up(User.objects.get(agency=self.agency, username=username), username)
        return party

    def set_up(self, user: User, username: str) -> None:
        """Give a demo login the demo password, as after its first sign-in (its invitation
        is never sent), once it is sure to have the name the README lists."""
        if user.username != username:
            raise CommandError(
                f"The demo login {username!r} came out as {user.username!r}: is the name taken?"
            )
        set_up_login(user, password=DEMO_PASSWORD)

    # Care -----------------------------------------------------------------------------

    def caregivers(self, *names: str) -> list[Caregiver]:
        pairs = [name.split(" ", 1) for name in names]
        return [make_caregiver(self.agency, first, last) for first, last in pairs]

    def visits(
        self,
        client: Client,
        caregivers: list[Caregiver],
        *,
        weekdays: tuple[int, ...],
        at: datetime.time,
        hours: int,
        service: str,
    ) -> None:
        """Visits from three months back to two months ahead, in the agency's local time."""
        now = timezone.now()
        visits = []
        day = self.today - datetime.timedelta(days=91)
        number = 0
        while day <= self.today + datetime.timedelta(days=61):
            if day.weekday() in weekdays:
                start = datetime.datetime.combine(day, at, tzinfo=self.tz)
                end = start + datetime.timedelta(hours=hours)
                caregiver: Caregiver | None = caregivers[number % len(caregivers)]
                if end <= now:
                    status = (
                        VisitStatus.MISSED
                        if number % 17 == 5
                        else VisitStatus.CANCELLED
                        if number % 13 == 7
                        else VisitStatus.COMPLETED
                    )
                elif start <= now:
                    status = VisitStatus.IN_PROGRESS
                else:
                    status = VisitStatus.SCHEDULED
                    # A few future visits wait for a caregiver.
                    if number % 11 == 3:
                        caregiver = None
                visits.append(
                    new_visit(client, caregiver, start, hours=hours, status=status, service=service)
                )
                number += 1
            day += datetime.timedelta(days=1)
        # In one INSERT, not through scheduling.services.save_visit: a visit has no side
        # effect but its audit event, and saving the demo's hundreds of visits one by one
        # made seed_demo (and so `make run`) half as slow again.
        Visit.objects.bulk_create(visits)

    def plan(
        self,
        client: Client,
        title: str,
        *,
        status: str,
        start: datetime.date,
        end: datetime.date | None,
        hours: str,
        goals: list[str],
        tasks: list[tuple[str, str, str]],
    ) -> ServicePlan:
        # Through the one door, as the back office and the API save a plan.
        return make_plan(
            client,
            title=title,
            status=status,
            start=start,
            end=end,
            hours=hours,
            coordinator_name="Adam Alvarez",
            coordinator_phone="+1 617 555 0101",
            goals=goals,
            tasks=tasks,
            audited=True,
        )

    # Money ----------------------------------------------------------------------------

    def invoice(
        self,
        client: Client,
        bill_to: Client | Payer | Community,
        *,
        months_ago: int,
        status: str = InvoiceStatus.ISSUED,
        due_in_days: int | None = None,
        paid: str | None = None,
        caregiver: Caregiver | None = None,
        rate: str = "32.50",
    ) -> Invoice:
        """An invoice for a month of care, with a line a week and optional payment."""
        first = (self.today.replace(day=1) - datetime.timedelta(days=27 * months_ago)).replace(
            day=1
        )
        last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        issue = min(last + datetime.timedelta(days=1), self.today)
        due = (
            self.today + datetime.timedelta(days=due_in_days)
            if due_in_days is not None
            else issue + datetime.timedelta(days=30)
        )
        self.invoice_count += 1
        # Through the one door, as the back office and the API make an invoice: a draft
        # with its lines, then issued or voided, then paid.
        return make_invoice(
            client,
            bill_to=bill_to,
            status=status,
            number=f"{self.agency.name[:3].upper()}-{first:%Y}-{self.invoice_count:04d}",
            period=(first, last),
            issue_date=issue,
            due_date=due,
            line_dates=[first + datetime.timedelta(days=7 * week + 2) for week in range(4)],
            hours="6.00",
            rate=rate,
            caregiver=caregiver,
            paid="all" if paid == "all" else Decimal(paid) if paid else None,
            paid_on=min(issue + datetime.timedelta(days=10), self.today),
            reference=f"CHQ {1000 + self.invoice_count}",
            audited=True,
        )

    # The agencies -----------------------------------------------------------------------

    def sunrise(self) -> None:
        self.staff("demo.owner", "Olivia Owens", StaffRole.OWNER)
        self.staff("demo.admin", "Adam Alvarez", StaffRole.ADMINISTRATOR)
        self.staff("demo.scheduler", "Sue Sato", StaffRole.SCHEDULER)
        self.staff("demo.billing", "Bill Brooks", StaffRole.BILLING)
        carla, dev, grace, luis = self.caregivers(
            "Carla Gomez", "Dev Patel", "Grace Kim", "Luis Romero"
        )

        margaret = self.client(
            "Margaret",
            "Hale",
            username="margaret.hale",
            preferred_name="Maggie",
            date_of_birth=datetime.date(1941, 3, 14),
            phone="+1 617 555 0142",
            address="8 Elm Street\nBoston, MA 02116",
        )
        walter = self.client(
            "Walter",
            "Hale",
            username="walter.hale",
            date_of_birth=datetime.date(1938, 9, 2),
            address="8 Elm Street\nBoston, MA 02116",
        )
        # Ellen: contact of both parents and the person who pays through the family trust.
        # Her one login stands for all three relationships (the one door links them).
        for parent in (margaret, walter):
            self.party(
                EmergencyContact(
                    client=parent,
                    name="Ellen Hale",
                    relationship=Relationship.DAUGHTER,
                    email="ellen.hale@example.com",
                    phone="+1 617 555 0150",
                ),
                username="ellen.hale",
            )
        self.party(
            EmergencyContact(
                client=margaret,
                name="Tom Hale",
                relationship=Relationship.SON,
                email="tom.hale@example.com",
            ),
            username="tom.hale",
        )
        trust = self.party(
            Payer(
                name="Hale Family Trust",
                kind="family",
                contact_person="Ellen Hale",
                email="ellen.hale@example.com",
            ),
            username="ellen.hale",
        )
        year_ago = self.today - datetime.timedelta(days=365)
        for parent in (margaret, walter):
            ClientPayer.objects.create(
                agency=self.agency, client=parent, payer=trust, start_date=year_ago
            )

        rosa = self.client("Rosa", "Diaz", date_of_birth=datetime.date(1935, 6, 30))
        sam = self.client("Sam", "Lee", date_of_birth=datetime.date(1940, 1, 9))
        ada = self.client("Ada", "King", date_of_birth=datetime.date(1937, 11, 21))
        ben = self.client("Ben", "Ortiz", date_of_birth=datetime.date(1944, 4, 4))
        george = self.client("George", "Park", date_of_birth=datetime.date(1939, 8, 15))
        # A client added with an email but never invited yet: seed_demo invites her.
        # The one client who has not signed in yet: made as staff make a client, through the
        # one door, so her login and invitation are the real thing.
        save_party(
            party=Client(first_name="Nina", last_name="Newman", email=NEW_CLIENT_EMAIL),
            agency=self.agency,
        )

        evergreen = self.party(
            Payer(
                name="Evergreen Long-Term Care",
                kind="ltc_insurer",
                contact_person="Paula Price",
                email="paula.price@example.com",
                phone="+1 800 555 0123",
            ),
            username="paula.price",
        )
        for client in (rosa, sam, george):
            ClientPayer.objects.create(
                agency=self.agency, client=client, payer=evergreen, start_date=year_ago
            )

        maple = self.party(
            Community(
                name="Maple Grove Assisted Living",
                contact_person="Nora Nurse",
                email="nora.nurse@example.com",
                address="400 Maple Avenue\nNewton, MA 02458",
            ),
            username="nora.nurse",
        )
        for client in (rosa, sam, ada, ben):
            Residence.objects.create(
                agency=self.agency, client=client, community=maple, start_date=year_ago
            )

        self.visits(
            margaret,
            [carla, dev],
            weekdays=(0, 2, 4),
            at=datetime.time(9),
            hours=2,
            service="Personal care",
        )
        self.visits(
            walter, [grace], weekdays=(1, 3), at=datetime.time(14), hours=3, service="Companionship"
        )
        for client, weekday, caregiver in (
            (rosa, 0, luis),
            (sam, 1, luis),
            (ada, 2, grace),
            (ben, 3, dev),
            (george, 4, carla),
        ):
            self.visits(
                client,
                [caregiver],
                weekdays=(weekday,),
                at=datetime.time(10, 30),
                hours=2,
                service="Personal care",
            )

        self.plan(
            margaret,
            "Care at home after hip surgery",
            status=PlanStatus.ENDED,
            start=self.today - datetime.timedelta(days=300),
            end=self.today - datetime.timedelta(days=121),
            hours="12.00",
            goals=["Walk with a frame to the kitchen", "Bathe safely with help"],
            tasks=[
                ("bathing", "Three times a week", "Use the shower chair; check the wound."),
                ("transferring", "Every visit", "From bed to chair with the frame."),
            ],
        )
        self.plan(
            margaret,
            "Staying well at home",
            status=PlanStatus.ACTIVE,
            start=self.today - datetime.timedelta(days=120),
            end=None,
            hours="6.00",
            goals=["Stay safely at home", "Keep up her weekly bridge club"],
            tasks=[
                ("medication", "Every visit", "Morning pills from the blue organiser."),
                ("meals", "Monday, Wednesday, Friday", "A warm lunch; she likes soup."),
                ("companionship", "Every visit", "A walk around the block when dry."),
            ],
        )
        self.plan(
            walter,
            "Companionship and errands",
            status=PlanStatus.ACTIVE,
            start=self.today - datetime.timedelta(days=200),
            end=None,
            hours="6.00",
            goals=["Keep his doctor's appointments"],
            tasks=[("errands", "Tuesdays", "Drive to the pharmacy and the library.")],
        )

        # Margaret's own invoices, one in each state a reader can see.
        self.invoice(margaret, margaret, months_ago=5, paid="all", caregiver=carla)
        self.invoice(margaret, margaret, months_ago=4, status=InvoiceStatus.VOID, caregiver=dev)
        self.invoice(margaret, margaret, months_ago=3, due_in_days=-20, caregiver=carla)
        self.invoice(margaret, margaret, months_ago=2, due_in_days=12, paid="300.00")
        self.invoice(margaret, margaret, months_ago=1, due_in_days=25, caregiver=dev)
        self.invoice(margaret, margaret, months_ago=0, status=InvoiceStatus.DRAFT)
        # Walter's care is paid by the family trust.
        self.invoice(walter, trust, months_ago=2, paid="all", caregiver=grace)
        self.invoice(walter, trust, months_ago=1, due_in_days=20, caregiver=grace)
        # Evergreen pays for three clients; Maple Grove for its residents' extra care.
        self.invoice(rosa, evergreen, months_ago=2, paid="all", caregiver=luis, rate="29.00")
        self.invoice(sam, evergreen, months_ago=1, due_in_days=15, caregiver=luis, rate="29.00")
        self.invoice(george, evergreen, months_ago=1, due_in_days=-3, caregiver=carla)
        self.invoice(ada, maple, months_ago=1, due_in_days=18, caregiver=grace, paid="100.00")
        self.invoice(ben, maple, months_ago=2, due_in_days=-10, caregiver=dev)

        ellen = User.objects.get(agency=self.agency, username="ellen.hale")
        Message.objects.create(
            agency=self.agency,
            sender=ellen,
            sender_name="Ellen Hale",
            sender_email=ellen.email,
            relationship="Daughter of Margaret and Walter Hale",
            subject="Thursday's visit",
            body="Dear Olivia,\n\nCould Grace come an hour later on Thursday?\n\nEllen",
            recipient=self.agency.portal_message_email,
        )

    def harbor(self) -> None:
        self.staff("harbor.owner", "Harriet Harbor", StaffRole.OWNER)
        (henry,) = self.caregivers("Henry Holt")
        hank = self.client("Hank", "Harbor", username="hank.harbor")
        self.party(
            EmergencyContact(client=hank, name="Hazel Harbor", relationship=Relationship.SISTER)
        )
        self.visits(
            hank, [henry], weekdays=(0, 3), at=datetime.time(8), hours=2, service="Personal care"
        )
        self.plan(
            hank,
            "Morning routine",
            status=PlanStatus.ACTIVE,
            start=self.today - datetime.timedelta(days=60),
            end=None,
            hours="4.00",
            goals=["Dress and breakfast independently"],
            tasks=[("dressing", "Every visit", "Lay out clothes the night before.")],
        )
        self.invoice(hank, hank, months_ago=1, due_in_days=20, caregiver=henry, rate="35.00")
