from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "careportal.backoffice"
    label = "backoffice"
