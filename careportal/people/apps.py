from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "careportal.people"
    label = "people"
