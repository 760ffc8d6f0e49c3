from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "careportal.imports"
    label = "imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        # An import whose worker died is failed, not left "Importing" for ever.
        from careportal.emails.abandoned import register_abandoned_handler
        from careportal.imports import abandoned

        register_abandoned_handler(abandoned.TASK_PATH, abandoned.fail_abandoned_import)
