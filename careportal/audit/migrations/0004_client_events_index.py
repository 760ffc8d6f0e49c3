from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_ip_address_label")]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(client_id__isnull=False),
                fields=["agency", "client_id", "-created_at"],
                name="audit_event_client_idx",
            ),
        ),
    ]
