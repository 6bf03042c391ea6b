"""The starter rules every workspace gets, enabled (new workspaces on creation; existing ones by the data
migration ``0002_starter_rules``, which holds a copy of this list as migrations must)."""

from __future__ import annotations

from typing import Any

STARTER_RULES: list[dict[str, Any]] = [
    {
        "name": "New registration awaiting approval",
        "description": "A partner registered a deal that waits for a decision.",
        "severity": "info",
        "conditions": {"combine": "and", "items": [{"kind": "registration_pending"}]},
        "interval_minutes": 1,
    },
    {
        "name": "Approval SLA breached",
        "description": "A deal registration is still undecided after its program's approval SLA.",
        "severity": "critical",
        "conditions": {"combine": "and", "items": [{"kind": "registration_sla"}]},
        "interval_minutes": 5,
        "repeat_minutes": 1440,
    },
    {
        "name": "Partner inactive 30 days",
        "description": "No meeting, e-mail or call with the partner for 30 days.",
        "severity": "warning",
        "conditions": {
            "combine": "and",
            "items": [{"kind": "inactivity", "metric": "last_contact", "days": 30}],
        },
        "interval_minutes": 1440,
    },
    {
        "name": "Agreement expiring in 30 days",
        "description": "A partner agreement without auto-renewal ends within 30 days.",
        "severity": "warning",
        "conditions": {"combine": "and", "items": [{"kind": "agreement_expiring", "days": 30}]},
        "interval_minutes": 1440,
    },
    {
        "name": "Engagement down 40% vs baseline",
        "description": "The partner's contacts over the last 30 days fell 40% or more below their mean of "
        "the three 30-day periods before.",
        "severity": "warning",
        "conditions": {
            "combine": "and",
            "items": [
                {
                    "kind": "change",
                    "metric": "contacts",
                    "grain": "rolling",
                    "days": 30,
                    "direction": "drop",
                    "percent": "40",
                    "against": "baseline",
                    "baseline_periods": 3,
                }
            ],
        },
        "interval_minutes": 1440,
    },
]
