"""What the partner app's page forms share."""

from __future__ import annotations

from django import forms

DATE = forms.DateInput(attrs={"type": "date"})


def split_list(value: str) -> list[str]:
    """``a, b; c`` → ["a", "b", "c"]: the comma- (or semicolon-) separated lists typed into a text field."""
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
