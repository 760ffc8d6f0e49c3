"""On PostgreSQL, the database itself refuses to change or delete an audit event.

The model refuses too (AuditEvent.save and delete, and its queryset), but raw SQL, a
shell or another program with the application's role would not go through it. A trigger
raises on every UPDATE and DELETE of a row. TRUNCATE is left alone: it is how a test
database is emptied between tests, and it needs the table's owner, not a row writer.
SQLite has no such guard here; it is for development and tests only.
"""

from django.db import migrations

FUNCTION = "careportal_audit_append_only"
TRIGGER = "careportal_audit_append_only"

CREATE = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'Audit events are append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {TRIGGER}
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""

DROP = f"""
DROP TRIGGER IF EXISTS {TRIGGER} ON audit_auditevent;
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
