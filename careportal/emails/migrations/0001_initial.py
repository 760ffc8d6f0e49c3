# AgencyEmail, moved from invitations (issue 12): created in this app's state only. Its
# table, made by invitations' 0002_agencyemail, keeps its name and every row.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("agencies", "0001_initial"),
        ("invitations", "0004_move_agencyemail_to_emails"),
        ("post_office", "0014_alter_email_recipient_delivery_status_and_more"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AgencyEmail",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("recipient", models.CharField(max_length=1000, verbose_name="to")),
                        ("subject", models.CharField(max_length=255, verbose_name="subject")),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("reset", "Password reset"),
                                    ("confirm", "Email confirmation"),
                                    ("notice", "Notice"),
                                    ("message", "Message to the agency"),
                                ],
                                default="notice",
                                max_length=12,
                                verbose_name="kind",
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="created"
                            ),
                        ),
                        (
                            "agency",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="agencies.agency",
                                verbose_name="agency",
                            ),
                        ),
                        (
                            "email",
                            models.OneToOneField(
                                editable=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="post_office.email",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "email",
                        "verbose_name_plural": "emails",
                        "db_table": "invitations_agencyemail",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["agency", "created_at"],
                                name="invitations_agency__37948a_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
