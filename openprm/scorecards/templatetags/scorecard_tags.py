"""``{% load scorecard_tags %}``: figures as every page shows them, by the metric's unit in the catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from openprm.metrics.catalog import Unit, metric
from openprm.metrics.display import EMPTY, show

register = template.Library()


@register.simple_tag
def figure(key: str, value: Any) -> str:
    """``value`` of metric ``key`` as a page shows it ("—" when there is none)."""
    if key == "overall_score":
        return EMPTY if value is None else f"{value}"
    entry = metric(key)
    if isinstance(value, Decimal):  # targets are stored with 4 places: show them as the metric's values
        if entry.unit is Unit.CURRENCY:
            value = value.quantize(Decimal("0.01"))
        elif entry.unit in (Unit.COUNT, Unit.DAYS) and value == value.to_integral_value():
            value = int(value)
        elif entry.unit is not Unit.RATIO:
            value = value.normalize()
    return show(entry, value)


@register.filter
def pct(value: Decimal | None) -> str:
    """A percent already in percent points ("125.0" → "125%")."""
    return EMPTY if value is None else f"{value:.0f}%"


@register.filter
def ratio_pct(value: Decimal | None) -> str:
    """A 0–1 share as a percent ("0.8" → "80%")."""
    return EMPTY if value is None else f"{value * 100:.0f}%"


@register.filter
def change(value: Decimal | None) -> str:
    """A relative change as a signed percent ("+12%", "−30%")."""
    if value is None:
        return EMPTY
    number = value * 100
    return f"+{number:.0f}%" if number > 0 else f"−{abs(number):.0f}%" if number < 0 else "0%"
