"""The owner's form for the agency's settings: rules may be tightened, never loosened."""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from careportal.accounts.passwords import PRESET_MIN_LENGTH
from careportal.agencies.images import ImageUploadField
from careportal.agencies.models import Agency

# The settings in the groups of the back office's page, in order.
CONTACT_FIELDS = (
    "name",
    "owner_name",
    "owner_email",
    "message_email",
    "phone",
    "address",
    "time_zone",
    "currency",
    "logo",
    "payment_instructions",
)
ACCOUNT_FIELDS = (
    "password_preset",
    "password_min_length",
    "password_history",
    "password_expiry_days",
    "max_failed_sign_ins",
    "session_idle_minutes",
    "invitation_valid_hours",
    "require_portal_two_factor",
)
MESSAGE_FIELDS = (
    "message_subject_template",
    "message_body_template",
    "message_subject_template_es",
    "message_body_template_es",
)


class AgencySettingsForm(forms.ModelForm[Agency]):
    time_zone = forms.ChoiceField(label=_("time zone"), choices=())
    # Checked, re-encoded and renamed at random (agencies.images): the logo is public.
    logo = ImageUploadField(label=_("logo"), required=False)

    class Meta:
        model = Agency
        fields = CONTACT_FIELDS + ACCOUNT_FIELDS + MESSAGE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = [
            (z, z) for z in sorted(available_timezones())
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        preset = cleaned.get("password_preset")
        minimum = cleaned.get("password_min_length")
        floor = PRESET_MIN_LENGTH.get(preset or "", 12)
        if minimum is not None and minimum < floor:
            self.add_error(
                "password_min_length",
                _("The chosen rules already ask for %(floor)d characters; it can only be raised.")
                % {"floor": floor},
            )
        return cleaned
