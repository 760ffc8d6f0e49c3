"""Forms of sign-in, Forgot password and account settings. Forms validate; services act."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from careportal.accounts.languages import language_choices
from careportal.accounts.security import QUESTIONS

if TYPE_CHECKING:
    from careportal.accounts.models import User


def _password_widget(autocomplete: str) -> forms.PasswordInput:
    return forms.PasswordInput(
        attrs={"autocomplete": autocomplete, "class": "password-input", "spellcheck": "false"}
    )


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Username or email"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=_password_widget("current-password"),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class ForgotPasswordForm(forms.Form):
    username = forms.CharField(
        label=_("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )


class NewPasswordMixin(forms.Form):
    """New Password and Confirm Password, checked against the agency's policy."""

    user: User

    new_password = forms.CharField(
        label=_("New Password"),
        strip=False,
        max_length=128,
        widget=_password_widget("new-password"),
    )
    confirm_password = forms.CharField(
        label=_("Confirm Password"),
        strip=False,
        max_length=128,
        widget=_password_widget("new-password"),
    )

    def clean_new_password(self) -> str:
        password: str = self.cleaned_data["new_password"]
        validate_password(password, self.user)
        return password

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        new, confirm = cleaned.get("new_password"), cleaned.get("confirm_password")
        if new and confirm and new != confirm:
            self.add_error(
                "confirm_password", _("The two passwords are not the same. Please type them again.")
            )
        return cleaned


class ResetPasswordForm(NewPasswordMixin):
    answer = forms.CharField(label=_("Answer"), max_length=200, strip=True)
    field_order = ["answer", "new_password", "confirm_password"]

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)


class CurrentPasswordMixin(forms.Form):
    user: User

    current_password = forms.CharField(
        label=_("Current Password"),
        strip=False,
        max_length=4096,
        widget=_password_widget("current-password"),
    )

    def clean_current_password(self) -> str:
        password: str = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise ValidationError(_("That is not your current password."))
        return password


class ChangePasswordForm(NewPasswordMixin, CurrentPasswordMixin):
    field_order = ["current_password", "new_password", "confirm_password"]

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        current, new = cleaned.get("current_password"), cleaned.get("new_password")
        if current and new and current == new:
            self.add_error("new_password", _("Choose a password different from your current one."))
        return cleaned


class SecurityQuestionForm(CurrentPasswordMixin):
    security_question = forms.ChoiceField(label=_("Security question"), choices=QUESTIONS)
    answer = forms.CharField(label=_("Answer"), max_length=200, strip=True)

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_answer(self) -> str:
        answer: str = self.cleaned_data["answer"]
        if len(" ".join(answer.split())) < 2:
            raise ValidationError(_("Please give a longer answer."))
        return answer


class EmailChangeForm(CurrentPasswordMixin):
    email = forms.EmailField(
        label=_("New email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        # Our own words: Django's Spanish catalog is Spain's ("Introduzca ...").
        error_messages={
            "invalid": _("Please type a whole email address, such as name@example.com.")
        },
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        if email.lower() == (self.user.email or "").lower():
            raise ValidationError(_("That is already your email address."))
        return email


class PasswordCheckForm(CurrentPasswordMixin):
    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=language_choices,
        help_text=_("The portal and the emails we send you use this language."),
    )
