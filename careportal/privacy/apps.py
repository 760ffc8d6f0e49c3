from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "careportal.privacy"
    verbose_name = _("My privacy")

    def ready(self) -> None:
        # A copy whose worker died is failed, not left "Being made" until GIVE_UP_AFTER.
        from careportal.emails.abandoned import register_abandoned_handler
        from careportal.privacy import abandoned

        register_abandoned_handler(abandoned.TASK_PATH, abandoned.fail_abandoned_copy)
