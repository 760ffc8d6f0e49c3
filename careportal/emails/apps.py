from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailsConfig(AppConfig):
    name = "careportal.emails"
    label = "emails"
    verbose_name = _("Emails")

    def ready(self) -> None:
        # A task enqueued (django-tasks, database backend) wakes an idle worker, as email does.
        from careportal.emails import abandoned, delivery

        delivery.connect_task_wakeup()
        # Before the tasks step: a task of a dead worker is failed before others run.
        delivery.register_step("abandoned_tasks", abandoned.fail_abandoned_tasks_now_and_then)
