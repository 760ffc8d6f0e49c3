from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "careportal.api"
    label = "api"
    verbose_name = _("Integration API")

    def ready(self) -> None:
        # Kept answers to idempotent creates go once their 24 hours are over, in each pass
        # of the worker (emails.delivery): one DELETE on the created_at index.
        from careportal.api.services import purge_idempotent_requests
        from careportal.emails.delivery import register_step

        register_step("idempotent_requests", purge_idempotent_requests)
