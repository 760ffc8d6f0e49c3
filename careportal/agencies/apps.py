from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "careportal.agencies"
    label = "agencies"
