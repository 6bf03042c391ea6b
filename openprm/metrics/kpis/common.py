"""Arithmetic shared by formulas: ratios and rates with the catalog's rounding, None where undefined."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

RATIO_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.01")


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator rounded to 4 places; None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def money(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def per(
    numerator: Decimal | int, denominator: Decimal | int, places: Decimal = MONEY_PLACES
) -> Decimal | None:
    """numerator / denominator rounded to ``places``; None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP)


def per_30_days(number: Decimal | int, days: int) -> Decimal:
    return (Decimal(number) * 30 / days).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


FACTOR_PLACES = Decimal("0.01")
SCORE_PLACES = Decimal("0.01")
