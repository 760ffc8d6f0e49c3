from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "careportal.accounts"
    label = "accounts"
