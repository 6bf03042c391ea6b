"""One alert's state machine (Grafana's model), on compact rows: :func:`step` takes an open alert (or
none) and what its rule found now, and returns the change to write, or None when it keeps its state.

An evaluation cycle judges tens of thousands of partner × rule pairs; the alerts it reads and writes are
:class:`AlertRow` (plain slots, read with ``values_list`` and written with COPY or bulk updates), not
model instances — building a model per open alert took most of an unchanged cycle.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from openprm.alerts.models import Alert, AlertRule, NoData, State


@dataclass(slots=True, eq=False)
class AlertRow:
    """The columns of an alert the cycle reads and writes (``pk`` None: new, not yet written)."""

    pk: int | None
    public_id: uuid.UUID
    key: str
    partner_id: int | None
    subject: str
    subject_label: str
    state: str
    started_at: datetime.datetime
    fired_at: datetime.datetime | None
    resolved_at: datetime.datetime | None
    recovering_at: datetime.datetime | None
    inhibited_by_id: int | None
    last_evaluated_at: datetime.datetime
    announced_at: datetime.datetime | None
    values: dict[str, Any]
    acknowledged_at: datetime.datetime | None
    snoozed_until: datetime.datetime | None


ROW_FIELDS = [
    "pk",
    "public_id",
    "key",
    "partner_id",
    "subject",
    "subject_label",
    "state",
    "started_at",
    "fired_at",
    "resolved_at",
    "recovering_at",
    "inhibited_by_id",
    "last_evaluated_at",
    "announced_at",
    "values",
    "acknowledged_at",
    "snoozed_until",
]


def open_rows(rule: AlertRule, states: tuple[str, ...]) -> dict[str, AlertRow]:
    """The rule's alerts in ``states`` by key, as rows (one query, no model instances)."""
    rows = Alert.objects.filter(rule=rule, state__in=states).values_list(*ROW_FIELDS)
    return {row[2]: AlertRow(*row) for row in rows}


def as_model(row: AlertRow, rule: AlertRule) -> Alert:
    """The row as an Alert instance (for the ORM's bulk writes of a few rows)."""
    fields = {f: getattr(row, f) for f in ROW_FIELDS if f != "pk"}
    alert = Alert(pk=row.pk, workspace_id=rule.workspace_id, rule=rule, **fields)
    if row.pk is not None:
        alert._state.adding = False
    return alert


@dataclass(slots=True)
class Finding:
    partner_id: int | None
    subject: str
    label: str
    met: bool | None
    values: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.partner_id or 0}:{self.subject}"


@dataclass(slots=True)
class Moved:
    """One state change of an evaluation, written with the others of its rule in bulk; it reads as the
    transition it records (``from_state``, ``to_state``, ``values``) for the announcements."""

    alert: AlertRow
    from_state: str
    announce: bool

    @property
    def to_state(self) -> str:
        return self.alert.state

    @property
    def values(self) -> dict[str, Any]:
        return self.alert.values


def combine(results: list[bool | None], how: str) -> bool | None:
    """Three-valued AND/OR: no data only when it could change the answer."""
    if how == "or":  # ``in`` compares by identity first: True, False and None are singletons
        return True if True in results else (None if None in results else False)
    return False if False in results else (None if None in results else True)


NO_DATA_POLICY: dict[str, bool | str] = {
    NoData.OK.value: False,
    NoData.ALERTING.value: True,
    NoData.NODATA.value: "nodata",
}


def effective(rule: AlertRule, met: bool | None) -> bool | str | None:
    """The finding after the no-data policy: True, False, "nodata", or None (keep the last state)."""
    if met is not None:
        return met
    return NO_DATA_POLICY.get(rule.no_data)


def step(
    rule: AlertRule,
    alert: AlertRow | None,
    finding: Finding,
    now: datetime.datetime,
    silenced: bool,
    inhibitor: int | None = None,
) -> Moved | None:
    """Move one alert (or create it): the change to write, or None when it keeps its state.
    ``inhibitor``: the firing alert of a rule inhibiting this one on the same partner (nothing is
    announced while it fires)."""
    met = effective(rule, finding.met)
    if alert is not None:
        alert.inhibited_by_id = inhibitor
    if met is None:
        if alert is not None:
            alert.values = finding.values
        return None
    snoozed = alert is not None and alert.snoozed_until is not None and alert.snoozed_until > now
    quiet = silenced or snoozed or inhibitor is not None
    if met is False:
        return None if alert is None else _clear(rule, alert, finding, now, quiet)
    target_state = State.NODATA if met == "nodata" else State.FIRING
    if alert is None:
        alert = AlertRow(
            pk=None,
            public_id=uuid.uuid4(),
            key=finding.key,
            partner_id=finding.partner_id,
            subject=finding.subject,
            subject_label=finding.label[:300],
            state="",
            started_at=now,
            fired_at=None,
            resolved_at=None,
            recovering_at=None,
            inhibited_by_id=inhibitor,
            last_evaluated_at=now,
            announced_at=None,
            values=finding.values,
            acknowledged_at=None,
            snoozed_until=None,
        )
        if target_state == State.FIRING and rule.for_minutes > 0:
            target_state = State.PENDING
    elif alert.state == State.PENDING and target_state == State.FIRING:
        if now - alert.started_at < datetime.timedelta(minutes=rule.for_minutes):
            alert.values = finding.values
            return None
    elif alert.state == State.RECOVERING and target_state == State.FIRING:
        # breached again while recovering: firing again, the same alert, nothing announced
        return _move(alert, State.FIRING, finding.values, now, announce_it=False)
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


def _clear(
    rule: AlertRule, alert: AlertRow, finding: Finding, now: datetime.datetime, quiet: bool
) -> Moved | None:
    """The condition no longer holds: a firing alert of a rule that keeps firing for a while starts
    recovering (announced nothing); a recovering one resolves once that while has passed; any other
    resolves at once (announced when its firing was)."""
    keep = datetime.timedelta(minutes=rule.keep_firing_minutes)
    if alert.state == State.FIRING and keep:
        alert.recovering_at = now
        return _move(alert, State.RECOVERING, finding.values, now, announce_it=False)
    if alert.state == State.RECOVERING and alert.recovering_at and now - alert.recovering_at < keep:
        alert.values = finding.values
        return None
    was_announced = alert.state in (State.FIRING, State.RECOVERING) and alert.announced_at is not None
    alert.resolved_at = now
    return _move(alert, State.RESOLVED, finding.values, now, announce_it=was_announced and not quiet)


def _remind(rule: AlertRule, alert: AlertRow, now: datetime.datetime, quiet: bool) -> Moved | None:
    """A firing alert not yet announced (silenced, snoozed or inhibited when it fired) is announced once
    that ends; an announced one is reminded every ``repeat_minutes`` until acknowledged."""
    if alert.state != State.FIRING or quiet:
        return None
    if alert.announced_at is not None:
        if not rule.repeat_minutes or alert.acknowledged_at is not None:
            return None
        if now < alert.announced_at + datetime.timedelta(minutes=rule.repeat_minutes):
            return None
    return _move(alert, State.FIRING, alert.values, now, announce_it=True)


def _move(
    alert: AlertRow, state: str, values: dict[str, Any], now: datetime.datetime, *, announce_it: bool
) -> Moved:
    before = alert.state
    alert.state, alert.values, alert.last_evaluated_at = state, values, now
    if state != State.RECOVERING:
        alert.recovering_at = None
    if announce_it:
        alert.announced_at = now
    return Moved(alert, before, announce_it)
