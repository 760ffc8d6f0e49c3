"""The invoice list's filter: status as people see it, and a range of issue dates."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from careportal.billing.models import ShownStatus

# Drafts never reach the portal, so they are not offered.
PORTAL_STATUSES = [(s.value, s.label) for s in ShownStatus if s != ShownStatus.DRAFT]
# Our own words: Django's Spanish catalog is Spain's ("Introduzca una fecha válida.").
DATE_ERRORS = {"invalid": _("Please type a date, such as 03/14/2026.")}


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status")), *PORTAL_STATUSES], required=False
    )
    issued_from = forms.DateField(
        label=_("Issued from"),
        required=False,
        error_messages=DATE_ERRORS,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    issued_to = forms.DateField(
        label=_("Issued to"),
        required=False,
        error_messages=DATE_ERRORS,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        # A form's own clean() returns its cleaned data.
        data = cast("dict[str, Any]", super().clean())
        start, end = data.get("issued_from"), data.get("issued_to")
        if start and end and start > end:
            # Shown to the user, and the range is dropped rather than showing nothing.
            self.add_error(None, _("The first date must be on or before the second."))
            data.pop("issued_from", None)
            data.pop("issued_to", None)
        return data
