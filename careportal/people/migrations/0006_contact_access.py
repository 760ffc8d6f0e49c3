from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("people", "0005_relationship_from_a_list")]

    operations = [
        migrations.AddField(
            model_name="emergencycontact",
            name="sees_calendar",
            field=models.BooleanField(default=True, verbose_name="sees the calendar"),
        ),
        migrations.AddField(
            model_name="emergencycontact",
            name="sees_invoices",
            field=models.BooleanField(default=True, verbose_name="sees invoices"),
        ),
        migrations.AddField(
            model_name="emergencycontact",
            name="access_ends_on",
            field=models.DateField(
                blank=True,
                help_text="The last day this contact sees anything. Empty: no end.",
                null=True,
                verbose_name="access ends on",
            ),
        ),
    ]
