"""Field validation shared by the services: each check records a message under its field's name in
``errors`` (the service raises one ``ValidationError`` with all of them) and returns the cleaned value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

MAX_AMOUNT = Decimal("999999999999.99")
"""The largest money amount accepted anywhere (fits the NUMERIC(14, 2) columns)."""


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
