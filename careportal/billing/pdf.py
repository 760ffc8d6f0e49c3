"""The invoice as a PDF, drawn with fpdf2 (pure Python, no system libraries).

fpdf2's built-in fonts cover Latin-1 only, which holds English and Spanish; any other
character is transliterated (é stays, "€" becomes "EUR", a curly quote a straight one).
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django.utils.translation import gettext as _
from fpdf import FPDF

from careportal.billing.models import Invoice, InvoiceLine, Payment
from careportal.portal.days import shown_day
from careportal.portal.templatetags.money import format_money

if TYPE_CHECKING:
    from fpdf.fonts import CoreFont

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


def latin1(text: object) -> str:
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


def _date(value: datetime.date | None) -> str:
    return shown_day(value) if value else ""


def _bill_to_lines(invoice: Invoice) -> list[str]:
    party = invoice.bill_to
    name = getattr(party, "full_name", None) or str(party)
    lines = [name]
    address = getattr(party, "address", "")
    if address:
        lines.extend(address.splitlines())
    return lines


LINE_HEIGHT = 6


def _width(pdf: FPDF, text: str) -> float:
    """Return the width of Latin-1 `text` in the current core font.

    `FPDF.get_string_width` gives the same figure, through text shaping and styling
    machinery that plain text in a core font does not need.
    """
    # The PDF draws in a core font alone (FONT), whose widths are by character.
    widths = cast("CoreFont", pdf.current_font).cw
    return sum(widths[char] for char in text) * pdf.font_size_pt * 0.001 / pdf.k


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Return `text` cut into lines that fit `width` in the current font.

    Words stay whole unless one alone is wider than the column. fpdf2's own tables break
    every cell with its general line breaker, which cost most of the PDF's time.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if _width(pdf, candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = word
            while len(current) > 1 and _width(pdf, current) > width:
                cut = len(current) - 1
                while cut > 1 and _width(pdf, current[:cut]) > width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        lines.append(current)
    return lines


def _draw(pdf: FPDF, left: float, top: float, width: float, text: str, align: str) -> None:
    """Draw one line of text where `FPDF.cell(width, LINE_HEIGHT, text, align=align)` at
    (left, top) would, without the cell's general machinery (a third of the PDF's time)."""
    if not text:
        return
    padding = pdf.c_margin
    x = left + width - padding - _width(pdf, text) if align == "R" else left + padding
    pdf.text(x, top + 0.5 * LINE_HEIGHT + 0.3 * pdf.font_size, text)


def _row(
    pdf: FPDF,
    cells: list[str],
    widths: list[float],
    aligns: tuple[str, ...],
    *,
    rule_below: bool = False,
) -> None:
    """Draw one table row of plain cells, each wrapped to its column; a rule under it if asked."""
    padding = pdf.c_margin
    wrapped = [
        _wrap(pdf, latin1(text), width - 2 * padding)
        for text, width in zip(cells, widths, strict=True)
    ]
    height = LINE_HEIGHT * max(len(lines) for lines in wrapped)
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()
    left = pdf.l_margin
    for lines, width, align in zip(wrapped, widths, aligns, strict=True):
        for number, text in enumerate(lines):
            _draw(pdf, left, top + number * LINE_HEIGHT, width, text, align)
        left += width
    bottom = top + height
    if rule_below:
        pdf.line(pdf.l_margin, bottom, pdf.l_margin + sum(widths), bottom)
    pdf.set_xy(pdf.l_margin, bottom)


def _widths(pdf: FPDF, shares: tuple[int, ...]) -> list[float]:
    """Return column widths across the page, in proportion to `shares`."""
    return [pdf.epw * share / sum(shares) for share in shares]


def invoice_pdf(
    invoice: Invoice, *, lines: Iterable[InvoiceLine], payments: Iterable[Payment]
) -> bytes:
    """Return the invoice's details, with these lines and payments, as a PDF document
    (the same content as the page)."""
    agency = invoice.agency
    currency = agency.currency

    def money(value: Decimal) -> str:
        return format_money(value, currency)

    pdf = FPDF(format="Letter")
    pdf.set_title(latin1(_("Invoice %(number)s") % {"number": invoice.number}))
    pdf.set_author(latin1(agency.name))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: int = 11, style: str = "") -> None:
        # Text across the page, wrapped, one line after another.
        pdf.set_font(FONT, style=style, size=size)
        _row(pdf, ["\n".join(text.splitlines())], [width], ("L",))

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
    fact_widths = _widths(pdf, (30, 70))
    for label, value in facts:
        _row(pdf, [label, value], fact_widths, ("L", "L"))
    pdf.ln(4)

    line(_("Visits billed"), size=13, style="B")
    visit_widths = _widths(pdf, (18, 30, 16, 10, 14, 16))
    aligns = ("L", "L", "L", "R", "R", "R")
    pdf.set_font(FONT, style="B", size=10)
    titles = (_("Date"), _("Service"), _("Caregiver"), _("Hours"), _("Rate"), _("Amount"))
    _row(pdf, list(titles), visit_widths, aligns, rule_below=True)
    pdf.set_font(FONT, size=10)
    for item in lines:
        cells = [
            _date(item.date),
            item.service,
            item.caregiver.family_name_shown if item.caregiver else "",
            f"{item.hours:.2f}",
            money(item.rate),
            money(item.amount),
        ]
        _row(pdf, cells, visit_widths, aligns, rule_below=True)
    pdf.ln(4)

    totals = [
        (_("Subtotal"), invoice.subtotal),
        (_("Tax"), invoice.tax),
        (_("Adjustments"), invoice.adjustments),
        (_("Total"), invoice.total),
    ]
    totals += [
        (_("Payment on %(date)s") % {"date": _date(payment.date)}, payment.amount)
        for payment in payments
    ]
    totals.append((_("Amount due"), invoice.balance))
    pdf.set_font(FONT, size=11)
    total_widths = _widths(pdf, (70, 30))
    for position, (label, amount) in enumerate(totals, start=1):
        # The amount due, last, stands out as on the page.
        pdf.set_font(FONT, style="B" if position == len(totals) else "", size=11)
        _row(pdf, [label, money(amount)], total_widths, ("R", "R"), rule_below=True)
    if agency.payment_instructions.strip():
        pdf.ln(6)
        line(_("How to pay"), size=13, style="B")
        line(agency.payment_instructions)
    return bytes(pdf.output())
