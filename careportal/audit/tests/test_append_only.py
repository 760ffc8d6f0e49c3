"""Nobody edits the audit trail: not through the model, not through SQL on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.audit.models import AuditEvent


def test_it_refuses_to_change_or_delete_an_event_through_the_orm(db):
    event = record(Action.CLIENT_VIEWED)
    event.action = "test.rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="test.rewritten")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "client.viewed"


def test_it_refuses_to_change_or_delete_an_event_in_the_database(db):
    """On PostgreSQL the migration's trigger refuses raw SQL; on SQLite it installs nothing."""
    event = record(Action.CLIENT_VIEWED)
    table = AuditEvent._meta.db_table
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            assert cursor.fetchall() == []
        return
    for sql in (
        f"UPDATE {table} SET action = 'test.rewritten' WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "client.viewed"


def test_it_still_appends(db):
    record(Action.CLIENT_VIEWED)
    record(Action.INVOICE_VIEWED)
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "invoice.viewed",
        "client.viewed",
    ]
