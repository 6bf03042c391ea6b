"""Metric parameters: the choices a metric's definition depends on, versioned with an effective period.

A parameter (the active window, which event types count as contact or make a partner active, the tolerance of
pricing compliance...) has a default here; an admin may set a new value from a month on (``MetricParameter``
rows, each effective from the first day of a month until the next version). :func:`params_at` gives the
values in effect for a period — the version effective on the period's first day — so a change applies from the
month chosen and never alters an earlier one; closed periods keep their snapshot in any case.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from openprm.activity.catalog import BUILTIN_TYPES

TYPE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass(frozen=True)
class Parameter:
    key: str
    label: str
    default: Any
    help: str
    kind: str = "days"  # days | types | ratio | money: how a new value is checked (:func:`clean_value`)


PARAMETERS: dict[str, Parameter] = {
    p.key: p
    for p in (
        Parameter(
            "active_window_days",
            "Active window (days)",
            90,
            "A partner is active with a qualifying event within this many days up to the period's end.",
            "days",
        ),
        Parameter(
            "qualifying_types",
            "Event types that make a partner active",
            sorted(k for k, kind in BUILTIN_TYPES.items() if kind.qualifying),
            "Event types whose occurrence counts as activity for the active-partner share.",
            "types",
        ),
        Parameter(
            "contact_types",
            "Event types that count as contact",
            sorted(k for k, kind in BUILTIN_TYPES.items() if kind.contact),
            "Event types that are communication with the partner (communication frequency, collaboration).",
            "types",
        ),
        Parameter(
            "collaboration_types",
            "Event types that count as collaboration",
            ["meeting", "call"],
            "Joint work with the partner: meetings, calls (collaboration frequency).",
            "types",
        ),
        Parameter(
            "pricing_tolerance",
            "Pricing tolerance",
            "0.05",
            "A sell-through line is price-compliant when charged at least list price × (1 − tolerance).",
            "ratio",
        ),
        Parameter(
            "partnership_cost_per_year",
            "Yearly cost of a partnership",
            "0",
            "What running one partnership costs per year beyond its recorded costs (partner lifetime value).",
            "money",
        ),
    )
}

DEFAULTS: dict[str, Any] = {key: p.default for key, p in PARAMETERS.items()}


def params_at(workspace_id: int, day: datetime.date) -> Mapping[str, Any]:
    """The parameter values in effect on ``day`` (a period's first day) in the workspace."""
    values = dict(DEFAULTS)
    values.update(_versions(workspace_id, day))
    return values


def params_on(workspace_id: int, days: Sequence[datetime.date]) -> dict[datetime.date, Mapping[str, Any]]:
    """:func:`params_at` for each of ``days`` (a trend's first days) from one query."""
    from openprm.metrics.models import MetricParameter

    if not days:
        return {}
    rows = list(
        MetricParameter.objects.filter(workspace_id=workspace_id, effective_from__lte=max(days))
        .order_by("key", "-effective_from")
        .values_list("key", "value", "effective_from")
    )
    out: dict[datetime.date, Mapping[str, Any]] = {}
    for day in days:
        values = dict(DEFAULTS)
        seen: set[str] = set()
        for key, value, effective in rows:
            if key in PARAMETERS and key not in seen and effective <= day:
                values[key] = value
                seen.add(key)
        out[day] = values
    return out


def _versions(workspace_id: int, day: datetime.date) -> dict[str, Any]:
    """The stored versions effective on ``day``: per key, the latest version from on or before it (one
    query over the workspace's few versions)."""
    from openprm.metrics.models import MetricParameter

    found: dict[str, Any] = {}
    rows = MetricParameter.objects.filter(workspace_id=workspace_id, effective_from__lte=day).order_by(
        "key", "-effective_from"
    )
    for key, value in rows.values_list("key", "value"):
        if key in PARAMETERS:
            found.setdefault(key, value)
    return found


def clean_value(key: str, value: Any) -> Any:
    """``value`` of parameter ``key`` as stored, or a ``ValueError`` saying what is expected."""
    parameter = PARAMETERS.get(key)
    if parameter is None:
        raise KeyError(f"No parameter {key!r}; known: {', '.join(sorted(PARAMETERS))}.")
    if parameter.kind == "days":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("Give a whole number of days.")
        try:
            days = int(value)
        except ValueError:
            raise ValueError("Give a whole number of days.") from None
        if not 1 <= days <= 3660:
            raise ValueError("Give between 1 and 3660 days.")
        return days
    if parameter.kind == "types":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise ValueError("Give a list of event type keys.")
        keys = sorted({t.strip() for t in items if t.strip()})
        if not keys or len(keys) > 50 or not all(TYPE_KEY.match(t) for t in keys):
            raise ValueError("Give 1 to 50 event type keys (lower-case letters, digits, underscores).")
        return keys
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Give a number.") from None
    if not number.is_finite() or isinstance(value, bool):
        raise ValueError("Give a number.")
    if parameter.kind == "ratio" and not Decimal(0) <= number <= Decimal(1):
        raise ValueError("Give a fraction between 0 and 1 (0.05 is 5%).")
    if parameter.kind == "money" and not Decimal(0) <= number < Decimal("1e12"):
        raise ValueError("Give an amount of 0 or more.")
    return str(number.quantize(Decimal("0.0001")).normalize())


def version_out(v: Any) -> dict[str, Any]:
    """A stored version as pages and the API show it."""
    return {
        "id": v.public_id,
        "key": v.key,
        "value": v.value,
        "effective_from": v.effective_from,
        "note": v.note,
        "created_by": v.created_by.email if v.created_by else None,
        "created_at": v.created_at,
    }


def parameter_overview(workspace_id: int, today: datetime.date) -> list[dict[str, Any]]:
    """Every parameter with its default, the value in effect ``today`` and its versions, newest first."""
    from openprm.metrics.models import MetricParameter

    current = params_at(workspace_id, today)
    versions: dict[str, list[dict[str, Any]]] = {}
    rows = MetricParameter.objects.filter(workspace_id=workspace_id).select_related("created_by")
    for v in rows.order_by("key", "-effective_from"):
        versions.setdefault(v.key, []).append(version_out(v))
    return [
        {
            "key": p.key,
            "label": p.label,
            "help": p.help,
            "kind": p.kind,
            "default": p.default,
            "current": current[p.key],
            "versions": versions.get(p.key, []),
        }
        for p in PARAMETERS.values()
    ]
