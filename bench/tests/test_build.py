"""The data builder's rules that need no PostgreSQL: fillers, months, reuse."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import models
from django.utils import timezone

from bench import build
from careportal.billing.models import Invoice
from careportal.people.models import Client


def _field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)


def test_it_fills_a_column_with_its_default():
    assert build.filler(_field(Invoice, "adjustments")) == Decimal("0.00")


def test_it_fills_a_nullable_column_with_null():
    assert build.filler(_field(Client, "date_of_birth")) is None


def test_it_fills_a_required_column_without_default_with_a_plain_value():
    number = models.PositiveIntegerField()
    number.set_attributes_from_name("visits_counted")
    label = models.CharField(max_length=10)
    label.set_attributes_from_name("label")

    assert build.filler(number) == 0
    assert build.filler(label) == ""


def test_it_refuses_a_required_link_it_cannot_guess():
    link = _field(Invoice, "client")

    with pytest.raises(build.BuildError, match="billing.Invoice.client"):
        build.filler(link)


def test_it_finds_the_months_of_an_invoice():
    first = build.month_start(datetime.date(2026, 3, 15), 3)

    assert first == datetime.date(2025, 12, 1)
    assert build.month_end(first) == datetime.date(2025, 12, 31)
    assert build.month_end(datetime.date(2028, 2, 1)) == datetime.date(2028, 2, 29)


def test_it_changes_the_fingerprint_with_the_builder_version(monkeypatch):
    before = build.fingerprint()
    monkeypatch.setattr(build, "BUILDER_VERSION", build.BUILDER_VERSION + 1)

    assert build.fingerprint() != before


def test_it_reuses_data_of_the_same_schema_built_this_week():
    now = timezone.now()
    state = build.BuildState(build.fingerprint(), now - datetime.timedelta(days=6), 90.0)

    assert build.is_current(state, now)


def test_it_rebuilds_data_a_week_old_or_of_another_schema():
    now = timezone.now()
    old = build.BuildState(build.fingerprint(), now - datetime.timedelta(days=8), 90.0)
    other = build.BuildState("another schema", now, 90.0)

    assert not build.is_current(old, now)
    assert not build.is_current(other, now)
    assert not build.is_current(None, now)
