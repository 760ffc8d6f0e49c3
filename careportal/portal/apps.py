from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "careportal.portal"
    label = "portal"
