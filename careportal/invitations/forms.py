"""Change Password: the first sign-in of an invited login."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from careportal.accounts.passwords import password_errors
from careportal.accounts.security import QUESTIONS
from careportal.invitations.models import Invitation


class ChangePasswordForm(forms.Form):
    current_password = forms.CharField(
        label=_("Current Password"),
        help_text=_("The one-time password from your email."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "one-time-code"}),
        error_messages={"required": _("Please type the one-time password from your email.")},
    )
    new_password = forms.CharField(
        label=_("New Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Please choose a new password.")},
    )
    confirm_password = forms.CharField(
        label=_("Confirm Password"),
        help_text=_("Type the new password again."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Please type the new password a second time.")},
    )
    security_question = forms.ChoiceField(
        label=_("Security question"),
        choices=[("", _("Choose a question")), *QUESTIONS],
        help_text=_("If you ever forget your password, we will ask you this."),
        error_messages={"required": _("Please choose a security question.")},
    )
    answer = forms.CharField(
        label=_("Answer"),
        max_length=200,
        help_text=_("Capital letters and extra spaces do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Please type the answer to your security question.")},
    )

    def __init__(self, *args: Any, invitation: Invitation, **kwargs: Any) -> None:
        self.invitation = invitation
        super().__init__(*args, **kwargs)
        # Spell out which error belongs to which field for screen readers.
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-describedby", f"{name}_hint {name}_errors")

    def clean_current_password(self) -> str:
        value: str = self.cleaned_data["current_password"]
        if not self.invitation.check_one_time_password(value):
            raise ValidationError(
                _(
                    "This is not the one-time password from your email. Please copy it "
                    "exactly as it is written there."
                ),
                code="wrong_one_time_password",
            )
        return value

    def clean_new_password(self) -> str:
        value: str = self.cleaned_data["new_password"]
        errors = password_errors(value, self.invitation.user)
        if errors:
            raise ValidationError(errors)
        return value

    def clean_answer(self) -> str:
        value = " ".join(self.cleaned_data["answer"].split())
        if len(value) < 2:
            raise ValidationError(
                _("Your answer is too short. Please type at least two letters."),
                code="answer_too_short",
            )
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        new, confirm = data.get("new_password"), data.get("confirm_password")
        if new and confirm is not None and new != confirm:
            self.add_error(
                "confirm_password",
                ValidationError(
                    _("The two new passwords are not the same. Please type them again."),
                    code="password_mismatch",
                ),
            )
        return data


class NewInvitationForm(forms.Form):
    username = forms.CharField(
        label=_("Username or email"),
        max_length=254,
        error_messages={"required": _("Please type your username or your email address.")},
    )
