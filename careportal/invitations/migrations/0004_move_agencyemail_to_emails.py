# AgencyEmail moved to the emails app (issue 12): gone from this app's state only; its
# table stays as it is, owned by emails.AgencyEmail from emails' 0001_initial on.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0003_wrong_tries_and_new_invitation_requests"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AgencyEmail")],
            database_operations=[],
        ),
    ]
