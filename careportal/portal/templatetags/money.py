"""Money as people read it: the agency's currency, two decimals, never a float."""

from __future__ import annotations

from decimal import Decimal

from django import template

from careportal.billing.models import to_cents

register = template.Library()

# Currencies our agencies bill in; any other shows its ISO code after the amount.
SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "MXN": "$", "EUR": "€", "GBP": "£"}


def format_money(amount: Decimal | int | str | None, currency: str = "USD") -> str:
    """Return `amount` with its currency: "$1,234.50", "-$5.00", or "1,234.50 CHF"."""
    value = to_cents(Decimal(amount or 0))
    sign = "-" if value < 0 else ""
    number = f"{abs(value):,.2f}"
    symbol = SYMBOLS.get((currency or "").upper())
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}".strip()


@register.filter(name="money")
def money(amount: Decimal | int | str | None, currency: str = "USD") -> str:
    return format_money(amount, currency)
