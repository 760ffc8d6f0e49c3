from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "careportal.billing"
    label = "billing"
