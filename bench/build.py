"""The bench data set, written with PostgreSQL COPY into the project's own tables.

One agency at the scale CarePortal is designed for (5,000 clients, 10,000 emergency
contacts, 200 payers of which one has 2,000 clients and 47,900 invoices, 50 communities
of which one has 300 residents, 1,000,000 visits over two years centred on today,
120,000 invoices with 480,000 lines and 99,000 payments), and a small second agency so
that every tenant filter has rows to leave out.

Columns come from the models' `_meta`, so the builder follows the schema: a field it does
not know is filled with its default, or a plain value of its type when it is NOT NULL
without one. The data is reused between runs: a fingerprint of the migration graph, the
tables' columns and `BUILDER_VERSION` is kept in the bench database, and the database is
made again from nothing when the fingerprint changes or the data is a week old (it is
centred on the day it was built).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import psycopg.sql
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from careportal.accounts.models import User, UserKind
from careportal.accounts.security import normalise_answer
from careportal.agencies.models import Agency, StaffMembership, StaffRole
from careportal.billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    invoice_total_of,
    line_amount,
    to_cents,
)
from careportal.careplans.models import Goal, PlanStatus, PlanTask, ServicePlan
from careportal.messaging.models import Message
from careportal.people.models import (
    Client,
    ClientPayer,
    ClientStatus,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Residence,
)
from careportal.scheduling.models import Caregiver, Visit, VisitStatus

# Raise it whenever the data set changes shape: the next run builds again.
BUILDER_VERSION = 2
# Data centred on its build day drifts away from today; a week is near enough.
MAX_AGE_DAYS = 7
BENCH_PASSWORD = "Bench-portal-2026!"
SECURITY_QUESTION = "first_pet"
SECURITY_ANSWER = "Biscuit"
STATE_TABLE = "bench_build_state"

# The logins the benchmark measures, by role.
MEASURED = {
    "client": "bench.client",
    "contact": "bench.contact",
    "payer": "bench.payer",
    "community": "bench.community",
    "owner": "bench.owner",
}

# The tables the builder writes: their columns are part of the fingerprint.
WRITTEN_MODELS: tuple[type[models.Model], ...] = (
    User,
    Caregiver,
    Client,
    EmergencyContact,
    Payer,
    PayerPerson,
    ClientPayer,
    Community,
    CommunityPerson,
    Residence,
    Visit,
    ServicePlan,
    Goal,
    PlanTask,
    Invoice,
    InvoiceLine,
    Payment,
    Message,
)

FIRST_NAMES = [
    "Margaret",
    "Walter",
    "Rosa",
    "Samuel",
    "Ada",
    "Benjamin",
    "George",
    "Nina",
    "Harold",
    "Dorothy",
    "Frank",
    "Irene",
    "Arthur",
    "Edith",
    "Raymond",
    "Gloria",
    "Eugene",
    "Mildred",
    "Howard",
    "Lillian",
    "Albert",
    "Ruth",
    "Stanley",
    "Evelyn",
    "Clarence",
    "Hazel",
    "Leonard",
    "Beatrice",
    "Ernest",
    "Florence",
    "Chester",
    "Vivian",
    "Herbert",
    "Mabel",
    "Lloyd",
    "Opal",
    "Vernon",
    "Josephine",
    "Luis",
    "Mei",
    "Anand",
    "Fatima",
    "Kenji",
    "Olga",
    "Tomasz",
    "Amara",
    "Yusuf",
    "Ingrid",
]
LAST_NAMES = [
    "Hale",
    "Diaz",
    "Lee",
    "King",
    "Ortiz",
    "Park",
    "Newman",
    "Brooks",
    "Carter",
    "Nguyen",
    "Patel",
    "Kim",
    "Romero",
    "Schmidt",
    "Okafor",
    "Rossi",
    "Novak",
    "Silva",
    "Cohen",
    "Murphy",
    "Walsh",
    "Tanaka",
    "Haddad",
    "Larsen",
    "Moreau",
    "Alvarez",
    "Kowalski",
    "Bianchi",
    "Fischer",
    "Sato",
    "Mendes",
    "Quinn",
    "Baptiste",
    "Ivanova",
    "Herrera",
    "Lindqvist",
    "Adeyemi",
    "Fernandes",
    "Byrne",
    "Horvat",
]
SERVICES = ("Personal care", "Companionship", "Homemaking", "Respite care", "Medication reminders")
RELATIONSHIPS = ("daughter", "son", "niece", "nephew", "neighbor", "friend", "grandson")
ACTIVITIES = ("bathing", "dressing", "meals", "medication", "companionship", "errands")
PAYMENT_METHODS = ("Check", "Bank transfer", "Card")


class BuildError(Exception):
    """The bench data could not be built; the message says why."""


@dataclass(frozen=True)
class Scale:
    """How big one agency's data set is; the default is the design's scale."""

    clients: int = 5_000
    caregivers: int = 300
    payers: int = 200
    big_payer_clients: int = 2_000
    # Invoices of the big payer's clients billed to the clients themselves (their first
    # month, before the payer took over): 2,000 x 24 - 100 = 47,900 billed to the payer.
    big_payer_own_bills: int = 100
    communities: int = 50
    big_community_residents: int = 300
    residents_per_community: int = 30
    visits_per_client: int = 200
    visit_days: int = 730
    invoice_months: int = 24
    lines_per_invoice: int = 4
    payments: int = 99_000
    messages: int = 1_000


HARBOR_SCALE = Scale(
    clients=60,
    caregivers=20,
    payers=3,
    big_payer_clients=20,
    big_payer_own_bills=0,
    communities=2,
    big_community_residents=10,
    residents_per_community=10,
    visits_per_client=200,
    invoice_months=24,
    payments=1_100,
    messages=20,
)


# Fingerprint and state ---------------------------------------------------------------


def fingerprint() -> str:
    """Return a hash of the migration graph, the written tables' columns and the version."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    graph = sorted(
        (f"{app}.{name}", sorted(f"{a}.{n}" for a, n in migration.dependencies))
        for (app, name), migration in loader.disk_migrations.items()
    )
    columns = {
        model._meta.db_table: [f.column for f in model._meta.concrete_fields]
        for model in (Agency, *WRITTEN_MODELS)
    }
    payload = json.dumps(
        {"version": BUILDER_VERSION, "graph": graph, "columns": columns}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class BuildState:
    """What the bench database says about its data: when and how it was built."""

    fingerprint: str
    built_at: datetime.datetime
    seconds: float


def read_state(conninfo: dict[str, Any]) -> BuildState | None:
    """Return the stored build state of the bench database, or None without one."""
    try:
        with psycopg.connect(**conninfo, connect_timeout=5) as conn:
            row = conn.execute(
                f"SELECT fingerprint, built_at, seconds FROM {STATE_TABLE}"  # noqa: S608
            ).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return None
    return BuildState(*row) if row else None


def is_current(state: BuildState | None, now: datetime.datetime | None = None) -> bool:
    """Return whether stored data may be reused: same fingerprint, and built this week."""
    if state is None or state.fingerprint != fingerprint():
        return False
    now = now or timezone.now()
    return now - state.built_at < datetime.timedelta(days=MAX_AGE_DAYS)


def recreate_database(conninfo: dict[str, Any]) -> None:
    """Create the bench database if it is missing, and empty it.

    Emptying drops its schema rather than the database: DROP DATABASE waits for every
    backend of the server, and one stuck elsewhere would hold the benchmark up.
    """
    server = {**conninfo, "dbname": "postgres"}
    with psycopg.connect(**server, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [conninfo["dbname"]]
        ).fetchone()
        if not exists:
            name = psycopg.sql.Identifier(conninfo["dbname"])
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(name))
    with psycopg.connect(**conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def ensure_built(conninfo: dict[str, Any], *, log: Callable[[str], None] = print) -> BuildState:
    """Reuse the bench data if it is current, else build it from an empty database."""
    state = read_state(conninfo)
    if is_current(state):
        assert state is not None
        log(f"Reusing the bench data built {state.built_at:%Y-%m-%d %H:%M} UTC.")
        return state
    log("Building the bench data (the schema or the builder changed, or it is a week old).")
    connection.close()
    recreate_database(conninfo)
    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    log(f"  migrated in {time.monotonic() - started:.0f} s")
    build(log=log)
    seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        # As autovacuum leaves a production database: statistics, and the visibility map
        # that lets PostgreSQL answer from an index alone (index-only scans).
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            f"CREATE TABLE {STATE_TABLE} (fingerprint text, built_at timestamptz, "
            "seconds double precision)"
        )
        cursor.execute(
            f"INSERT INTO {STATE_TABLE} VALUES (%s, now(), %s)",  # noqa: S608
            [fingerprint(), seconds],
        )
    log(f"Built the bench data in {seconds:.0f} s (migrations included).")
    state = read_state(conninfo)
    assert state is not None
    return state


# COPY --------------------------------------------------------------------------------


def filler(field: models.Field) -> Any:
    """Return the value written for a column the builder does not set itself.

    The field's default if it has one, NULL where allowed, else a plain value of its type,
    so a NOT NULL column added while the builder was not looking still gets a value.
    """
    if field.has_default():
        return field.get_default()
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now() if isinstance(field, models.DateTimeField) else timezone.now().date()
    if field.null:
        return None
    if field.is_relation:
        raise BuildError(
            f"{field.model._meta.label}.{field.name} is a required link the bench builder "
            "does not fill: teach bench/build.py about it."
        )
    plain: list[tuple[type[models.Field], Any]] = [
        (models.BooleanField, False),
        (models.DateTimeField, timezone.now()),
        (models.DateField, timezone.now().date()),
        (models.TimeField, datetime.time()),
        (models.DecimalField, Decimal("0")),
        (models.IntegerField, 0),
        (models.FloatField, 0.0),
        (models.DurationField, datetime.timedelta()),
        (models.JSONField, {}),
    ]
    for kind, value in plain:
        if isinstance(field, kind):
            return value
    return ""


class Copier:
    """Writes rows into the models' tables with COPY, giving them ids of its own."""

    def __init__(self) -> None:
        self._next_id: dict[type[models.Model], int] = {}
        self.counts: dict[str, int] = {}

    def ids(self, model: type[models.Model], count: int) -> range:
        """Reserve `count` primary keys for the model's next rows."""
        if model not in self._next_id:
            with connection.cursor() as cursor:
                table = model._meta.db_table  # a model's own table name, never input
                cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
                self._next_id[model] = cursor.fetchone()[0] + 1
        first = self._next_id[model]
        self._next_id[model] = first + count
        return range(first, first + count)

    def write(
        self, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """COPY the rows (values in the order of `fields`, by attname) into the table.

        Every other concrete column gets `filler(field)`, the same value on every row.
        """
        concrete = model._meta.concrete_fields
        by_attname = {f.attname: f for f in concrete}
        unknown = [name for name in fields if name not in by_attname]
        if unknown:
            raise BuildError(f"{model._meta.label} has no field {', '.join(unknown)}")
        rest = [f for f in concrete if f.attname not in fields]
        rest_values = tuple(_adapt(f, filler(f)) for f in rest)
        json_positions = [
            i for i, name in enumerate(fields) if isinstance(by_attname[name], models.JSONField)
        ]
        columns = ", ".join(f'"{by_attname[name].column}"' for name in fields)
        if rest:
            columns += ", " + ", ".join(f'"{f.column}"' for f in rest)
        count = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    if json_positions:
                        row = list(row)
                        for i in json_positions:
                            row[i] = Jsonb(row[i])
                    copy.write_row((*row, *rest_values))
                    count += 1
        self.counts[model._meta.label] = self.counts.get(model._meta.label, 0) + count
        return count

    def fix_sequences(self) -> None:
        """Move each written table's id sequence past the ids the builder gave."""
        with connection.cursor() as cursor:
            for model in self._next_id:
                table = model._meta.db_table
                sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
                highest = f'GREATEST((SELECT MAX(id) FROM "{table}"), 1)'  # noqa: S608
                cursor.execute(f"SELECT setval({sequence}, {highest})")


def _adapt(field: models.Field, value: Any) -> Any:
    return Jsonb(value) if isinstance(field, models.JSONField) and value is not None else value


# The data ----------------------------------------------------------------------------


def month_start(day: datetime.date, months_back: int) -> datetime.date:
    """Return the first day of the month `months_back` months before `day`'s month."""
    index = day.year * 12 + (day.month - 1) - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_end(first: datetime.date) -> datetime.date:
    return month_start(first, -1) - datetime.timedelta(days=1)


@dataclass
class InvoicePlan:
    """One invoice before it is written: its money is known before its payment is."""

    id: int
    client: int
    months_ago: int
    status: str
    bill_to: tuple[str, int]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    tax_rate: Decimal
    adjustments: Decimal
    paid: Decimal = Decimal("0.00")


class AgencyData:
    """Writes one agency's bench data: parties, links, visits, plans, invoices, messages.

    Deterministic for a given day (a seeded random generator, and formulas on indexes),
    so two builds on the same day give the same data.
    """

    def __init__(
        self,
        copier: Copier,
        agency: Agency,
        *,
        slug: str,
        scale: Scale,
        password_hash: str,
        answer_hash: str,
        measured: bool,
    ) -> None:
        self.copier = copier
        self.agency = agency
        self.slug = slug
        self.scale = scale
        self.password_hash = password_hash
        self.answer_hash = answer_hash
        self.measured = measured
        self.rng = random.Random(f"{slug}-{BUILDER_VERSION}")  # noqa: S311 (data, not secrets)
        self.tz = agency.tz
        self.now = timezone.now()
        self.today = timezone.localdate(timezone=self.tz)
        n = scale.clients
        # The measured client and her spouse, near the end: odd indexes past the big payer
        # and the residences, so billed to themselves, each linked to a small payer.
        self.measured_client = (n - 3) - (1 - (n - 3) % 2)
        self.spouse = self.measured_client + 2

    # Logins --------------------------------------------------------------------------

    def _unusable(self) -> str:
        return f"!{self.rng.getrandbits(160):040x}"

    def logins(self, people: list[tuple[str, str, str]]) -> list[int]:
        """Write portal logins for (username, first name, last name); return their ids.

        Measured usernames get the bench password and a security question; the others
        an unusable password.
        """
        ids = self.copier.ids(User, len(people))
        measured = set(MEASURED.values()) if self.measured else set()
        fields = (
            "id",
            "password",
            "username",
            "first_name",
            "last_name",
            "email",
            "agency_id",
            "kind",
            "is_active",
            "must_change_password",
            "password_changed_at",
            "security_question",
            "security_answer_hash",
        )
        rows = []
        for pk, (username, first, last) in zip(ids, people, strict=True):
            mine = username in measured
            rows.append(
                (
                    pk,
                    self.password_hash if mine else self._unusable(),
                    username,
                    first,
                    last,
                    f"{username}@mail.example",
                    self.agency.pk,
                    UserKind.PORTAL,
                    True,
                    False,
                    self.now,
                    SECURITY_QUESTION if mine else "",
                    self.answer_hash if mine else "",
                )
            )
        self.copier.write(User, fields, rows)
        return list(ids)

    def _name(self, i: int) -> tuple[str, str]:
        return FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // 7) % len(LAST_NAMES)]

    # Parties -------------------------------------------------------------------------

    def build(self, log: Callable[[str], None]) -> None:
        started = time.monotonic()
        s = self.scale
        self.caregivers = list(self.copier.ids(Caregiver, s.caregivers))
        self.copier.write(
            Caregiver,
            ("id", "agency_id", "first_name", "last_name", "is_active"),
            (
                (pk, self.agency.pk, *self._name(i * 3 + 1), i % 40 != 39)
                for i, pk in enumerate(self.caregivers)
            ),
        )
        self.clients(log)
        self.contacts()
        self.payers()
        self.communities()
        log(f"  {self.slug}: parties and links in {time.monotonic() - started:.0f} s")
        mark = time.monotonic()
        self.visits()
        log(f"  {self.slug}: visits in {time.monotonic() - mark:.0f} s")
        mark = time.monotonic()
        self.plans()
        self.invoices()
        self.messages()
        log(f"  {self.slug}: plans, invoices and messages in {time.monotonic() - mark:.0f} s")

    def _status(self, i: int) -> str:
        if i in (self.measured_client, self.spouse):
            return ClientStatus.ACTIVE
        if i % 25 == 7:
            return ClientStatus.DISCHARGED
        if i % 50 == 13:
            return ClientStatus.ON_HOLD
        return ClientStatus.ACTIVE

    def clients(self, log: Callable[[str], None]) -> None:
        n = self.scale.clients
        usernames = [f"{self.slug}.client.{i:05d}" for i in range(n)]
        if self.measured:
            usernames[self.measured_client] = MEASURED["client"]
        names = [self._name(i) for i in range(n)]
        self.client_users = self.logins(
            [(u, first, last) for u, (first, last) in zip(usernames, names, strict=True)]
        )
        self.client_ids = list(self.copier.ids(Client, n))
        self.statuses = [self._status(i) for i in range(n)]
        fields = (
            "id",
            "agency_id",
            "first_name",
            "last_name",
            "preferred_name",
            "date_of_birth",
            "email",
            "phone",
            "address",
            "status",
            "user_id",
            "created_at",
        )
        self.copier.write(
            Client,
            fields,
            (
                (
                    self.client_ids[i],
                    self.agency.pk,
                    names[i][0],
                    names[i][1],
                    names[i][0][:3] if i % 9 == 0 else "",
                    datetime.date(1930 + i % 30, 1 + i % 12, 1 + i % 28),
                    f"{usernames[i]}@mail.example",
                    f"+1 617 555 {i % 10000:04d}",
                    f"{1 + i % 300} Elm Street\nBoston, MA 02116",
                    self.statuses[i],
                    self.client_users[i],
                    self.now,
                )
                for i in range(n)
            ),
        )

    def contacts(self) -> None:
        """Two emergency contacts a client; the first has a login.

        The measured contact is the first contact of the measured client and her spouse.
        """
        n = self.scale.clients
        people = []
        for i in range(n):
            if self.measured and i == self.spouse:
                continue
            username = f"{self.slug}.contact.{i:05d}"
            if self.measured and i == self.measured_client:
                username = MEASURED["contact"]
            people.append((username, *self._name(i + 11)))
        user_ids = iter(self.logins(people))
        contact_user = {}
        for i in range(n):
            if self.measured and i == self.spouse:
                contact_user[i] = contact_user[self.measured_client]
            else:
                contact_user[i] = next(user_ids)
        ids = iter(self.copier.ids(EmergencyContact, 2 * n))
        fields = (
            "id",
            "agency_id",
            "client_id",
            "name",
            "relationship",
            "email",
            "phone",
            "user_id",
        )
        rows = []
        for i in range(n):
            for second in (0, 1):
                first, last = self._name(i + 11 + second * 5)
                rows.append(
                    (
                        next(ids),
                        self.agency.pk,
                        self.client_ids[i],
                        f"{first} {last}",
                        RELATIONSHIPS[(i + second) % len(RELATIONSHIPS)],
                        f"{first}.{last}.{i}.{second}@mail.example".lower(),
                        f"+1 617 555 {(i * 2 + second) % 10000:04d}",
                        None if second else contact_user[i],
                    )
                )
        self.copier.write(EmergencyContact, fields, rows)

    def payers(self) -> None:
        """Payers with one portal person each; the first has the big payer's clients.

        The big payer's clients are the first `big_payer_clients`; every other client is
        linked to one of the other payers, round the list. A few links have ended.
        """
        s = self.scale
        self.payer_ids = list(self.copier.ids(Payer, s.payers))
        self.copier.write(
            Payer,
            ("id", "agency_id", "name", "kind", "contact_person", "email", "phone"),
            (
                (
                    pk,
                    self.agency.pk,
                    "Evergreen Long-Term Care" if p == 0 else f"{self._name(p)[1]} Care Fund {p}",
                    ("ltc_insurer", "medicaid", "va", "family", "other")[p % 5],
                    " ".join(self._name(p + 3)),
                    f"{self.slug}.payer.{p:03d}@mail.example",
                    f"+1 800 555 {p:04d}",
                )
                for p, pk in enumerate(self.payer_ids)
            ),
        )
        usernames = [f"{self.slug}.payer.{p:03d}" for p in range(s.payers)]
        if self.measured:
            usernames[0] = MEASURED["payer"]
        users = self.logins([(u, *self._name(p + 3)) for p, u in enumerate(usernames)])
        self.copier.write(
            PayerPerson,
            ("id", "agency_id", "payer_id", "name", "email", "user_id"),
            (
                (
                    pk,
                    self.agency.pk,
                    self.payer_ids[p],
                    " ".join(self._name(p + 3)),
                    f"{usernames[p]}@mail.example",
                    users[p],
                )
                for p, pk in enumerate(self.copier.ids(PayerPerson, s.payers))
            ),
        )
        self.payer_of: dict[int, int] = {}
        links = []
        two_years = self.today - datetime.timedelta(days=740)
        for i in range(s.clients):
            if i < s.big_payer_clients:
                p = 0
            elif s.payers > 1:
                p = 1 + (i - s.big_payer_clients) % (s.payers - 1)
            else:
                continue
            self.payer_of[i] = p
            ended = i % 50 == 21 and i not in (self.measured_client, self.spouse)
            start = two_years + datetime.timedelta(days=i % 30)
            end = self.today - datetime.timedelta(days=10 + i % 60) if ended else None
            links.append((self.client_ids[i], self.payer_ids[p], start, end))
        self.copier.write(
            ClientPayer,
            ("id", "agency_id", "client_id", "payer_id", "start_date", "end_date"),
            (
                (pk, self.agency.pk, *link)
                for pk, link in zip(self.copier.ids(ClientPayer, len(links)), links, strict=True)
            ),
        )

    def communities(self) -> None:
        """Communities with one portal person each; the first has the big residence.

        Its residents come right after the big payer's clients; the other communities'
        residents follow them.
        """
        s = self.scale
        self.community_ids = list(self.copier.ids(Community, s.communities))
        self.copier.write(
            Community,
            ("id", "agency_id", "name", "kind", "contact_person", "email", "address"),
            (
                (
                    pk,
                    self.agency.pk,
                    "Maple Grove Assisted Living" if c == 0 else f"{self._name(c)[1]} House {c}",
                    ("assisted_living", "independent_living", "memory_care", "other")[c % 4],
                    " ".join(self._name(c + 5)),
                    f"{self.slug}.community.{c:02d}@mail.example",
                    f"{100 + c} Maple Avenue\nNewton, MA 02458",
                )
                for c, pk in enumerate(self.community_ids)
            ),
        )
        usernames = [f"{self.slug}.community.{c:02d}" for c in range(s.communities)]
        if self.measured:
            usernames[0] = MEASURED["community"]
        users = self.logins([(u, *self._name(c + 5)) for c, u in enumerate(usernames)])
        self.copier.write(
            CommunityPerson,
            ("id", "agency_id", "community_id", "name", "email", "user_id"),
            (
                (
                    pk,
                    self.agency.pk,
                    self.community_ids[c],
                    " ".join(self._name(c + 5)),
                    f"{usernames[c]}@mail.example",
                    users[c],
                )
                for c, pk in enumerate(self.copier.ids(CommunityPerson, s.communities))
            ),
        )
        self.community_of: dict[int, int] = {}
        first = s.big_payer_clients
        for r in range(s.big_community_residents):
            self.community_of[first + r] = 0
        first += s.big_community_residents
        for c in range(1, s.communities):
            for r in range(s.residents_per_community):
                i = first + (c - 1) * s.residents_per_community + r
                if i < s.clients and i not in (self.measured_client, self.spouse):
                    self.community_of[i] = c
        year_and_half = self.today - datetime.timedelta(days=540)
        rows = [
            (self.client_ids[i], self.community_ids[c], year_and_half + datetime.timedelta(i % 90))
            for i, c in sorted(self.community_of.items())
        ]
        self.copier.write(
            Residence,
            ("id", "agency_id", "client_id", "community_id", "start_date", "end_date"),
            (
                (pk, self.agency.pk, client, community, start, None)
                for pk, (client, community, start) in zip(
                    self.copier.ids(Residence, len(rows)), rows, strict=True
                )
            ),
        )

    # Visits --------------------------------------------------------------------------

    def visits(self) -> None:
        """`visits_per_client` visits a client, evenly over two years centred on today.

        Past visits are mostly completed (some cancelled or missed), the one under way is
        in progress, future ones are scheduled, a few of the next two weeks unassigned.
        """
        s = self.scale
        first_day = self.today - datetime.timedelta(days=s.visit_days // 2)
        soon = self.now + datetime.timedelta(days=14)
        ncg = len(self.caregivers)
        utc = datetime.UTC

        # Ids are reserved before the COPY starts: no other query may run during it.
        ids = iter(self.copier.ids(Visit, s.clients * s.visits_per_client))

        def rows() -> Iterator[tuple[Any, ...]]:
            for i in range(s.clients):
                at = datetime.time(7 + i % 10, 30 * ((i // 10) % 2))
                length = datetime.timedelta(hours=1 + i % 4)
                service = SERVICES[i % len(SERVICES)]
                client_id = self.client_ids[i]
                for j in range(s.visits_per_client):
                    day = first_day + datetime.timedelta(
                        days=(j * s.visit_days) // s.visits_per_client
                    )
                    start = datetime.datetime.combine(day, at, tzinfo=self.tz).astimezone(utc)
                    end = start + length
                    caregiver = self.caregivers[(i + 7 * (j % 2)) % ncg]
                    if end <= self.now:
                        status = (
                            VisitStatus.CANCELLED
                            if j % 29 == 3
                            else VisitStatus.MISSED
                            if j % 31 == 5
                            else VisitStatus.COMPLETED
                        )
                    elif start <= self.now:
                        status = VisitStatus.IN_PROGRESS
                    else:
                        status = VisitStatus.SCHEDULED
                        if start < soon and (i + j) % 10 == 0:
                            caregiver = None
                    yield (
                        next(ids),
                        self.agency.pk,
                        client_id,
                        caregiver,
                        service,
                        start,
                        end,
                        status,
                        None,
                    )

        self.copier.write(
            Visit,
            (
                "id",
                "agency_id",
                "client_id",
                "caregiver_id",
                "service",
                "start",
                "end",
                "status",
                "schedule_id",
            ),
            rows(),
        )

    # Service plans -------------------------------------------------------------------

    def plans(self) -> None:
        """An active plan for every client still in care; an ended one for a fifth."""
        plans, goals, tasks = [], [], []
        for i in range(self.scale.clients):
            if self.statuses[i] == ClientStatus.DISCHARGED:
                continue
            start = self.today - datetime.timedelta(days=120 + i % 200)
            plans.append((i, "Staying well at home", PlanStatus.ACTIVE, start, None, 3))
            if i % 5 == 0:
                old_start = start - datetime.timedelta(days=300)
                old_end = start - datetime.timedelta(days=1)
                plans.append((i, "Recovery after a fall", PlanStatus.ENDED, old_start, old_end, 2))
        plan_ids = self.copier.ids(ServicePlan, len(plans))
        plan_rows = []
        for pk, (i, title, status, start, end, count) in zip(plan_ids, plans, strict=True):
            plan_rows.append(
                (
                    pk,
                    self.agency.pk,
                    self.client_ids[i],
                    title,
                    start,
                    end,
                    status,
                    Decimal(4 + i % 16),
                    "Adam Alvarez",
                    "+1 617 555 0101",
                    "Lives alone; the key is with the neighbour." if i % 3 == 0 else "",
                )
            )
            for g in range(count - 1):
                goals.append((pk, ("Stay safely at home", "Walk to the garden daily")[g], None))
            for t in range(count):
                tasks.append(
                    (
                        pk,
                        ACTIVITIES[(i + t) % len(ACTIVITIES)],
                        ("Every visit", "Three times a week", "Mondays")[t % 3],
                        "Follow the routine on the fridge.",
                    )
                )
        self.copier.write(
            ServicePlan,
            (
                "id",
                "agency_id",
                "client_id",
                "title",
                "start_date",
                "end_date",
                "status",
                "authorized_hours_per_week",
                "coordinator_name",
                "coordinator_phone",
                "notes",
            ),
            plan_rows,
        )
        self.copier.write(
            Goal,
            ("id", "agency_id", "plan_id", "description", "target_date"),
            (
                (pk, self.agency.pk, *goal)
                for pk, goal in zip(self.copier.ids(Goal, len(goals)), goals, strict=True)
            ),
        )
        self.copier.write(
            PlanTask,
            ("id", "agency_id", "plan_id", "activity", "frequency", "instructions"),
            (
                (pk, self.agency.pk, *task)
                for pk, task in zip(self.copier.ids(PlanTask, len(tasks)), tasks, strict=True)
            ),
        )

    # Invoices ------------------------------------------------------------------------

    def _bill_to(self, i: int, months_ago: int) -> tuple[str, int]:
        s = self.scale
        if i < s.big_payer_clients:
            if i < s.big_payer_own_bills and months_ago == s.invoice_months:
                return "bill_to_client_id", self.client_ids[i]
            return "bill_to_payer_id", self.payer_ids[0]
        if self.community_of.get(i) == 0:
            return "bill_to_community_id", self.community_ids[0]
        if i % 2 == 0 and i in self.payer_of:
            return "bill_to_payer_id", self.payer_ids[self.payer_of[i]]
        return "bill_to_client_id", self.client_ids[i]

    def _line(self, i: int, months_ago: int, line: int) -> tuple[Decimal, Decimal]:
        hours = Decimal(200 + 25 * ((i + months_ago + line) % 9)) / 100
        rate = Decimal(2800 + 50 * (i % 18)) / 100
        return hours, rate

    def invoices(self) -> None:
        """One invoice a client a month for two years, four lines each, and payments.

        Money is computed here as the product does (each line rounded half-up, tax on the
        subtotal), so stored totals and balances, where the model has them, are right.
        """
        s = self.scale
        ids = self.copier.ids(Invoice, s.clients * s.invoice_months)
        plans: list[InvoicePlan] = []
        pk = iter(ids)
        for i in range(s.clients):
            tax_rate = Decimal("6.250") if i % 20 == 0 else Decimal("0.000")
            for months_ago in range(1, s.invoice_months + 1):
                if months_ago == 1 and i % 200 == 0:
                    status = InvoiceStatus.DRAFT
                elif (i + months_ago) % 97 == 0:
                    status = InvoiceStatus.VOID
                else:
                    status = InvoiceStatus.ISSUED
                subtotal = sum(
                    (
                        line_amount(*self._line(i, months_ago, n))
                        for n in range(s.lines_per_invoice)
                    ),
                    Decimal("0.00"),
                )
                adjustments = Decimal("-10.00") if (i + months_ago) % 33 == 0 else Decimal("0.00")
                total = invoice_total_of(subtotal, tax_rate, adjustments)
                plans.append(
                    InvoicePlan(
                        id=next(pk),
                        client=i,
                        months_ago=months_ago,
                        status=status,
                        bill_to=self._bill_to(i, months_ago),
                        subtotal=subtotal,
                        tax=to_cents(subtotal * tax_rate / Decimal(100)),
                        total=total,
                        tax_rate=tax_rate,
                        adjustments=adjustments,
                    )
                )
        # Older invoices are more likely paid; exactly `payments` of them are.
        issued = [p for p in plans if p.status == InvoiceStatus.ISSUED]
        weight = {1: 8.0, 2: 3.0}
        issued.sort(key=lambda p: self.rng.random() * weight.get(p.months_ago, 1.0))
        payments = []
        for n, plan in enumerate(issued[: s.payments]):
            amount = to_cents(plan.total / 2) if n % 10 == 0 else plan.total
            plan.paid = amount
            payments.append((plan, amount))
        self._write_invoices(plans)
        self._write_lines(plans)
        issue = {p.id: self._issue_date(p.months_ago) for p in plans}
        self.copier.write(
            Payment,
            ("id", "agency_id", "invoice_id", "date", "amount", "method", "reference"),
            (
                (
                    pk,
                    self.agency.pk,
                    plan.id,
                    min(issue[plan.id] + datetime.timedelta(days=12), self.today),
                    amount,
                    PAYMENT_METHODS[plan.id % len(PAYMENT_METHODS)],
                    f"P-{plan.id}",
                )
                for pk, (plan, amount) in zip(
                    self.copier.ids(Payment, len(payments)), payments, strict=True
                )
            ),
        )
        # Each bill-to party's totals, as the billing services keep them.
        from careportal.billing.services import store_all_invoice_totals

        store_all_invoice_totals(agency_id=self.agency.pk)

    def _issue_date(self, months_ago: int) -> datetime.date:
        return month_end(month_start(self.today, months_ago)) + datetime.timedelta(days=1)

    def _write_invoices(self, plans: list[InvoicePlan]) -> None:
        stored = {f.attname for f in Invoice._meta.concrete_fields}
        money = [
            name
            for name in ("subtotal", "tax", "total", "amount_paid", "balance")
            if name in stored
        ]
        fields = (
            "id",
            "agency_id",
            "number",
            "bill_to_client_id",
            "bill_to_payer_id",
            "bill_to_community_id",
            "client_id",
            "issue_date",
            "due_date",
            "period_start",
            "period_end",
            "tax_rate",
            "adjustments",
            "status",
            "notes",
            "created_at",
            *money,
        )
        prefix = self.slug.upper()

        def rows() -> Iterator[tuple[Any, ...]]:
            for p in plans:
                first = month_start(self.today, p.months_ago)
                last = month_end(first)
                issue = last + datetime.timedelta(days=1)
                bill_to = dict.fromkeys(
                    ("bill_to_client_id", "bill_to_payer_id", "bill_to_community_id")
                )
                bill_to[p.bill_to[0]] = p.bill_to[1]
                values = {
                    "subtotal": p.subtotal,
                    "tax": p.tax,
                    "total": p.total,
                    "amount_paid": p.paid,
                    "balance": Decimal("0.00")
                    if p.status == InvoiceStatus.VOID
                    else p.total - p.paid,
                }
                yield (
                    p.id,
                    self.agency.pk,
                    f"{prefix}-{first:%Y%m}-{p.client:05d}",
                    *bill_to.values(),
                    self.client_ids[p.client],
                    issue,
                    issue + datetime.timedelta(days=30),
                    first,
                    last,
                    p.tax_rate,
                    p.adjustments,
                    p.status,
                    "",
                    self.now,
                    *(values[name] for name in money),
                )

        self.copier.write(Invoice, fields, rows())

    def _write_lines(self, plans: list[InvoicePlan]) -> None:
        s = self.scale
        ncg = len(self.caregivers)

        ids = iter(self.copier.ids(InvoiceLine, len(plans) * s.lines_per_invoice))

        def rows() -> Iterator[tuple[Any, ...]]:
            for p in plans:
                first = month_start(self.today, p.months_ago)
                for n in range(s.lines_per_invoice):
                    hours, rate = self._line(p.client, p.months_ago, n)
                    yield (
                        next(ids),
                        self.agency.pk,
                        p.id,
                        first + datetime.timedelta(days=2 + 7 * n),
                        SERVICES[p.client % len(SERVICES)],
                        self.caregivers[(p.client + 7 * (n % 2)) % ncg],
                        hours,
                        rate,
                    )

        self.copier.write(
            InvoiceLine,
            ("id", "agency_id", "invoice_id", "date", "service", "caregiver_id", "hours", "rate"),
            rows(),
        )

    # Messages ------------------------------------------------------------------------

    def messages(self) -> None:
        """Messages to the owner: a dozen from each measured login, the rest from clients."""
        senders: list[tuple[int, str]] = []
        if self.measured:
            logins = dict(
                User.objects.filter(username__in=MEASURED.values()).values_list("username", "pk")
            )
            for role in ("client", "contact", "payer", "community"):
                senders += [(logins[MEASURED[role]], role)] * 12
        for n in range(self.scale.messages):
            senders.append((self.client_users[(n * 37) % len(self.client_users)], "client"))
        recipient = self.agency.portal_message_email
        self.copier.write(
            Message,
            (
                "id",
                "agency_id",
                "sender_id",
                "sender_name",
                "sender_email",
                "relationship",
                "subject",
                "body",
                "recipient",
                "created_at",
            ),
            (
                (
                    pk,
                    self.agency.pk,
                    sender,
                    "Portal user",
                    "sender@mail.example",
                    role,
                    f"About next week's visits ({n + 1})",
                    "Dear owner,\n\nCould the visit on Thursday start an hour later?\n\nThanks",
                    recipient,
                    self.now - datetime.timedelta(days=n % 300, hours=n % 24),
                )
                for n, (pk, (sender, role)) in enumerate(
                    zip(self.copier.ids(Message, len(senders)), senders, strict=True)
                )
            ),
        )


def _staff(agency: Agency, username: str, name: str, role: str, password: str) -> User:
    first, _sep, last = name.partition(" ")
    user = User.objects.create(
        agency=agency,
        username=username,
        email=f"{username}@mail.example",
        first_name=first,
        last_name=last,
        kind=UserKind.STAFF,
        is_staff=True,
        password=password,
        password_changed_at=timezone.now(),
    )
    StaffMembership.objects.create(agency=agency, user=user, role=role, name=name)
    return user


def build(*, log: Callable[[str], None] = print, scale: Scale | None = None) -> dict[str, int]:
    """Write the whole data set into the (freshly migrated) bench database.

    One transaction; foreign keys are not re-checked row by row (the rows are consistent
    by construction), which keeps a million visits to seconds. Return the rows per model.
    `scale` shrinks the main agency (the tests build a small one).
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from careportal.agencies.management.commands.seed_demo import DEMO_TOTP_KEY

    password_hash = make_password(BENCH_PASSWORD)
    answer_hash = make_password(normalise_answer(SECURITY_ANSWER))
    copier = Copier()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        sunrise = Agency.objects.create(
            name="Bench Home Care",
            owner_name="Olivia Owens",
            owner_email="owner@bench.example",
            phone="+1 617 555 0100",
            address="12 Harbor Street\nBoston, MA 02110",
            time_zone="America/New_York",
            payment_instructions="Checks payable to Bench Home Care, 12 Harbor Street, Boston.",
        )
        harbor = Agency.objects.create(
            name="Harbor Bench Care",
            owner_name="Harriet Harbor",
            owner_email="owner@harbor.example",
            time_zone="America/Los_Angeles",
        )
        unusable = make_password(None)
        owner = _staff(sunrise, MEASURED["owner"], "Olivia Owens", StaffRole.OWNER, password_hash)
        # The key of the demo data: anyone opening the owner's pages adds it by hand.
        TOTPDevice.objects.create(user=owner, name="Bench authenticator", key=DEMO_TOTP_KEY)
        _staff(sunrise, "bench.admin", "Adam Alvarez", StaffRole.ADMINISTRATOR, unusable)
        _staff(sunrise, "bench.scheduler", "Sue Sato", StaffRole.SCHEDULER, unusable)
        _staff(sunrise, "bench.billing", "Bill Brooks", StaffRole.BILLING, unusable)
        _staff(harbor, "harbor.bench.owner", "Harriet Harbor", StaffRole.OWNER, unusable)
        for agency, slug, agency_scale, measured in (
            (sunrise, "bhc", scale or Scale(), True),
            (harbor, "hbc", HARBOR_SCALE, False),
        ):
            AgencyData(
                copier,
                agency,
                slug=slug,
                scale=agency_scale,
                password_hash=password_hash,
                answer_hash=answer_hash,
                measured=measured,
            ).build(log)
        copier.fix_sequences()
    return copier.counts
