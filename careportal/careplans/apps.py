from django.apps import AppConfig


class CareplansConfig(AppConfig):
    name = "careportal.careplans"
    label = "careplans"
