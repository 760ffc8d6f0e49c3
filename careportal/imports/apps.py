from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "careportal.imports"
    label = "imports"
