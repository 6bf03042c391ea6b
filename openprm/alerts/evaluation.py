"""The evaluation cycle: :func:`evaluate_rules` judges every due, enabled rule of a workspace at ``now``
and moves its alerts through their states (Grafana's model):

* met, no open alert → ``pending`` (``firing`` at once when the rule's "for" is 0);
* ``pending`` and met for ``for_minutes`` → ``firing`` (announced);
* ``firing`` and met → stays; a reminder every ``repeat_minutes`` unless acknowledged;
* ``firing`` and not met → ``recovering`` when the rule keeps firing for ``keep_firing_minutes``
  (nothing announced); ``recovering`` and met again → ``firing`` (the same alert, nothing announced);
  ``recovering`` and still not met after that while → ``resolved``;
* not met otherwise → ``resolved`` (announced when its firing was);
* no data → the rule's policy: resolve (``ok``), treat as met (``alerting``), keep the state
  (``keep_last``) or show ``nodata``;
* a silence (rule and/or partner) or the alert's snooze keeps the states but announces nothing;
* inhibition (Alertmanager's): while a rule that ``inhibits`` this one has a firing (or recovering)
  alert on the same partner, this rule's alerts there are marked ``inhibited_by`` it and announce
  nothing (a firing never announced goes out once the inhibition ends). Inhibiting rules are evaluated
  first in a cycle.

Figures: every metric condition of every due rule is read from the metric engine once per (partner set,
period) for the whole cycle (``checks.Figures``); no per-partner queries. Running twice at the same ``now``
changes nothing (a rule evaluated this minute is not due; the transitions depend on ``now`` only).

Writes: the cycle is one transaction, each rule in a savepoint of it (a rule that fails leaves nothing
but its error, and the others run — a message that cannot be built included: each rule's notices are
built in its savepoint); the notices of every rule go out at the end in one ``notify_many``
(``announce.Announcements``), in that transaction — the notifications exist if and only if the
transitions they announce do.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Container
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from django.db import connection, transaction

from openprm.alerts import checks, states
from openprm.alerts import conditions as c
from openprm.alerts.announce import Announcements, Told
from openprm.alerts.models import INHIBITING_STATES, OPEN_STATES, Alert, AlertRule, AlertTransition, Silence
from openprm.alerts.states import AlertRow, Finding, Moved, combine, effective, step
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
        sources = _inhibitors_of([r.pk for r in due])
        announcements, tables, evaluated = Announcements(workspace_id), _Tables(), []
        with transaction.atomic():  # the cycle's changes and its announcements: together or not at all
            for rule in _sources_first(due, sources):
                if rule.pk not in parsed:
                    continue
                try:
                    with transaction.atomic():  # a rule that fails leaves nothing (and the others run)
                        inhibitors = _inhibiting_alerts(sources.get(rule.pk, set()))
                        told = _evaluate(
                            actor, rule, parsed[rule.pk], figs, silences, inhibitors, now, result, tables
                        )
                        announcements.add(rule, told)  # its message fails with it, not the cycle
                    rule.last_evaluated_at, rule.last_error = now, ""
                    evaluated.append(rule.pk)
                    result.rules += 1
                except Exception as error:
                    _failed(rule, now, error, result)
            AlertRule.objects.filter(pk__in=evaluated).update(last_evaluated_at=now, last_error="")
            result.announced = announcements.send()
    return result


def _inhibitors_of(rule_ids: list[int]) -> dict[int, set[int]]:
    """Each rule's enabled inhibiting rules (the rules that name it in their ``inhibits``)."""
    through = AlertRule.inhibits.through
    out: dict[int, set[int]] = {}
    rows = through.objects.filter(to_alertrule_id__in=rule_ids, from_alertrule__enabled=True)
    for target, source in rows.values_list("to_alertrule_id", "from_alertrule_id"):
        out.setdefault(target, set()).add(source)
    return out


def _sources_first(rules: list[AlertRule], sources: dict[int, set[int]]) -> list[AlertRule]:
    """The rules with the inhibiting ones before those they inhibit (so an inhibited rule sees its
    sources' states of this cycle); a cycle of inhibitions keeps the id order."""
    ordered: list[AlertRule] = []
    placed: set[int] = set()
    by_pk = {r.pk: r for r in rules}
    visiting: set[int] = set()

    def place(rule: AlertRule) -> None:
        if rule.pk in placed or rule.pk in visiting:
            return
        visiting.add(rule.pk)
        for source in sorted(sources.get(rule.pk, ())):
            if source in by_pk:
                place(by_pk[source])
        visiting.discard(rule.pk)
        placed.add(rule.pk)
        ordered.append(rule)

    for rule in rules:
        place(rule)
    return ordered


def _inhibiting_alerts(source_rules: set[int]) -> dict[int | None, int]:
    """Partner id → the firing (or recovering) alert of an inhibiting rule on that partner."""
    if not source_rules:
        return {}
    rows = Alert.objects.filter(rule_id__in=source_rules, state__in=INHIBITING_STATES).order_by("-pk")
    return dict(rows.values_list("partner_id", "pk"))


def _failed(rule: AlertRule, now: datetime.datetime, error: Exception, result: CycleResult) -> None:
    logger.exception("alert rule %s failed", rule.pk)
    rule.last_evaluated_at, rule.last_error = now, f"{type(error).__name__}: {error}"[:2000]
    rule.save(update_fields=["last_evaluated_at", "last_error"])
    result.errors += 1


def _judges(
    actor: Actor, conds: c.Conditions, figs: checks.Figures, fkey: str, partner_ids: list[int]
) -> list[checks.Judge]:
    """The rule's metric conditions, each ready to judge a partner (record conditions are not)."""
    out: list[checks.Judge] = []
    for cond in conds.items:
        if isinstance(cond, c.Threshold):
            out.append(checks.threshold(cond, figs, fkey))
        elif isinstance(cond, c.Change):
            out.append(checks.change(cond, figs, fkey))
        elif isinstance(cond, c.Inactivity):
            out.append(checks.inactivity(cond, figs, fkey))
        elif isinstance(cond, c.TargetDeviation):
            goals = checks.targets_by_partner(actor, cond, figs.today, partner_ids, figs.partner_query(fkey))
            out.append(checks.target(cond, figs, fkey, goals))
    return out


def _findings(
    actor: Actor,
    rule: AlertRule,
    conds: c.Conditions,
    figs: checks.Figures,
    now: datetime.datetime,
    open_keys: Container[str],
) -> list[Finding]:
    """What the rule finds now: a finding per partner (or record) that raises an alert or has an open
    one — the others change nothing, and their values are never built."""
    fkey = checks.filters_key(rule.partner_filters)
    partner_ids = figs.partners[fkey]
    judges = _judges(actor, conds, figs, fkey, partner_ids)
    mets: dict[int, list[bool | None]] = {}
    why: dict[int, list[dict[str, Any]]] = {}

    def met_of(pid: int) -> list[bool | None]:
        if (found := mets.get(pid)) is None:
            found = mets[pid] = [judge.met(pid) for judge in judges]
        return found

    def values_of(pid: int) -> list[dict[str, Any]]:
        if (found := why.get(pid)) is None:
            found = why[pid] = [judge.values(pid) for judge in judges]
        return found

    def wanted(key: str, met: bool | None) -> bool:
        return key in open_keys or effective(rule, met) not in (False, None)

    out = []
    if not conds.record_kind:
        for pid in partner_ids:
            met = combine(met_of(pid), conds.combine)
            if wanted(f"{pid}:", met):
                out.append(Finding(pid, "", "", met, {"conditions": values_of(pid)}))
        return out
    record_cond = next(x for x in conds.items if x.kind == conds.record_kind)
    for record in checks.records(record_cond, actor=actor, now=now, partner_ids=figs.partner_query(fkey)):
        met = combine([True, *met_of(record.partner_id)], "and")
        if wanted(f"{record.partner_id}:{record.subject}", met):
            item = record.values | {"met": True}
            values = {"conditions": [item, *values_of(record.partner_id)]}
            out.append(Finding(record.partner_id, record.subject, record.label, met, values))
    return out


def _evaluate(
    actor: Actor,
    rule: AlertRule,
    conds: c.Conditions,
    figs: checks.Figures,
    silences: list[Silence],
    inhibitors: dict[int | None, int],
    now: datetime.datetime,
    result: CycleResult,
    tables: _Tables,
) -> Told:
    """Move the rule's alerts; returns the transitions to announce."""
    open_alerts = states.open_rows(rule, OPEN_STATES)
    stored = {a.pk: (a.values, a.inhibited_by_id) for a in open_alerts.values()}
    silences = [s for s in silences if s.rule_id in (None, rule.pk)]
    moved: list[Moved] = []
    kept: list[AlertRow] = []
    for finding in _findings(actor, rule, conds, figs, now, open_alerts.keys()):
        alert = open_alerts.pop(finding.key, None)
        silenced = bool(silences) and any(
            s.covers(rule_id=rule.pk, partner_id=finding.partner_id, at=now) for s in silences
        )
        moved_now = step(rule, alert, finding, now, silenced, inhibitors.get(finding.partner_id))
        if moved_now is not None:
            moved.append(moved_now)
        elif alert is not None:
            kept.append(alert)
    for alert in open_alerts.values():  # the record is gone (decided, closed) or the partner left the set
        gone = Finding(alert.partner_id, alert.subject, alert.subject_label, False, alert.values)
        silenced = any(s.covers(rule_id=rule.pk, partner_id=alert.partner_id, at=now) for s in silences)
        inhibitor = inhibitors.get(alert.partner_id)
        if (moved_now := step(rule, alert, gone, now, silenced, inhibitor)) is not None:
            moved.append(moved_now)
        else:
            kept.append(alert)
    _keep(rule, kept, stored, now)
    _write(rule, moved, now, result, tables)
    return [(m.alert, m) for m in moved if m.announce]


def _keep(
    rule: AlertRule,
    kept: list[AlertRow],
    stored: dict[int | None, tuple[Any, int | None]],
    now: datetime.datetime,
) -> None:
    """The alerts that keep their state: written only where their values (what the page shows as "why")
    or their inhibition changed — an open alert unchanged is not rewritten each cycle (its rule's
    ``last_evaluated_at`` says when it was last judged: ``Alert.checked_at``)."""
    changed = [a for a in kept if (a.values, a.inhibited_by_id) != stored[a.pk]]
    for alert in changed:
        alert.last_evaluated_at = now
    Alert.objects.bulk_update(
        [states.as_model(a, rule) for a in changed],
        ["values", "inhibited_by", "last_evaluated_at"],
        batch_size=500,
    )


COPY_MIN_ROWS = 50
"""From this many new alerts of one rule, they and their transitions are appended by COPY on PostgreSQL
(``executemany`` elsewhere, ``core.bulk.FastTable``) straight from the rows, each new alert's values
encoded to JSON once for both: Django's bulk INSERT quotes every array client-side and needs a model
instance per row, which took most of a 26,000-alert cycle (and an INSERT ... SELECT of the transitions
from the alerts just written scanned the alerts table once per rule)."""

ROW_COLUMNS = [f for f in states.ROW_FIELDS if f != "pk"]  # the row's columns; acknowledged_by: none
TRANSITION_COLUMNS = ["workspace_id", "alert_id", "from_state", "to_state", "at", "values", "announced"]


class _Tables:
    """The cycle's COPY writers of new alerts and their transitions, each built once when first needed
    (on PostgreSQL the alerts' one reads its id sequence once; elsewhere it counts ids on from the
    highest, which the ORM's inserts of other rules move on: a new one each time)."""

    def __init__(self) -> None:
        self._alerts: FastTable | None = None
        self._transitions: FastTable | None = None

    @property
    def alerts(self) -> FastTable:
        if self._alerts is None or connection.vendor != "postgresql":
            columns = [*ROW_COLUMNS, "workspace_id", "rule_id"]
            self._alerts = FastTable(Alert, columns, with_ids=True, encoded=["values"])
        return self._alerts

    @property
    def transitions(self) -> FastTable:
        if self._transitions is None:
            self._transitions = FastTable(AlertTransition, TRANSITION_COLUMNS, encoded=["values"])
        return self._transitions


def _append_alerts(rule: AlertRule, rows: list[AlertRow], texts: list[str], tables: _Tables) -> None:
    """New alerts by COPY (``texts``: their values in JSON), their ids drawn first so the transitions
    refer to them."""
    table = tables.alerts
    for row, pk in zip(rows, table.ids(len(rows)), strict=True):
        row.pk = pk
    columns, fixed = attrgetter(*ROW_COLUMNS), (rule.workspace_id, rule.pk)
    at = 1 + ROW_COLUMNS.index("values")
    lines = [[r.pk, *columns(r), *fixed] for r in rows]
    for line, text in zip(lines, texts, strict=True):
        line[at] = text
    table.insert(lines)


MOVED_FIELDS = [
    "state",
    "values",
    "started_at",
    "fired_at",
    "resolved_at",
    "recovering_at",
    "inhibited_by",
    "last_evaluated_at",
    "announced_at",
]


def _write(
    rule: AlertRule, moved: list[Moved], now: datetime.datetime, result: CycleResult, tables: _Tables
) -> None:
    """The rule's new alerts, changed alerts and their transitions in bulk."""
    if not moved:
        return
    new = [m.alert for m in moved if m.alert.pk is None]
    fast = len(new) >= COPY_MIN_ROWS
    texts: dict[int, str] = {}  # the new alerts' values in JSON by id: encoded once, for both COPYs
    if fast:
        encoded = [json.dumps(r.values) for r in new]
        _append_alerts(rule, new, encoded, tables)
        texts = {r.pk or 0: text for r, text in zip(new, encoded, strict=True)}
    else:
        made = Alert.objects.bulk_create([states.as_model(r, rule) for r in new], batch_size=500)
        for row, alert in zip(new, made, strict=True):
            row.pk = alert.pk
    changed = [states.as_model(m.alert, rule) for m in moved if m.from_state]
    Alert.objects.bulk_update(changed, MOVED_FIELDS, batch_size=500)
    workspace_id = rule.workspace_id
    if fast:
        tables.transitions.insert(
            [
                [
                    workspace_id,
                    m.alert.pk,
                    m.from_state,
                    m.alert.state,
                    now,
                    texts.get(m.alert.pk or 0) or json.dumps(m.alert.values),
                    m.announce,
                ]
                for m in moved
            ]
        )
    else:
        AlertTransition.objects.bulk_create(
            [
                AlertTransition(
                    workspace_id=workspace_id,
                    alert_id=m.alert.pk or 0,  # written above
                    from_state=m.from_state,
                    to_state=m.alert.state,
                    at=now,
                    values=m.alert.values,
                    announced=m.announce,
                )
                for m in moved
            ],
            batch_size=500,
        )
    result.transitions += len(moved)
