"""Who may see what in the portal: DESIGN.md section 4, in one place.

Every portal view, download, feed and count starts from the querysets here or from the
`visible_to(user)` methods built on them (`Invoice.objects.visible_to`, ...). A login that
is not an active portal login of an agency sees nothing. Discharged clients are seen by
nobody in the portal.

| data      | client        | emergency contact   | payer / community                  |
| clients   | self          | clients of contact  | linked clients / residents (active) |
| narrowing | as clients    | as clients          | as clients, and clients invoiced   |
| visits    | own           | those clients'      | those clients'                     |
| invoices  | billed to self| billed to those     | billed to the payer / community    |
| plans     | own           | never               | never                              |

The client narrows each emergency contact (My privacy): no calendar (`sees_calendar`), no
invoices (`sees_invoices`), or nothing after a last day (`access_ends_on`, the agency's
date). The contact still lists that client (and may narrow a page to them), so the pages
can say the client chose it; the visits and invoices are left out here.

How it stays fast: the viewer's relationships are resolved first into short lists of ids
(one flat query on the indexed link tables, and a second one for a payer's or community's
linked clients), and the big tables (visits, invoices, plans) are filtered by those literal
lists. `IN (subquery)` filters ORed together made PostgreSQL scan whole tables.

Within one request the frame, the view and the audit ask the same questions; the answers
are remembered inside `request_memo()` (opened by the portal's middleware for reads), and
nowhere else: a call outside it, or in the next request, asks the database again.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, cast

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from careportal.people.models import (
    Client,
    ClientPayer,
    ClientQuerySet,
    ClientStatus,
    Community,
    CommunityPerson,
    EmergencyContact,
    Payer,
    PayerPerson,
    Residence,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careportal.accounts.models import User
    from careportal.agencies.models import Agency
    from careportal.billing.models import Invoice

    class PortalLogin(User):
        """What `is_portal_login` vouches for, to the type checker: a login of one agency."""

        agency: Agency
        agency_id: int


T = TypeVar("T")

_memo: contextvars.ContextVar[dict[tuple[Any, ...], Any] | None] = contextvars.ContextVar(
    "careportal_access_memo", default=None
)


@contextmanager
def request_memo() -> Iterator[None]:
    """Remember this module's answers until the block ends (one request, read-only).

    Keyed by login and question, so the feed (which asks for its owner, not the request's
    user) is safe too. Open it only around work that does not change relationships.
    """
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _remembered(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    remembered: T = memo[key]
    return remembered


def is_portal_login(user: User | AnonymousUser | None) -> TypeGuard[PortalLogin]:
    """Return whether the login is an active portal login of an agency."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "kind", None) == "portal"
        and user.agency_id is not None
    )


def _clients(user: PortalLogin) -> ClientQuerySet:
    return Client.objects.filter(agency_id=user.agency_id).exclude(status=ClientStatus.DISCHARGED)


def _discharged(user: PortalLogin) -> QuerySet[Client, Mapping[str, object]]:
    """Return the agency's discharged clients' ids, as a subquery.

    Few, read from the index on (agency, status, ...): cheaper for a long list of links
    than joining every one of them to the client table.
    """
    return Client.objects.filter(agency_id=user.agency_id, status=ClientStatus.DISCHARGED).values(
        "pk"
    )


@dataclass(frozen=True)
class Relationships:
    """The ids a login's relationships name: its own client, contacts' clients, parties."""

    own_client_ids: tuple[int, ...] = ()
    contact_client_ids: tuple[int, ...] = ()
    payer_ids: tuple[int, ...] = ()
    community_ids: tuple[int, ...] = ()
    # The clients of `care_client_ids` with their names alone (as `.only(...)` loads
    # them), by last then first name: what the frame's "Showing" select lists.
    care_clients: tuple[Client, ...] = ()
    # The contacts' clients whose calendar, or invoices, the client has kept from the
    # login today (My privacy); a login that is also that client's own is never narrowed.
    calendar_withheld_ids: tuple[int, ...] = ()
    invoices_withheld_ids: tuple[int, ...] = ()

    @property
    def care_client_ids(self) -> tuple[int, ...]:
        """Return the clients the login sees as the client or an emergency contact."""
        return tuple(dict.fromkeys(self.own_client_ids + self.contact_client_ids))

    @property
    def care_calendar_ids(self) -> tuple[int, ...]:
        """Return the care clients whose visits the login sees (the client's choice kept)."""
        return tuple(pk for pk in self.care_client_ids if pk not in self.calendar_withheld_ids)

    @property
    def care_invoice_ids(self) -> tuple[int, ...]:
        """Return the care clients whose invoices the login sees (the client's choice kept)."""
        return tuple(pk for pk in self.care_client_ids if pk not in self.invoices_withheld_ids)


# The columns of a client read with the login's relationships, in the query's order.
_CLIENT_NAMES = ["id", "agency_id", "first_name", "last_name", "preferred_name"]


@functools.cache
def _relationships_sql() -> str:
    """Return the one query of `relationship_ids`: (id, kind) rows of a login's links.

    Written out once rather than built by the ORM on every request: composing the four
    querysets and their UNION cost several times what the database takes to answer it.
    Each part leads with the agency and the login (indexes on agency and user). A
    client's rows carry its names too (the parties' rows none), ordered by them.
    """
    client = Client._meta.db_table
    contact = EmergencyContact._meta.db_table
    payer_person = PayerPerson._meta.db_table
    community_person = CommunityPerson._meta.db_table
    names = "c.first_name, c.last_name, c.preferred_name"
    # None: no names (the parties' rows), or no choices (all but a contact's rows).
    none = "NULL, NULL, NULL"
    # A contact's row carries the client's choices too (My privacy).
    choice = "e.sees_calendar, e.sees_invoices, e.access_ends_on"
    return (
        f"SELECT c.id, 'own', {names}, {none} FROM {client} c "  # noqa: S608 - names from the models
        "WHERE c.agency_id = %(agency)s AND c.user_id = %(user)s AND c.status <> %(gone)s "
        f"UNION ALL SELECT e.client_id, 'contact', {names}, {choice} FROM {contact} e "
        f"JOIN {client} c ON c.id = e.client_id "
        "WHERE e.agency_id = %(agency)s AND e.user_id = %(user)s AND c.status <> %(gone)s "
        "AND c.agency_id = %(agency)s "
        f"UNION ALL SELECT p.payer_id, 'payer', {none}, {none} FROM {payer_person} p "
        "WHERE p.agency_id = %(agency)s AND p.user_id = %(user)s "
        f"UNION ALL SELECT m.community_id, 'community', {none}, {none} "
        f"FROM {community_person} m "
        "WHERE m.agency_id = %(agency)s AND m.user_id = %(user)s "
        "ORDER BY 4, 3"
    )


def relationship_ids(user: User | AnonymousUser) -> Relationships:
    """Return the login's relationships as ids, in one query on the indexed link tables."""
    if not is_portal_login(user):
        return Relationships()

    def compute() -> Relationships:
        found: dict[str, set[int]] = {"own": set(), "contact": set(), "payer": set()}
        found["community"] = set()
        clients: dict[int, Client] = {}
        # Per contact's client: (sees the calendar, sees invoices) by any of its rows.
        allowed: dict[int, tuple[bool, bool]] = {}
        today: datetime.date | None = None
        params: dict[str, int | str] = {
            "agency": user.agency_id,
            "user": user.pk,
            "gone": ClientStatus.DISCHARGED,
        }
        with connection.cursor() as cursor:
            cursor.execute(_relationships_sql(), params)
            for pk, kind, first, last, preferred, calendar, invoices, ends in cursor.fetchall():
                found[kind].add(pk)
                if kind in ("own", "contact") and pk not in clients:
                    clients[pk] = Client.from_db(
                        connection.alias,
                        _CLIENT_NAMES,
                        [pk, user.agency_id, first, last, preferred],
                    )
                if kind == "contact":
                    if ends is not None:
                        today = today or _today(user)
                        if _as_date(ends) < today:
                            calendar = invoices = False
                    was = allowed.get(pk, (False, False))
                    allowed[pk] = (was[0] or bool(calendar), was[1] or bool(invoices))
        own = found["own"]
        return Relationships(
            own_client_ids=tuple(sorted(own)),
            contact_client_ids=tuple(sorted(found["contact"])),
            payer_ids=tuple(sorted(found["payer"])),
            community_ids=tuple(sorted(found["community"])),
            care_clients=tuple(clients.values()),
            calendar_withheld_ids=tuple(
                sorted(pk for pk, (sees, _) in allowed.items() if not sees and pk not in own)
            ),
            invoices_withheld_ids=tuple(
                sorted(pk for pk, (_, sees) in allowed.items() if not sees and pk not in own)
            ),
        )

    return _remembered(("relationships", user.pk), compute)


def _as_date(value: datetime.date | str) -> datetime.date:
    # SQLite answers a raw query's date as text.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _today(user: PortalLogin) -> datetime.date:
    agency = getattr(user, "agency", None)
    return timezone.localdate(timezone=agency.tz) if agency is not None else timezone.localdate()


@dataclass(frozen=True)
class LinkedClients:
    """The clients a login sees through its payers' and communities' links in force."""

    as_payer: tuple[int, ...] = ()
    as_community: tuple[int, ...] = ()
    # With `billed`: the clients no link of the party's is in force for on the day, while
    # an issued invoice for their care is still billed to it (its Dashboard lists them).
    billed_as_payer: tuple[int, ...] = ()
    billed_as_community: tuple[int, ...] = ()


@functools.cache
def _linked_sql(payers: int, communities: int, billed: bool = False) -> str:
    """Return the query of `_linked`: (client id, "payer" or "community") rows of the links
    in force on a day of this many payers and communities, discharged clients left out;
    with `billed`, also ("billed_payer" or "billed_community") rows of the clients still
    billed to those parties after their links (`_still_billed_part`).

    Written out once per shape, like `_relationships_sql`: for a payer with two thousand
    clients, building the querysets cost more than the database takes to answer. Each
    part leads with the agency and the party (the link tables' indexes); the discharged
    clients are a few, read from the index on (agency, status).
    """
    client = Client._meta.db_table
    # The status is written in, not passed: a statement kept prepared is then planned for
    # the few discharged clients (on the index led by agency and status), not for any.
    gone = ClientStatus.DISCHARGED.value
    named, parts = [], []
    for table, column, kind, count in (
        (ClientPayer._meta.db_table, "payer_id", "payer", payers),
        (Residence._meta.db_table, "community_id", "community", communities),
    ):
        if not count:
            continue
        party_ids = ", ".join(f"%({kind}{i})s" for i in range(count))
        in_force = (
            f"SELECT l.client_id FROM {table} l "  # noqa: S608 - names from the models
            f"WHERE l.agency_id = %(agency)s AND l.{column} IN ({party_ids}) "
            "AND l.start_date <= %(day)s AND (l.end_date IS NULL OR l.end_date >= %(day)s)"
        )
        if billed:
            # Read once, answered and then asked of every client still billed.
            named.append(f"{kind}_now AS ({in_force})")
            in_force = f"SELECT client_id FROM {kind}_now"  # noqa: S608 - named here
        parts.append(
            f"SELECT n.client_id, '{kind}' FROM ({in_force}) n "  # noqa: S608 - names from the models
            f"WHERE n.client_id NOT IN (SELECT c.id FROM {client} c "
            f"WHERE c.agency_id = %(agency)s AND c.status = '{gone}')"
        )
        if billed:
            parts.append(_still_billed_part(table, column, kind, party_ids))
    lead = f"WITH {', '.join(named)} " if named else ""
    return lead + " UNION ALL ".join(parts)


def _still_billed_part(table: str, column: str, kind: str, party_ids: str) -> str:
    """Return the part of `_linked_sql` that names a party's clients still billed: links
    not in force on the day (a few, on the index led by agency and party) of clients with
    none in force (those of `{kind}_now`), each with an issued invoice billed to the party.

    The invoice is probed by client, whatever the party: an OFFSET keeps it a subquery run
    per client (on the invoices' index led by agency, party, status and client) rather than
    a join the planner may choose to read all the party's invoices for, as it did for the
    statement kept prepared (its generic plan, which knows no party).
    """
    from careportal.billing.models import Invoice

    invoice = Invoice._meta.db_table
    return (
        f"SELECT s.client_id, 'billed_{kind}' FROM (SELECT DISTINCT l.client_id FROM {table} l "  # noqa: S608 - names from the models
        f"WHERE l.agency_id = %(agency)s AND l.{column} IN ({party_ids}) "
        "AND (l.start_date > %(day)s OR l.end_date < %(day)s)) s "
        f"WHERE s.client_id NOT IN (SELECT client_id FROM {kind}_now) "
        f"AND EXISTS (SELECT 1 FROM {invoice} i WHERE i.agency_id = %(agency)s "
        f"AND i.bill_to_{column} IN ({party_ids}) AND i.status = %(issued)s "
        "AND i.client_id = s.client_id LIMIT 1 OFFSET 0)"
    )


def _linked_params(
    login: PortalLogin, rels: Relationships, day: datetime.date
) -> dict[str, int | str | None]:
    """Return the parameters of `_linked_sql` for the login's parties on a day."""
    params: dict[str, int | str | None] = {
        "agency": login.agency_id,
        "day": connection.ops.adapt_datefield_value(day),
        "gone": ClientStatus.DISCHARGED,
    }
    params.update({f"payer{i}": pk for i, pk in enumerate(rels.payer_ids)})
    params.update({f"community{i}": pk for i, pk in enumerate(rels.community_ids)})
    return params


def linked_client_ids(
    user: User | AnonymousUser, on: datetime.date | None = None, *, billed: bool = False
) -> LinkedClients:
    """Return the clients linked to the login's payers and communities on a day (today);
    with `billed`, also those still billed to them after their links (`LinkedClients`).

    One query (none for a login with neither), led by agency and party on the link tables.
    """
    return _linked(user, relationship_ids(user), on, billed=billed)


def _linked(
    user: User | AnonymousUser,
    rels: Relationships,
    on: datetime.date | None,
    *,
    billed: bool = False,
) -> LinkedClients:
    if not rels.payer_ids and not rels.community_ids:
        return LinkedClients()
    # Only a portal login has payers or communities (`relationship_ids`).
    login = cast("PortalLogin", user)
    day = on or _today(login)
    memo = _memo.get()
    # The answer with the clients still billed holds the one without them.
    if not billed and memo is not None and ("linked_billed", login.pk, day) in memo:
        with_billed: LinkedClients = memo[("linked_billed", login.pk, day)]
        return with_billed

    def compute() -> LinkedClients:
        from careportal.billing.models import InvoiceStatus

        params = _linked_params(login, rels, day)
        params["issued"] = InvoiceStatus.ISSUED
        found: dict[str, set[int]] = {
            kind: set() for kind in ("payer", "community", "billed_payer", "billed_community")
        }
        sql = _linked_sql(len(rels.payer_ids), len(rels.community_ids), billed)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for pk, kind in cursor.fetchall():
                found[kind].add(pk)
        return LinkedClients(
            *(tuple(sorted(found[kind])) for kind in found),
        )

    return _remembered(("linked_billed" if billed else "linked", login.pk, day), compute)


# Rows of links read by `calendar_has_more_than` before it counts every link instead.
_LINKS_SAMPLED = 200


def calendar_has_more_than(
    user: User | AnonymousUser, limit: int, *, also: tuple[int, ...] = ()
) -> bool:
    """Return whether more than `limit` clients are on the login's calendar (with `also`).

    What the frame asks to choose between a select and a search. A payer or community
    with thousands of clients has the links in force read only until enough are found,
    not every one of them: a few hundred rows at most, on the same index as `_linked`.
    """
    if not is_portal_login(user):
        return len(set(also)) > limit
    rels = relationship_ids(user)
    known = set(rels.care_calendar_ids) | set(also)
    day = _today(user)
    memo = _memo.get()
    if (not rels.payer_ids and not rels.community_ids) or (
        memo is not None
        and (("linked", user.pk, day) in memo or ("linked_billed", user.pk, day) in memo)
    ):
        calendar = calendar_client_ids(user)
        return len(calendar) > limit or len(known | set(calendar)) > limit
    sql = f"{_linked_sql(len(rels.payer_ids), len(rels.community_ids))} LIMIT %(rows)s"
    with connection.cursor() as cursor:
        cursor.execute(sql, {**_linked_params(user, rels, day), "rows": _LINKS_SAMPLED})
        rows = cursor.fetchall()
    known |= {pk for pk, _kind in rows}
    if len(known) > limit:
        return True
    if len(rows) < _LINKS_SAMPLED:
        return False
    # As many rows as sampled for a few clients (links repeated): count them all.
    return len(known | set(calendar_client_ids(user))) > limit


def calendar_client_ids(user: User | AnonymousUser) -> list[int]:
    """Return the ids of every client whose visits the login may see today, sorted."""
    if not is_portal_login(user):
        return []
    rels = relationship_ids(user)
    linked = _linked(user, rels, None)

    def compute() -> tuple[int, ...]:
        ids = set(rels.care_calendar_ids) | set(linked.as_payer) | set(linked.as_community)
        return tuple(sorted(ids))

    # A payer's thousands of ids are sorted once per request, whoever asks.
    return list(_remembered(("calendar", user.pk, _today(user)), compute))


def own_client(user: User | AnonymousUser) -> ClientQuerySet:
    """Return the client record the login stands for (at most one)."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(user=user)


def clients_as_contact(user: User | AnonymousUser) -> ClientQuerySet:
    """Return the clients the login is an emergency contact of."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(pk__in=relationship_ids(user).contact_client_ids)


def payers_of(user: User | AnonymousUser) -> QuerySet[Payer]:
    """Return the payers the login uses the portal for."""
    if not is_portal_login(user):
        return Payer.objects.none()
    return Payer.objects.filter(agency_id=user.agency_id, pk__in=relationship_ids(user).payer_ids)


def communities_of(user: User | AnonymousUser) -> QuerySet[Community]:
    """Return the communities the login uses the portal for."""
    if not is_portal_login(user):
        return Community.objects.none()
    return Community.objects.filter(
        agency_id=user.agency_id, pk__in=relationship_ids(user).community_ids
    )


def clients_as_payer(user: User | AnonymousUser, on: datetime.date | None = None) -> ClientQuerySet:
    """Return the clients linked to the login's payers on a day (today by default)."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(pk__in=linked_client_ids(user, on).as_payer)


def clients_as_community(
    user: User | AnonymousUser, on: datetime.date | None = None
) -> ClientQuerySet:
    """Return the residents of the login's communities on a day (today by default)."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(pk__in=linked_client_ids(user, on).as_community)


def calendar_client_filter(user: User | AnonymousUser) -> Q:
    """Return a filter on Client (or `client_id` as pk) for every client on the calendar."""
    return Q(pk__in=calendar_client_ids(user))


def calendar_clients(user: User | AnonymousUser) -> ClientQuerySet:
    """Return the clients listed for the login: self, contacts' clients, linked clients."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(pk__in=calendar_client_ids(user))


def billed_parties(user: User | AnonymousUser) -> dict[str, tuple[int, ...]]:
    """Return, by bill-to column of Invoice, the parties whose invoices the login sees.

    The clients it cares for (the invoices each client keeps from a contact left out), its
    payers and its communities. `invoice_filter` is built from these, and the payer's and
    community's Dashboard sums what they owe by the same ids.
    """
    if not is_portal_login(user):
        return {"bill_to_client": (), "bill_to_payer": (), "bill_to_community": ()}
    rels = relationship_ids(user)
    return {
        "bill_to_client": rels.care_invoice_ids,
        "bill_to_payer": rels.payer_ids,
        "bill_to_community": rels.community_ids,
    }


def invoice_filter(user: User | AnonymousUser) -> Q:
    """Return a filter on Invoice for every invoice billed to the login's parties.

    Literal id lists, one per bill-to column, each served by an index that leads with the
    agency and that column.
    """
    parts = [Q(**{f"{column}__in": ids}) for column, ids in billed_parties(user).items() if ids]
    if not parts:
        return Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def _invoiced(user: PortalLogin) -> QuerySet[Invoice]:
    from careportal.billing.models import Invoice

    return Invoice.objects.visible_to(user).select_related(None).prefetch_related(None).order_by()


def invoices_reach_beyond_calendar(user: User | AnonymousUser) -> TypeGuard[PortalLogin]:
    """Return whether the login's invoices may cover clients off its calendar.

    Only a payer's or a community's: an invoice billed to a client covers that client's
    own care, who is on the calendar of the client and of their contacts.
    """
    rels = relationship_ids(user)
    return bool(rels.payer_ids or rels.community_ids)


def narrowable_client_ids(user: User | AnonymousUser) -> list[int]:
    """Return the ids of the clients a page may be narrowed to (`?client=`), sorted.

    The calendar's clients, and the clients of the invoices the login sees: a payer or a
    community keeps the invoices of a link that has ended, and the Dashboard lists that
    client, so its pages may be narrowed to them (the calendar then shows no visits).
    Those are found among the party's former links (an invoice may be billed to a party
    only for a client it was linked to), then checked on the invoices of those few
    clients: never a pass over every invoice of a large payer.
    """
    # A contact's clients stay listed when the client keeps their calendar from the contact.
    calendar = sorted(set(calendar_client_ids(user)) | set(relationship_ids(user).care_client_ids))
    if not invoices_reach_beyond_calendar(user):
        return calendar

    def compute() -> list[int]:
        rels = relationship_ids(user)
        former: set[int] = set()
        if rels.payer_ids:
            former |= set(
                ClientPayer.objects.filter(
                    agency_id=user.agency_id, payer_id__in=rels.payer_ids
                ).values_list("client_id", flat=True)
            )
        if rels.community_ids:
            former |= set(
                Residence.objects.filter(
                    agency_id=user.agency_id, community_id__in=rels.community_ids
                ).values_list("client_id", flat=True)
            )
        former -= set(calendar)
        if not former:
            return calendar
        invoiced = (
            _invoiced(user)
            .filter(client_id__in=sorted(former))
            .exclude(client_id__in=_discharged(user))
            .values_list("client_id", flat=True)
            .distinct()
        )
        return sorted(set(calendar) | set(invoiced))

    return _remembered(("narrowable", user.pk), compute)


def narrowable_client_filter(user: User | AnonymousUser) -> Q:
    """Return a filter on Client for the clients a page may be narrowed to (`?client=`)."""
    return Q(pk__in=narrowable_client_ids(user))


def narrowable_clients(user: User | AnonymousUser) -> ClientQuerySet:
    """Return the clients a page may be narrowed to, as `?client=` accepts them."""
    if not is_portal_login(user):
        return Client.objects.none()
    return _clients(user).filter(pk__in=narrowable_client_ids(user))


def narrowable_client(user: User | AnonymousUser, client_id: int) -> Client | None:
    """Return the client a page may be narrowed to by this id, or None: one query.

    A calendar client, or the login's own or a contact's client (even one whose calendar
    the client keeps from it), is fetched by its id; any other id is accepted only when an
    invoice the login sees covers that client (an EXISTS on the invoice's agency and client).
    """
    if not is_portal_login(user):
        return None
    candidates = _clients(user).filter(pk=client_id)
    listed = client_id in relationship_ids(user).care_client_ids
    if not listed and client_id not in calendar_client_ids(user):
        if not invoices_reach_beyond_calendar(user):
            return None
        candidates = candidates.filter(Exists(_invoiced(user).filter(client_id=OuterRef("pk"))))
    return candidates.first()


def service_plan_client_filter(user: User | AnonymousUser) -> Q:
    """Return a filter on Client for service plans: the client's own login alone."""
    if not is_portal_login(user):
        return Q(pk__in=[])
    return Q(pk__in=relationship_ids(user).own_client_ids)


def has_care_plan(user: User | AnonymousUser) -> bool:
    """Return whether the login is a client (the Care Plan tab); remembered per request."""
    return bool(relationship_ids(user).own_client_ids)


def relationships(user: User | AnonymousUser) -> dict[str, list[Any]]:
    """Return the login's relationships, for labels: client, contacts, payers, communities."""
    if not is_portal_login(user):
        return {"client": [], "contacts": [], "payers": [], "communities": []}
    # The ids (one query, remembered for the request) say which kinds the login has: the
    # records of a kind it has none of are not asked for.
    ids = relationship_ids(user)
    return {
        "client": list(own_client(user)) if ids.own_client_ids else [],
        "contacts": (
            list(
                EmergencyContact.objects.filter(agency_id=user.agency_id, user=user)
                .exclude(client__status=ClientStatus.DISCHARGED)
                .select_related("client")
            )
            if ids.contact_client_ids
            else []
        ),
        "payers": list(payers_of(user)) if ids.payer_ids else [],
        "communities": list(communities_of(user)) if ids.community_ids else [],
    }
