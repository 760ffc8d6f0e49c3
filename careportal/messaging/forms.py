from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from careportal.messaging.services import one_line


class ComposeForm(forms.Form):
    # The same plain words for an empty field as for one left blank with spaces.
    subject = forms.CharField(
        label=_("Subject"), max_length=200, error_messages={"required": _("Write a subject.")}
    )
    body = forms.CharField(
        label=_("Message"),
        error_messages={"required": _("Write your message.")},
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 14, "aria-describedby": "id_body-help"}),
        help_text=_("Write your message below the greeting."),
    )

    def clean_subject(self) -> str:
        # Line breaks in a subject could start new email headers; keep it to one line.
        subject = one_line(self.cleaned_data["subject"])
        if not subject:
            raise forms.ValidationError(_("Write a subject."))
        return subject

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Write your message."))
        return body
