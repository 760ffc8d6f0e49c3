"""The CSV file of communities, each with up to two of its people (organisations.py's shape).

Columns: external_id, name, kind, contact_person, email, phone, address, person_1_name,
person_1_email, person_2_name, person_2_email. A community is matched by external_id, else
by email, else (a row with neither) by name; a person of a matched community by email.
`kind` is one of assisted_living, independent_living, memory_care, other (or its words).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.imports import cells, organisations
from careportal.imports.cells import Counts
from careportal.imports.organisations import PlannedOrganisation
from careportal.people.models import Community, CommunityKind, CommunityPerson

SHAPE = organisations.Shape(
    model=Community, person_model=CommunityPerson, link="community", kinds=CommunityKind
)
COLUMNS = organisations.COLUMNS
EXAMPLE_ROWS = [
    {
        "external_id": "H-301",
        "name": "Willow Court",
        "kind": "assisted_living",
        "contact_person": "Dana Director",
        "email": "office@willowcourt.example",
        "phone": "555 0300",
        "address": "30 Willow Lane, Springfield",
        "person_1_name": "Nina Nurse",
        "person_1_email": "nina.nurse@willowcourt.example",
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
