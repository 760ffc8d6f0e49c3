"""My privacy's forms: what an emergency contact may see, and the list's filters."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class ContactAccessForm(forms.Form):
    """The client's choice for one emergency contact: calendar, invoices, a last day."""

    sees_calendar = forms.BooleanField(label=_("Can see my calendar of visits"), required=False)
    sees_invoices = forms.BooleanField(label=_("Can see my invoices"), required=False)
    access_ends_on = forms.DateField(
        label=_("Last day they can see anything (optional)"),
        required=False,
        help_text=_("After this day they see nothing. Leave it empty for no end."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={
            "invalid": _("Please write the date as year-month-day, for example 2027-03-31.")
        },
    )

    def __init__(self, *args: Any, today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_access_ends_on(self) -> datetime.date | None:
        day: datetime.date | None = self.cleaned_data.get("access_ends_on")
        if day is not None and day < self.today:
            raise forms.ValidationError(
                _("The last day cannot be in the past. Choose today or a later day.")
            )
        return day
