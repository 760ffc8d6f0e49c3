"""The kinds of value the API takes, as strict as its schema says.

Each type refuses what its OpenAPI description does not allow, so the schema is a true
contract (schemathesis checks it): dates only as `YYYY-MM-DD`, times only as RFC 3339 with
an offset, ids only as JSON integers, emails as emails, and no text a database refuses.
"""

import datetime
import decimal
import re
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Path
from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints
from pydantic.json_schema import WithJsonSchema

MAX_ID = 2**63 - 1
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


def storable(value: str) -> str:
    """Refuse what no database column takes: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _email(value: str) -> str:
    storable(value)
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("must be an email address") from None
    return value


def _email_or_empty(value: str) -> str:
    return value if value == "" else _email(value)


def _date(value: Any) -> datetime.date:
    if not isinstance(value, str) or not DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return datetime.date.fromisoformat(value)


def _date_time(value: Any) -> datetime.datetime:
    if not isinstance(value, str) or not DATE_TIME.fullmatch(value):
        raise ValueError("must be a date and time as RFC 3339, with its offset")
    moment = datetime.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("must be a date and time between years 1 and 9999") from None


# Text fields, by the longest value their column takes.
Text40 = Annotated[str, StringConstraints(max_length=40), AfterValidator(storable)]
Text100 = Annotated[str, StringConstraints(max_length=100), AfterValidator(storable)]
Text200 = Annotated[str, StringConstraints(max_length=200), AfterValidator(storable)]
Text2000 = Annotated[str, StringConstraints(max_length=2000), AfterValidator(storable)]
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
# An email, or none: a party without one gets no portal login.
EmailOrEmpty = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email_or_empty),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": 0},
                {"type": "string", "format": "email", "maxLength": 254},
            ]
        }
    ),
]
IsoDate = Annotated[
    datetime.date, BeforeValidator(_date), WithJsonSchema({"type": "string", "format": "date"})
]
IsoDateTime = Annotated[
    datetime.datetime,
    BeforeValidator(_date_time),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# An id in a JSON body: a JSON integer, never a string of digits.
RecordId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
# An id in the path, where everything is text.
PathId = Annotated[int, Field(ge=1, le=MAX_ID)]
ExternalId = Text100
ExternalIdInPath = Annotated[str, Path(..., min_length=1, max_length=100)]
Text300 = Annotated[str, StringConstraints(max_length=300), AfterValidator(storable)]


def _decimal_text(digits: int, places: int, *, signed: bool = False) -> tuple[Any, Any]:
    """Return the validator and schema of a decimal given as a JSON string ("125.50").

    At most `digits` digits before the point and `places` after it, as its column stores;
    a float or a number in JSON is refused (it may not be exact).
    """
    pattern = rf"{'-?' if signed else ''}\d{{1,{digits}}}(\.\d{{1,{places}}})?"
    compiled = re.compile(pattern)

    def parse(value: Any) -> decimal.Decimal:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError(f"must be a decimal number as text with at most {places} decimals")
        return decimal.Decimal(value)

    return BeforeValidator(parse), WithJsonSchema({"type": "string", "pattern": f"^{pattern}$"})


def _decimal_out(places: int) -> tuple[Any, Any]:
    """Return the converter and schema of a stored decimal in an answer: text, `places`
    decimals."""
    exponent = decimal.Decimal(1).scaleb(-places)

    def show(value: Any) -> Any:
        if isinstance(value, decimal.Decimal | int):
            return str(decimal.Decimal(value).quantize(exponent, rounding=decimal.ROUND_HALF_UP))
        return value

    return BeforeValidator(show), WithJsonSchema(
        {"type": "string", "pattern": rf"^-?\d+\.\d{{{places}}}$"}
    )


# Decimals in as text ("125.50"), never a float, by the column that stores them.
Money = Annotated[decimal.Decimal, *_decimal_text(10, 2)]
SignedMoney = Annotated[decimal.Decimal, *_decimal_text(10, 2, signed=True)]
Rate = Annotated[decimal.Decimal, *_decimal_text(8, 2)]
Hours = Annotated[decimal.Decimal, *_decimal_text(4, 2)]
WeeklyHours = Annotated[decimal.Decimal, *_decimal_text(3, 2)]
Percent = Annotated[decimal.Decimal, *_decimal_text(2, 3)]
# Decimals out as text: money with two decimals ("125.50"), a tax rate with three.
MoneyOut = Annotated[str, *_decimal_out(2)]
PercentOut = Annotated[str, *_decimal_out(3)]
HoursOut = MoneyOut
