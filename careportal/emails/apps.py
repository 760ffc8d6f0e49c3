from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailsConfig(AppConfig):
    name = "careportal.emails"
    label = "emails"
    verbose_name = _("Emails")

    def ready(self) -> None:
        # A task enqueued (django-tasks, database backend) wakes an idle worker, as email does.
        from careportal.emails import delivery

        delivery.connect_task_wakeup()
