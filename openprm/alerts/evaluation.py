"""The evaluation cycle: :func:`evaluate_rules` judges every due, enabled rule of a workspace at ``now``
and moves its alerts through their states (Grafana's model):

* met, no open alert → ``pending`` (``firing`` at once when the rule's "for" is 0);
* ``pending`` and met for ``for_minutes`` → ``firing`` (announced);
* ``firing`` and met → stays; a reminder every ``repeat_minutes`` unless acknowledged;
* not met → ``resolved`` (announced when its firing was);
* no data → the rule's policy: resolve (``ok``), treat as met (``alerting``), keep the state
  (``keep_last``) or show ``nodata``;
* a silence (rule and/or partner) or the alert's snooze keeps the states but announces nothing.

Figures: every metric condition of every due rule is read from the metric engine once per (partner set,
period) for the whole cycle (``checks.Figures``); no per-partner queries. Running twice at the same ``now``
changes nothing (a rule evaluated this minute is not due; the transitions depend on ``now`` only).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from openprm.alerts import checks
from openprm.alerts import conditions as c
from openprm.alerts.announce import announce
from openprm.alerts.models import OPEN_STATES, Alert, AlertRule, AlertTransition, NoData, Silence, State
from openprm.core.actors import Actor
from openprm.core.bulk import FastTable
from openprm.core.scoping import scope

logger = logging.getLogger(__name__)


@dataclass
class CycleResult:
    rules: int = 0
    transitions: int = 0
    announced: int = 0
    metric_calls: int = 0
    errors: int = 0


def _minute(at: datetime.datetime) -> datetime.datetime:
    return at.replace(second=0, microsecond=0)


def is_due(rule: AlertRule, now: datetime.datetime) -> bool:
    """Due when its interval has passed since its last evaluation, counted in whole minutes (the
    schedule runs each minute, a few seconds either way)."""
    if rule.last_evaluated_at is None:
        return True
    return _minute(now) >= _minute(rule.last_evaluated_at) + datetime.timedelta(minutes=rule.interval_minutes)


def evaluate_rules(
    *, workspace_id: int, now: datetime.datetime, rule_ids: list[int] | None = None
) -> CycleResult:
    """Evaluate the workspace's due enabled rules (or those of ``rule_ids``, due or not) at ``now``."""
    actor = Actor.system(workspace_id, label="alerts")
    result = CycleResult()
    with scope(actor.access_scope()):
        rules = AlertRule.objects.filter(enabled=True).order_by("pk")
        if rule_ids is not None:
            rules = rules.filter(pk__in=rule_ids)
        due = [r for r in rules if rule_ids is not None or is_due(r, now)]
        if not due:
            return result
        figs = checks.Figures(actor=actor, today=now.astimezone(datetime.UTC).date())
        parsed: dict[int, c.Conditions] = {}
        for rule in due:
            try:
                parsed[rule.pk] = c.parse_conditions(rule.conditions)
                figs.want(checks.filters_key(rule.partner_filters), parsed[rule.pk])
            except Exception as error:  # an invalid or unreadable rule is recorded, the others run
                _failed(rule, now, error, result)
        figs.fetch()
        result.metric_calls = figs.calls
        silences = list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))
        for rule in due:
            if rule.pk not in parsed:
                continue
            try:
                with transaction.atomic():
                    _evaluate(actor, rule, parsed[rule.pk], figs, silences, now, result)
                    rule.last_evaluated_at, rule.last_error = now, ""
                    rule.save(update_fields=["last_evaluated_at", "last_error"])
                result.rules += 1
            except Exception as error:
                _failed(rule, now, error, result)
    return result


def _failed(rule: AlertRule, now: datetime.datetime, error: Exception, result: CycleResult) -> None:
    logger.exception("alert rule %s failed", rule.pk)
    rule.last_evaluated_at, rule.last_error = now, f"{type(error).__name__}: {error}"[:2000]
    rule.save(update_fields=["last_evaluated_at", "last_error"])
    result.errors += 1


@dataclass
class Finding:
    partner_id: int | None
    subject: str
    label: str
    met: bool | None
    values: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.partner_id or 0}:{self.subject}"


def _combine(results: list[bool | None], how: str) -> bool | None:
    """Three-valued AND/OR: no data only when it could change the answer."""
    if how == "or":
        return True if any(r is True for r in results) else (None if None in results else False)
    return False if any(r is False for r in results) else (None if None in results else True)


def _findings(
    actor: Actor, rule: AlertRule, conds: c.Conditions, figs: checks.Figures, now: datetime.datetime
) -> list[Finding]:
    fkey = checks.filters_key(rule.partner_filters)
    partner_ids = figs.partners[fkey]
    goals = {
        i: checks.targets_by_partner(actor, cond, figs.today, partner_ids)
        for i, cond in enumerate(conds.items)
        if isinstance(cond, c.TargetDeviation)
    }

    def on_partner(pid: int) -> tuple[list[bool | None], list[dict[str, Any]]]:
        met: list[bool | None] = []
        values: list[dict[str, Any]] = []
        for i, cond in enumerate(conds.items):
            if isinstance(cond, c.Threshold):
                r = checks.threshold(cond, figs, fkey, pid)
            elif isinstance(cond, c.Change):
                r = checks.change(cond, figs, fkey, pid)
            elif isinstance(cond, c.Inactivity):
                r = checks.inactivity(cond, figs, fkey, pid)
            elif isinstance(cond, c.TargetDeviation):
                r = checks.target(cond, figs, fkey, pid, goals[i])
            else:
                continue
            met.append(r[0])
            values.append(r[1] | {"met": r[0]})
        return met, values

    if not conds.record_kind:
        out = []
        for pid in partner_ids:
            met, values = on_partner(pid)
            out.append(Finding(pid, "", "", _combine(met, conds.combine), {"conditions": values}))
        return out
    record_cond = next(x for x in conds.items if x.kind == conds.record_kind)
    out = []
    for record in checks.records(record_cond, actor=actor, now=now, partner_ids=partner_ids):
        met, values = on_partner(record.partner_id)
        met.insert(0, True)
        values.insert(0, record.values | {"met": True})
        out.append(
            Finding(
                record.partner_id, record.subject, record.label, _combine(met, "and"), {"conditions": values}
            )
        )
    return out


@dataclass
class Moved:
    """One state change of an evaluation, written with the others of its rule in bulk."""

    alert: Alert
    before: str
    announce: bool


def _evaluate(
    actor: Actor,
    rule: AlertRule,
    conds: c.Conditions,
    figs: checks.Figures,
    silences: list[Silence],
    now: datetime.datetime,
    result: CycleResult,
) -> None:
    open_alerts = {a.key: a for a in Alert.objects.filter(rule=rule, state__in=OPEN_STATES)}
    stored = {a.pk: a.values for a in open_alerts.values()}
    seen: set[str] = set()
    moved: list[Moved] = []
    kept: list[Alert] = []
    for finding in _findings(actor, rule, conds, figs, now):
        seen.add(finding.key)
        alert = open_alerts.get(finding.key)
        silenced = any(s.covers(rule_id=rule.pk, partner_id=finding.partner_id, at=now) for s in silences)
        step = _step(rule, alert, finding, now, silenced)
        if step is not None:
            moved.append(step)
        elif alert is not None:
            kept.append(alert)
    for key, alert in open_alerts.items():
        if key not in seen:  # the record is gone (decided, closed) or the partner left the set
            gone = Finding(alert.partner_id, alert.subject, alert.subject_label, False, alert.values)
            silenced = any(s.covers(rule_id=rule.pk, partner_id=alert.partner_id, at=now) for s in silences)
            if (step := _step(rule, alert, gone, now, silenced)) is not None:
                moved.append(step)
    _keep(kept, stored, now)
    _write(rule, moved, now, result)


def _keep(kept: list[Alert], stored: dict[int, Any], now: datetime.datetime) -> None:
    """The alerts that keep their state: written only where their values (what the page shows as "why")
    changed — an open alert unchanged is not rewritten each cycle (its rule's ``last_evaluated_at`` says
    when it was last judged: ``Alert.checked_at``)."""
    changed = [a for a in kept if a.values != stored[a.pk]]
    for alert in changed:
        alert.last_evaluated_at = now
    Alert.objects.bulk_update(changed, ["values", "last_evaluated_at"], batch_size=500)


COPY_MIN_ROWS = 50
"""From this many new alerts of one rule, PostgreSQL gets them and their transitions by COPY: Django's
bulk INSERT … UNNEST quotes every array client-side, which took most of a 26,000-alert cycle."""


def _copy_alerts(alerts: list[Alert]) -> None:
    """New alerts by COPY (``core.bulk.FastTable``), their ids drawn first so the transitions refer to
    them; the objects become saved rows (as ``bulk_create`` leaves them)."""
    columns = [f.attname for f in Alert._meta.concrete_fields if not f.primary_key]
    table = FastTable(Alert, columns, with_ids=True)
    ids = table.ids(len(alerts))
    for alert, pk in zip(alerts, ids, strict=True):
        alert.pk = pk
        alert._state.adding, alert._state.db = False, connection.alias
    table.insert([[a.pk, *(getattr(a, c) for c in columns)] for a in alerts])


MOVED_FIELDS = [
    "state",
    "values",
    "started_at",
    "fired_at",
    "resolved_at",
    "last_evaluated_at",
    "announced_at",
]


def _write(rule: AlertRule, moved: list[Moved], now: datetime.datetime, result: CycleResult) -> None:
    """The rule's new alerts, changed alerts and their transitions in bulk, then one announcement per
    kind of change (firing, reminder, resolved) with all its alerts."""
    if not moved:
        return
    new = [m.alert for m in moved if m.alert.pk is None]
    copy = connection.vendor == "postgresql" and len(new) >= COPY_MIN_ROWS
    if copy:
        _copy_alerts(new)
    else:
        Alert.objects.bulk_create(new, batch_size=500)
    Alert.objects.bulk_update([m.alert for m in moved if m.before], MOVED_FIELDS, batch_size=500)
    transitions = [
        AlertTransition(
            workspace_id=m.alert.workspace_id,
            alert=m.alert,
            from_state=m.before,
            to_state=m.alert.state,
            at=now,
            values=m.alert.values,
            announced=m.announce,
        )
        for m in moved
    ]
    if copy:
        columns = ["workspace_id", "alert_id", "from_state", "to_state", "at", "values", "announced"]
        FastTable(AlertTransition, columns).insert([[getattr(t, c) for c in columns] for t in transitions])
    else:
        AlertTransition.objects.bulk_create(transitions, batch_size=500)
    result.transitions += len(transitions)
    told = [(m.alert, t) for m, t in zip(moved, transitions, strict=True) if m.announce]
    if told:
        announce(rule, told)
        result.announced += len(told)


def _effective(rule: AlertRule, met: bool | None) -> bool | str | None:
    """The finding after the no-data policy: True, False, "nodata", or None (keep the last state)."""
    if met is not None:
        return met
    policy: dict[str, bool | str] = {
        NoData.OK.value: False,
        NoData.ALERTING.value: True,
        NoData.NODATA.value: "nodata",
    }
    return policy.get(rule.no_data)


def _step(
    rule: AlertRule,
    alert: Alert | None,
    finding: Finding,
    now: datetime.datetime,
    silenced: bool,
) -> Moved | None:
    """Move one alert (or create it): the change to write, or None when it keeps its state."""
    met = _effective(rule, finding.met)
    if met is None:
        if alert is not None:
            alert.values = finding.values
        return None
    quiet = silenced or (alert is not None and alert.snoozed_until is not None and alert.snoozed_until > now)
    if met is False:
        if alert is None:
            return None
        was_announced = alert.state == State.FIRING and alert.announced_at is not None
        alert.resolved_at = now
        return _move(alert, State.RESOLVED, finding.values, now, announce_it=was_announced and not quiet)
    target_state = State.NODATA if met == "nodata" else State.FIRING
    if alert is None:
        alert = Alert(
            workspace_id=rule.workspace_id,
            rule=rule,
            key=finding.key,
            partner_id=finding.partner_id,
            subject=finding.subject,
            subject_label=finding.label[:300],
            started_at=now,
            last_evaluated_at=now,
            state="",
        )
        if target_state == State.FIRING and rule.for_minutes > 0:
            target_state = State.PENDING
    elif alert.state == State.PENDING and target_state == State.FIRING:
        if now - alert.started_at < datetime.timedelta(minutes=rule.for_minutes):
            alert.values = finding.values
            return None
    elif alert.state == State.NODATA and target_state == State.FIRING and rule.for_minutes > 0:
        alert.started_at, target_state = now, State.PENDING
    elif alert.state == target_state:
        alert.values = finding.values
        return _remind(rule, alert, now, quiet)
    if target_state == State.FIRING:
        alert.fired_at = now
    return _move(
        alert, target_state, finding.values, now, announce_it=target_state == State.FIRING and not quiet
    )


def _remind(rule: AlertRule, alert: Alert, now: datetime.datetime, quiet: bool) -> Moved | None:
    """A firing alert not yet announced (silenced or snoozed when it fired) is announced once that ends;
    an announced one is reminded every ``repeat_minutes`` until acknowledged."""
    if alert.state != State.FIRING or quiet:
        return None
    if alert.announced_at is not None:
        if not rule.repeat_minutes or alert.acknowledged_at is not None:
            return None
        if now < alert.announced_at + datetime.timedelta(minutes=rule.repeat_minutes):
            return None
    return _move(alert, State.FIRING, alert.values, now, announce_it=True)


def _move(
    alert: Alert, state: str, values: dict[str, Any], now: datetime.datetime, *, announce_it: bool
) -> Moved:
    before = alert.state
    alert.state, alert.values, alert.last_evaluated_at = state, values, now
    if announce_it:
        alert.announced_at = now
    return Moved(alert, before, announce_it)
