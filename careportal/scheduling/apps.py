from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "careportal.scheduling"
    label = "scheduling"
