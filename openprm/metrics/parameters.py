"""Metric parameters: the choices a metric's definition depends on, versioned with an effective period.

A parameter (the active window, which event types count as contact or make a partner active, the tolerance of
pricing compliance...) has a default here; an admin may set a new value from a month on (``MetricParameter``
rows, each effective from the first day of a month until the next version). :func:`params_at` gives the
values in effect for a period — the version effective on the period's first day — so a change applies from the
month chosen and never alters an earlier one; closed periods keep their snapshot in any case.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openprm.activity.catalog import BUILTIN_TYPES


@dataclass(frozen=True)
class Parameter:
    key: str
    label: str
    default: Any
    help: str


PARAMETERS: dict[str, Parameter] = {
    p.key: p
    for p in (
        Parameter(
            "active_window_days",
            "Active window (days)",
            90,
            "A partner is active with a qualifying event within this many days up to the period's end.",
        ),
        Parameter(
            "qualifying_types",
            "Event types that make a partner active",
            sorted(k for k, kind in BUILTIN_TYPES.items() if kind.qualifying),
            "Event types whose occurrence counts as activity for the active-partner share.",
        ),
        Parameter(
            "contact_types",
            "Event types that count as contact",
            sorted(k for k, kind in BUILTIN_TYPES.items() if kind.contact),
            "Event types that are communication with the partner (communication frequency, collaboration).",
        ),
        Parameter(
            "collaboration_types",
            "Event types that count as collaboration",
            ["meeting", "call"],
            "Joint work with the partner: meetings, calls (collaboration frequency).",
        ),
        Parameter(
            "pricing_tolerance",
            "Pricing tolerance",
            "0.05",
            "A sell-through line is price-compliant when charged at least list price × (1 − tolerance).",
        ),
        Parameter(
            "partnership_cost_per_year",
            "Yearly cost of a partnership",
            "0",
            "What running one partnership costs per year beyond its recorded costs (partner lifetime value).",
        ),
    )
}

DEFAULTS: dict[str, Any] = {key: p.default for key, p in PARAMETERS.items()}


def params_at(workspace_id: int, day: datetime.date) -> Mapping[str, Any]:
    """The parameter values in effect on ``day`` (a period's first day) in the workspace."""
    values = dict(DEFAULTS)
    values.update(_versions(workspace_id, day))
    return values


def _versions(workspace_id: int, day: datetime.date) -> dict[str, Any]:
    """The stored versions effective on ``day`` (none until admins set any)."""
    return {}
