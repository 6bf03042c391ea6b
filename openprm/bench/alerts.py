"""`prm bench alerts`: one alert evaluation cycle of 50 rules over every partner of the scale dataset,
against reading the same metric tables alone.

The dataset is the scale demo already in the current database (``prm demo --scale m``: 2,000 partners,
200,000 deals, 5,000,000 events; ``--scale s`` for 200 partners); the bench refuses an empty database or
one holding something else (``bench.dashboards.dataset``). Inside one transaction rolled back at the end
(the rules, alerts, transitions, notifications and outbox rows never stay), it creates ``rules`` rules of
every kind over all partners — thresholds on several metrics and periods, changes against the previous
period and the baseline, inactivity, behind target, each record kind (agreements, registrations, stalled
deals, conflicts), AND and OR combinations — and times:

* **read** — the raw baseline: the metric tables those rules need, read once per (partner set, period)
  through the metric engine (``checks.Figures``), nothing else;
* **cycle** — one full ``evaluate_rules`` on a fresh state (every alert is new, every firing announced);
* **second cycle** — the next evaluation, the data unchanged (the alerts stay: nothing announced).

Target: the cycle ≤ 5 s on PostgreSQL, cycle / read ≤ 2.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.alerts import checks
from openprm.alerts import conditions as c
from openprm.alerts.evaluation import evaluate_rules
from openprm.alerts.models import Alert, AlertRule
from openprm.alerts.services import rule_create
from openprm.bench.dashboards import dataset
from openprm.core.actors import Actor
from openprm.core.scoping import scope, unscoped

TARGET_CYCLE_S = 5.0
TARGET_RATIO = 2.0
THRESHOLDS: list[tuple[str, str, str]] = [  # metric, op, value
    ("deal_count", "<", "1"),
    ("pipeline_value", "<", "10000"),
    ("sourced_revenue", "<", "5000"),
    ("conversion_rate", "<", "0.2"),
    ("logins", "<", "1"),
    ("meetings", "<", "2"),
    ("engagements", "<", "3"),
    ("clicks", "<", "10"),
    ("conversions", "<", "1"),
    ("average_won_deal_size", "<", "2000"),
    ("training_completion_rate", "<", "0.5"),
    ("lost_count", ">", "3"),
]
GRAINS = ["month", "quarter", "year", "rolling"]
CHANGES = ["engagements", "meetings", "logins", "deal_count", "pipeline_value", "clicks"]
RECORDS: list[dict[str, Any]] = [
    {"kind": "agreement_expiring", "days": 30},
    {"kind": "agreement_expiring", "days": 90},
    {"kind": "registration_pending"},
    {"kind": "registration_sla"},
    {"kind": "deal_stalled", "days": 0},
    {"kind": "deal_stalled", "days": 60},
    {"kind": "conflict_waiting", "hours": 24},
    {"kind": "conflict_waiting", "hours": 0},
]


class _Rollback(Exception):
    """Raised at the end of the bench to roll its writes back."""


def rule_specs(count: int) -> list[dict[str, Any]]:
    """``count`` rules of every kind, over all partners (no partner filter)."""
    kinds: list[dict[str, Any]] = []
    for i, (key, op, value) in enumerate(THRESHOLDS):
        item = {"kind": "threshold", "metric": key, "op": op, "value": value, "grain": GRAINS[i % 4]}
        kinds.append({"combine": "and", "items": [item]})
    for i, key in enumerate(CHANGES):
        against = "previous" if i % 2 == 0 else "baseline"
        item = {"kind": "change", "metric": key, "percent": "40", "against": against}
        kinds.append({"combine": "and", "items": [item | {"grain": ("month", "quarter")[i % 2]}]})
    for days in (14, 30, 60, 90):
        kinds.append(
            {"combine": "and", "items": [{"kind": "inactivity", "metric": "last_contact", "days": days}]}
        )
    for key in ("pipeline_value", "sourced_revenue", "deal_count"):
        item = {"kind": "target", "metric": key, "behind_percent": "30", "measure": "pace"}
        kinds.append({"combine": "and", "items": [item]})
    kinds += [{"combine": "and", "items": [record]} for record in RECORDS]
    low_logins = {"kind": "threshold", "metric": "logins", "op": "<", "value": "1", "grain": "month"}
    quiet = {"kind": "inactivity", "metric": "last_contact", "days": 30}
    no_deals = {"kind": "threshold", "metric": "deal_count", "op": "<", "value": "1", "grain": "quarter"}
    kinds += [
        {"combine": "and", "items": [low_logins, quiet]},
        {"combine": "or", "items": [low_logins, no_deals]},
        {"combine": "and", "items": [{"kind": "registration_sla"}, no_deals]},
        {"combine": "or", "items": [quiet, no_deals]},
    ]
    return [
        {
            "name": f"Bench rule {i + 1}",
            "conditions": kinds[i % len(kinds)],
            "interval_minutes": 5,
            "severity": ("info", "warning", "critical")[i % 3],
        }
        for i in range(count)
    ]


def _read(actor: Actor, rules: list[AlertRule], today: datetime.date) -> tuple[float, int]:
    """The raw baseline: the same metric tables as the cycle, read through the metric engine alone."""
    started = time.perf_counter()
    with scope(actor.access_scope()):
        figs = checks.Figures(actor=actor, today=today)
        for rule in rules:
            figs.want(checks.filters_key(rule.partner_filters), c.parse_conditions(rule.conditions))
        figs.fetch()
    return time.perf_counter() - started, figs.calls


def bench_alerts(*, scale: str = "m", rules: int = 50) -> dict[str, Any]:
    workspace, partners, _loaded = dataset(scale, load=False)
    actor = Actor.system(workspace.pk, label="bench")
    reverse("alerts:list")  # the URL conf is imported once per process, not per cycle: not timed
    now = timezone.now().replace(second=0, microsecond=0)
    found: dict[str, Any] = {}
    try:
        with transaction.atomic():
            with scope(actor.access_scope()):
                made = [rule_create(actor=actor, data=spec) for spec in rule_specs(rules)]
            ids = [r.pk for r in made]
            read_s, calls = _read(actor, made, now.date())
            started = time.perf_counter()
            first = evaluate_rules(workspace_id=workspace.pk, now=now, rule_ids=ids)
            cycle_s = time.perf_counter() - started
            started = time.perf_counter()
            later = now + datetime.timedelta(minutes=5)
            second = evaluate_rules(workspace_id=workspace.pk, now=later, rule_ids=ids)
            second_s = time.perf_counter() - started
            with unscoped():
                open_alerts = Alert.objects.filter(rule_id__in=ids, state="firing").count()
                told = Notification.objects.filter(workspace=workspace, kind__startswith="alert.").count()
            found = {
                "database": connection.vendor,
                "partners": partners,
                "rules": len(made),
                "rule_kinds": dict(Counter(i["kind"] for r in made for i in r.conditions["items"])),
                "metric_tables": calls,
                "read_s": round(read_s, 3),
                "cycle_s": round(cycle_s, 3),
                "ratio": round(cycle_s / read_s, 2) if read_s else None,
                "second_cycle_s": round(second_s, 3),
                "second_ratio": round(second_s / read_s, 2) if read_s else None,
                "transitions": first.transitions,
                "announced": first.announced,
                "second_transitions": second.transitions,
                "firing_alerts": open_alerts,
                "notifications": told,
                "errors": first.errors + second.errors,
                "target_cycle_s": TARGET_CYCLE_S,
                "target_ratio": TARGET_RATIO,
            }
            found["within_target"] = (
                cycle_s <= TARGET_CYCLE_S and found["ratio"] is not None and found["ratio"] <= TARGET_RATIO
            )
            raise _Rollback
    except _Rollback:
        pass
    return found
