"""The kinds of CSV file the back office imports and exports, each with its own module.

A kind names its columns, the template's example rows, how rows are planned (checked and
matched, nothing saved), how the planned rows are saved inside the import's transaction
and how the agency's records are exported (the header first, cells neutralised).
`save_rows(planned, agency, actor, progress)` raises cells.RowRefused for a row refused
at save time, calls `progress(done)` with the number of the file's rows done so far
(skipped rows count as done; as often as it likes), and returns cells.Counts. The upload
page, the templates, the exports and the import itself all read this registry: a kind
registered here is offered everywhere, in the order of registration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from django.utils.functional import Promise

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.imports import clients, communities, links, payers, visits
from careportal.imports.cells import Counts, RowError, RowRefused
from careportal.imports.models import ImportKind

__all__ = ["KINDS", "Counts", "Kind", "Planned", "RowRefused", "kind_of", "module_kind", "register"]


class Planned(Protocol):
    """A row of a file made into records, not saved."""

    line: int
    errors: list[RowError]

    @property
    def action(self) -> str:
        """Return "create", "update" or "skip"."""
        ...


@dataclass(frozen=True)
class Kind:
    name: str  # stored in ClientImport.kind
    label: str | Promise  # lazily translated, e.g. "Payers with their people"
    columns: tuple[str, ...]
    example_rows: list[dict[str, str]]  # the template's example rows
    plan_rows: Callable[[Agency, list[dict[str, Any]]], Sequence[Planned]]
    # Each kind saves the rows its own plan_rows made.
    save_rows: Callable[[Sequence[Any], Agency, User | None, Callable[[int], None]], Counts]
    export_rows: Callable[[Agency], Iterator[list[str]]]  # header first, neutralised cells

    def template_rows(self) -> list[list[str]]:
        """Return the template's header and its example rows."""
        return [
            list(self.columns),
            *([row.get(name, "") for name in self.columns] for row in self.example_rows),
        ]


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    KINDS[kind.name] = kind


def module_kind(name: ImportKind, module: ModuleType) -> Kind:
    """Return the kind a module makes: its COLUMNS, EXAMPLE_ROWS and three functions."""
    return Kind(
        name=name.value,
        label=name.label,
        columns=tuple(module.COLUMNS),
        example_rows=module.EXAMPLE_ROWS,
        plan_rows=module.plan_rows,
        save_rows=module.save_rows,
        export_rows=module.export_rows,
    )


def kind_of(name: str) -> Kind:
    """Return the registered kind of this name; KeyError for any other."""
    return KINDS[name]


register(module_kind(ImportKind.CLIENTS, clients))
register(module_kind(ImportKind.PAYERS, payers))
register(module_kind(ImportKind.COMMUNITIES, communities))
register(module_kind(ImportKind.LINKS, links))
register(module_kind(ImportKind.VISITS, visits))
