"""The invoice as a PDF, drawn with fpdf2 (pure Python, no system libraries).

fpdf2's built-in fonts cover Latin-1 only, which holds English and Spanish; any other
character is transliterated (é stays, "€" becomes "EUR", a curly quote a straight one).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from careportal.billing.models import Invoice
from careportal.portal.templatetags.money import format_money

_REPLACEMENTS = {
    "€": "EUR ",
    "–": "-",
    "—": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "•": "-",
    # Letters that Unicode does not decompose into a base letter and an accent.
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Œ": "OE",
    "œ": "oe",
}
FONT = "Helvetica"


def latin1(text: Any) -> str:
    """Return `text` with every character the PDF core fonts cannot draw replaced."""
    out = []
    for char in str(text):
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            if char in _REPLACEMENTS:
                out.append(_REPLACEMENTS[char])
                continue
            plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore")
            out.append(plain.decode("latin-1") or "?")
        else:
            out.append(char)
    return "".join(out)


def _date(value: Any) -> str:
    return formats.date_format(value) if value else ""


def _bill_to_lines(invoice: Invoice) -> list[str]:
    party = invoice.bill_to
    name = getattr(party, "full_name", None) or str(party)
    lines = [name]
    address = getattr(party, "address", "")
    if address:
        lines.extend(address.splitlines())
    return lines


def invoice_pdf(invoice: Invoice) -> bytes:
    """Return the invoice's details as a PDF document (the same content as the page)."""
    agency = invoice.agency
    currency = agency.currency

    def money(value: Any) -> str:
        return latin1(format_money(value, currency))

    pdf = FPDF(format="Letter")
    pdf.set_title(latin1(_("Invoice %(number)s") % {"number": invoice.number}))
    pdf.set_author(latin1(agency.name))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: int = 11, style: str = "") -> None:
        pdf.set_font(FONT, style=style, size=size)
        pdf.multi_cell(width, 6, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(agency.name, size=16, style="B")
    for text in [*agency.address.splitlines(), agency.phone]:
        if text.strip():
            line(text)
    pdf.ln(4)
    line(_("Invoice %(number)s") % {"number": invoice.number}, size=18, style="B")
    line(_("Status: %(status)s") % {"status": invoice.get_shown_status_display()}, style="B")
    pdf.ln(2)

    facts = [
        (_("Bill to"), "\n".join(_bill_to_lines(invoice))),
        (_("Client"), invoice.client.full_name),
        (_("Issue date"), _date(invoice.issue_date)),
        (_("Due date"), _date(invoice.due_date)),
        (
            _("Service period"),
            _("%(start)s to %(end)s")
            % {"start": _date(invoice.period_start), "end": _date(invoice.period_end)},
        ),
    ]
    pdf.set_font(FONT, size=11)
    with pdf.table(col_widths=(30, 70), first_row_as_headings=False, borders_layout="NONE") as t:
        for label, value in facts:
            row = t.row()
            row.cell(latin1(label))
            row.cell(latin1(value))
    pdf.ln(4)

    line(_("Visits billed"), size=13, style="B")
    pdf.set_font(FONT, size=10)
    with pdf.table(
        col_widths=(18, 30, 16, 10, 14, 16),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        header = table.row()
        for title in (_("Date"), _("Service"), _("Caregiver"), _("Hours"), _("Rate"), _("Amount")):
            header.cell(latin1(title))
        for item in invoice.lines.all():
            row = table.row()
            row.cell(latin1(_date(item.date)))
            row.cell(latin1(item.service))
            row.cell(latin1(item.caregiver.family_name_shown if item.caregiver else ""))
            row.cell(latin1(f"{item.hours:.2f}"))
            row.cell(money(item.rate))
            row.cell(money(item.amount))
    pdf.ln(4)

    totals = [
        (_("Subtotal"), invoice.subtotal),
        (_("Tax"), invoice.tax),
        (_("Adjustments"), invoice.adjustments),
        (_("Total"), invoice.total),
    ]
    totals += [
        (_("Payment on %(date)s") % {"date": _date(payment.date)}, payment.amount)
        for payment in invoice.payments.all()
    ]
    totals.append((_("Amount due"), invoice.balance))
    pdf.set_font(FONT, size=11)
    with pdf.table(
        col_widths=(70, 30),
        text_align=("RIGHT", "RIGHT"),
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        for label, value in totals:
            row = table.row()
            row.cell(latin1(label))
            row.cell(money(value))
    if agency.payment_instructions.strip():
        pdf.ln(6)
        line(_("How to pay"), size=13, style="B")
        line(agency.payment_instructions)
    return bytes(pdf.output())
