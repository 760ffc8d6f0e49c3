"""The CSV file of payers, each with up to two of its people (organisations.py's shape).

Columns: external_id, name, kind, contact_person, email, phone, address, person_1_name,
person_1_email, person_2_name, person_2_email. A payer is matched by external_id, else by
email, else (a row with neither) by name; a person of a matched payer by email. `kind` is
one of ltc_insurer, medicaid, va, family, other (or its words).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.imports import cells, organisations
from careportal.imports.cells import Counts
from careportal.imports.organisations import PlannedOrganisation
from careportal.people.models import PartyKind, Payer, PayerPerson

SHAPE = organisations.Shape(model=Payer, person_model=PayerPerson, link="payer", kinds=PartyKind)
COLUMNS = organisations.COLUMNS
EXAMPLE_ROWS = [
    {
        "external_id": "P-201",
        "name": "Evergreen Long-Term Care Insurance",
        "kind": "ltc_insurer",
        "contact_person": "Carol Case",
        "email": "claims@evergreen.example",
        "phone": "555 0200",
        "address": "1 Insurance Plaza, Springfield",
        "person_1_name": "Carol Case",
        "person_1_email": "carol.case@evergreen.example",
    }
]


def plan_rows(agency: Agency, rows: list[dict[str, Any]]) -> list[PlannedOrganisation]:
    planned = organisations.plan_rows(SHAPE, agency, rows)
    return cells.flag_examples(planned, rows, EXAMPLE_ROWS, COLUMNS)


def save_rows(
    planned: Sequence[PlannedOrganisation],
    agency: Agency,
    actor: User | None,
    progress: Callable[[int], None],
) -> Counts:
    return organisations.save_rows(SHAPE, planned, agency, actor, progress)


def export_rows(agency: Agency) -> Iterator[list[str]]:
    return organisations.export_rows(SHAPE, agency)
