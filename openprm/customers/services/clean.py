"""Field validation of the customers services: caller input (API values, form values or CSV text) →
model-ready values, or a ``ValidationError`` naming every bad field. References (the partner, the
account) are resolved by the callers; these functions only check values.

A key present in the input sets the field (blank clears an optional one); an absent key leaves it as it
is on update. Dates are ``date`` objects or ISO text (``YYYY-MM-DD``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from openprm.core.domains import normalize_domain
from openprm.core.validation import clean_money, clean_text
from openprm.customers.models import AccountChange, ChangeKind, CsatChannel, CsatResponse, CustomerAccount

MAX_COUNT = 2_000_000_000  # fits the positive integer columns of both databases
EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2999, 12, 31)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_date(errors: dict[str, str], key: str, value: Any, *, required: bool) -> datetime.date | None:
    """A ``date`` (or ISO ``YYYY-MM-DD`` text) between 1900 and 2999; blank is None (an error if required)."""
    if _blank(value):
        if required:
            errors[key] = "This field is required."
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        try:
            value = datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            errors[key] = f"Not a date: '{value}'. Use YYYY-MM-DD."
            return None
    if not EARLIEST <= value <= LATEST:
        errors[key] = "A date between 1900 and 2999."
        return None
    return value


def clean_count(errors: dict[str, str], key: str, value: Any, *, low: int = 0, high: int = MAX_COUNT) -> int:
    """A whole number between ``low`` and ``high`` (blank: ``low``)."""
    if _blank(value):
        return low
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, int | float) else int(value)
    except ValueError:
        errors[key] = f"Not a whole number: '{value}'."
        return low
    if not low <= number <= high:
        errors[key] = f"A whole number between {low} and {high}."
    return number


def clean_external_id(errors: dict[str, str], value: Any) -> str | None:
    """An external id (blank: none)."""
    text = clean_text(errors, "external_id", value, 100)
    return text or None


def _choice(errors: dict[str, str], key: str, value: Any, choices: list[str], default: str = "") -> str:
    text = clean_text(errors, key, value, 20).lower() or default
    if key not in errors and text not in choices:
        errors[key] = f"Unknown {key.replace('_', ' ')} '{text}'. Known: {', '.join(choices)}."
    return text


def account_clean(*, data: dict[str, Any], current: CustomerAccount | None) -> dict[str, Any]:
    """An account's fields (``partner`` is resolved by the caller)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    creating = current is None
    if "external_id" in data:
        out["external_id"] = clean_external_id(errors, data["external_id"])
    if creating or "name" in data:
        out["name"] = clean_text(errors, "name", data.get("name"), 200, required=True)
    if "domain" in data:
        raw = clean_text(errors, "domain", data["domain"], 253)
        out["domain"] = normalize_domain(raw) if raw else ""
        if raw and not out["domain"] and "domain" not in errors:
            errors["domain"] = f"'{raw}' is not a domain name (e.g. customer.example)."
    if creating or "started_on" in data:
        out["started_on"] = clean_date(errors, "started_on", data.get("started_on"), required=True)
    if "ended_on" in data:
        out["ended_on"] = clean_date(errors, "ended_on", data["ended_on"], required=False)
    for key in ("arr", "mrr"):
        if key in data:
            out[key] = clean_money(errors, key, data[key], required=False)
    if "note" in data:
        out["note"] = clean_text(errors, "note", data["note"], 20000)
    started = out.get("started_on", current.started_on if current else None)
    ended = out.get("ended_on", current.ended_on if current else None)
    if started and ended and ended < started and "ended_on" not in errors:
        errors["ended_on" if "ended_on" in out else "started_on"] = "The account cannot end before it starts."
    if errors:
        raise ValidationError(errors)
    return out


def change_clean(*, data: dict[str, Any], current: AccountChange | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    creating = current is None
    if "external_id" in data:
        out["external_id"] = clean_external_id(errors, data["external_id"])
    if creating or "kind" in data:
        out["kind"] = _choice(errors, "kind", data.get("kind"), ChangeKind.values)
    if creating or "occurred_on" in data:
        out["occurred_on"] = clean_date(errors, "occurred_on", data.get("occurred_on"), required=True)
    if creating or "amount" in data:
        amount = clean_money(errors, "amount", data.get("amount"), required=False)
        out["amount"] = Decimal("0.00") if amount is None else amount
    if errors:
        raise ValidationError(errors)
    return out


def csat_clean(*, data: dict[str, Any], current: CsatResponse | None, has_account: bool) -> dict[str, Any]:
    """A CSAT answer's fields; the channel must agree with the account (partner) or its absence (direct)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    creating = current is None
    if "external_id" in data:
        out["external_id"] = clean_external_id(errors, data["external_id"])
    if creating or "channel" in data:
        default = CsatChannel.PARTNER if has_account else CsatChannel.DIRECT
        out["channel"] = _choice(errors, "channel", data.get("channel"), CsatChannel.values, default)
    if creating or "score" in data:
        if _blank(data.get("score")):
            errors["score"] = "This field is required."
        else:
            out["score"] = clean_count(errors, "score", data.get("score"), low=1, high=5)
    if creating or "answered_on" in data:
        out["answered_on"] = clean_date(errors, "answered_on", data.get("answered_on"), required=True)
    channel = out.get("channel", current.channel if current else None)
    if "channel" not in errors:
        if channel == CsatChannel.PARTNER and not has_account:
            errors["account"] = "A partner-channel answer names the account it is about."
        elif channel == CsatChannel.DIRECT and has_account:
            errors["account"] = "A direct-channel answer has no partner-managed account."
    if errors:
        raise ValidationError(errors)
    return out


def first_of_month(value: datetime.date) -> datetime.date:
    return value.replace(day=1)


def usage_clean(*, data: dict[str, Any], current: Any) -> dict[str, Any]:
    """A usage month's figures (the month is its first day; any day of it is taken as the month)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    creating = current is None
    if creating or "month" in data:
        month = clean_date(errors, "month", data.get("month"), required=True)
        out["month"] = first_of_month(month) if month else None
    for key in ("active_users", "features_used", "features_available"):
        if creating or key in data:
            out[key] = clean_count(errors, key, data.get(key))
    used = out.get("features_used", current.features_used if current else 0)
    available = out.get("features_available", current.features_available if current else 0)
    if used > available and "features_used" not in errors and "features_available" not in errors:
        errors["features_used"] = f"More features used ({used}) than available ({available})."
    if errors:
        raise ValidationError(errors)
    return out
