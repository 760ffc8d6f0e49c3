"""Django's own admin, made the platform operators' site (see site.OperatorAdminSite).

Listed in INSTALLED_APPS in place of "django.contrib.admin"; kept apart from apps.py and
free of model imports because it is loaded before the models are.
"""

from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    default_site = "careportal.backoffice.site.OperatorAdminSite"

    def ready(self) -> None:
        """Load every app's admin module, then take off what operators must not see."""
        super().ready()
        from django.contrib import admin

        from careportal.backoffice.site import limit_operator_site

        limit_operator_site(admin.site)
