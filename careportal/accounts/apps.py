from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "careportal.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Connect the session bookkeeping (SessionRecord) to sign-in and sign-out, and the
        # language saved in the account to the language cookie at sign-in.
        from careportal.accounts import languages, sessions  # noqa: F401
