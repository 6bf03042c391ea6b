"""Field validation shared by the services: each check records a message under its field's name in
``errors`` (the service raises one ``ValidationError`` with all of them) and returns the cleaned value."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

MAX_AMOUNT = Decimal("999999999999.99")
"""The largest money amount accepted anywhere (fits the NUMERIC(14, 2) columns)."""
CENT = Decimal("0.01")


def quantize_money(value: Decimal) -> Decimal:
    """A money amount rounded to cents, half up (0.125 → 0.13, as finance people expect): the one rounding
    rule of every money input (services, API, CSV imports). Raises InvalidOperation for an infinite value."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def clean_text(errors: dict[str, str], key: str, value: Any, max_length: int, required: bool = False) -> str:
    """The value as stripped text; NUL characters, a missing required value and over-long text are errors."""
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        errors[key] = "Contains a NUL character."
    elif required and not text:
        errors[key] = "This field is required."
    elif len(text) > max_length:
        errors[key] = f"At most {max_length} characters (got {len(text)})."
    return text


def clean_money(errors: dict[str, str], key: str, value: Any, *, required: bool = True) -> Decimal | None:
    """The one money cleaner of every input (services, API, CSV imports): text or number → a ``Decimal``
    rounded to cents (``quantize_money``) within 0..``MAX_AMOUNT``. Blank is ``None`` (an error under
    ``key`` when ``required``); anything else that is not such an amount is an error under ``key``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[key] = "This field is required."
        return None
    try:
        amount = quantize_money(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        errors[key] = f"Not an amount: '{value}'."
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        errors[key] = f"Must be between 0 and {MAX_AMOUNT}."
        return None
    return amount
