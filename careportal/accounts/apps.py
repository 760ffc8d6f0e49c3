from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "careportal.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Connect the session bookkeeping (SessionRecord) to sign-in and sign-out.
        from careportal.accounts import sessions  # noqa: F401
