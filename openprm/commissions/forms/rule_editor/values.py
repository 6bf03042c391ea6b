"""The editor's values: what an input shows of a number, a flag or a list, and the typed value of what
was typed (``Bad`` says why not, quoting the text)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from openprm.commissions.rules import FIELDS
from openprm.commissions.services.plans import MAX_DIGITS, UNFILLED_FIELDS

NUMERIC_FIELDS = ("amount", "partner.tenure_months", "partner.lifetime_amount", "customer.months_since_first")
BOOL_FIELDS = ("customer.new",)
LIST_OPS = ("in", "not_in")
REWARDS = ("percent", "flat", "tiered", "threshold")
PERIODS = ("month", "quarter", "year")
FORM_FIELDS = tuple(f for f in FIELDS if f not in UNFILLED_FIELDS)

State = dict[str, Any]


def num_text(value: Any) -> str:
    """A number as typed: 50000 → "50000", 7.5 → "7.5" (no exponent, no thousands separator)."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    text = format(amount.normalize(), "f") if amount else "0"
    return text


def json_number(amount: Decimal) -> int | float:
    """A Decimal as the JSON number a person would write (integral → int)."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return num_text(value)
    return str(value)


def value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar_text(v) for v in value)
    return _scalar_text(value)


class Bad(ValueError):
    pass


MAX_DECIMALS = 6  # rates keep six decimals, money two


def _shown(text: str) -> str:
    """A typed text quoted in a message, cut when long (the page repeats it beside the input)."""
    text = text.strip()
    return repr(text if len(text) <= 24 else text[:24] + "…")


def parse_number(text: str) -> Decimal:
    """A typed number ("50,000", "7.5", "1e3"); ``Bad`` when it is not one, or has more digits than
    any amount or rate: at most ``MAX_DIGITS`` before the decimal point and ``MAX_DECIMALS`` after."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise Bad(f"{_shown(text)} is not a number") from None
    if not amount.is_finite():
        raise Bad(f"{_shown(text)} is not a number")
    if not amount:
        return Decimal(0)  # "-0", "0e5000": zero as typed plainly
    if amount.adjusted() >= MAX_DIGITS:
        raise Bad(f"{_shown(text)} is too large: at most {MAX_DIGITS} digits before the decimal point")
    _, digits, exponent = amount.as_tuple()
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))  # 7.50 has one decimal
    if isinstance(exponent, int) and -(exponent + zeros) > MAX_DECIMALS:
        raise Bad(f"{_shown(text)} has too many decimals: at most {MAX_DECIMALS}")
    return amount


def _scalar(text: str, field: str, op: str) -> Any:
    text = text.strip()
    if field in NUMERIC_FIELDS or (field.startswith("metadata.") and op in ("gt", "gte", "lt", "lte")):
        return json_number(parse_number(text))
    if field in BOOL_FIELDS:
        lowered = text.lower()
        if lowered in ("yes", "true", "1"):
            return True
        if lowered in ("no", "false", "0"):
            return False
        raise Bad("yes or no")
    return text


def condition_value(text: str, field: str, op: str) -> Any:
    """The typed value of a condition's input: numbers for amounts and months, yes/no for a flag, a list
    (comma-separated) for "is one of"."""
    if op in LIST_OPS:
        return [_scalar(part, field, op) for part in text.split(",") if part.strip()]
    return _scalar(text, field, op)
