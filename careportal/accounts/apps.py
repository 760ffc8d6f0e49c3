from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "careportal.accounts"
    label = "accounts"
    verbose_name = _("Accounts and sign-in")

    def ready(self) -> None:
        # Connect the session bookkeeping (SessionRecord) to sign-in and sign-out, and the
        # language saved in the account to the language cookie at sign-in.
        from careportal.accounts import languages, sessions  # noqa: F401
        from careportal.accounts.models import ForgotPasswordRequest
        from careportal.accounts.recovery import process_reset_requests
        from careportal.emails.delivery import register_step

        # Forgot password's requests, handled in each pass of the worker (emails.delivery).
        register_step(
            "password_resets",
            process_reset_requests,
            waiting=ForgotPasswordRequest.objects.exists,
        )
