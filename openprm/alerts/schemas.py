"""Input and output schemas of the alerts API."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from ninja import Schema
from pydantic import Field

from openprm.alerts.models import Alert, AlertRule, AlertTransition, Silence
from openprm.core.schemas import Input, Patch, Text


class RuleCreate(Input):
    name: Text(200, 1)  # type: ignore[valid-type]
    description: Text(2000) = ""  # type: ignore[valid-type]
    enabled: bool = True
    severity: str = "warning"
    conditions: dict[str, Any] = Field(description="{combine: and|or, items: [{kind: threshold, ...}]}")
    partner_filters: dict[str, str] = Field(default_factory=dict)
    for_minutes: int = 0
    interval_minutes: int = 5
    no_data: str = "ok"
    repeat_minutes: int = 0
    keep_firing_minutes: int = Field(
        default=0, description="Recovering: minutes a cleared firing alert waits before resolving; 0: at once"
    )
    recipients: list[str] = Field(default_factory=list)
    tell_partner: bool = Field(default=False, description="Also tell each partner's users of its alerts")
    inhibits: list[str] = Field(
        default_factory=list,
        description="Rule ids whose alerts for a partner are inhibited while this rule fires for it",
    )


class RulePatch(Patch):
    name: Text(200, 1) | None = None  # type: ignore[valid-type]
    description: Text(2000) | None = None  # type: ignore[valid-type]
    enabled: bool | None = None
    severity: str | None = None
    conditions: dict[str, Any] | None = None
    partner_filters: dict[str, str] | None = None
    for_minutes: int | None = None
    interval_minutes: int | None = None
    no_data: str | None = None
    repeat_minutes: int | None = None
    keep_firing_minutes: int | None = None
    recipients: list[str] | None = None
    tell_partner: bool | None = None
    inhibits: list[str] | None = None


class RuleOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    enabled: bool
    severity: str
    conditions: dict[str, Any]
    partner_filters: dict[str, Any]
    for_minutes: int
    interval_minutes: int
    no_data: str
    repeat_minutes: int
    keep_firing_minutes: int
    recipients: list[str]
    tell_partner: bool
    inhibits: list[uuid.UUID]
    builtin: bool
    last_evaluated_at: datetime.datetime | None
    last_error: str


def rule_out(rule: AlertRule) -> dict[str, Any]:
    fields = RuleOut.model_fields.keys() - {"id", "inhibits"}
    inhibits = sorted((r.public_id for r in rule.inhibits.all()), key=str)
    return {"id": rule.public_id, "inhibits": inhibits, **{f: getattr(rule, f) for f in fields}}


class TransitionOut(Schema):
    at: datetime.datetime
    from_state: str
    to_state: str
    announced: bool
    values: dict[str, Any]


class AlertOut(Schema):
    id: uuid.UUID
    rule_id: uuid.UUID
    rule_name: str
    severity: str
    state: str
    partner_id: uuid.UUID | None
    partner_name: str
    subject: str
    subject_label: str
    started_at: datetime.datetime
    fired_at: datetime.datetime | None
    resolved_at: datetime.datetime | None
    recovering_at: datetime.datetime | None = Field(description="When a firing alert's condition cleared")
    inhibited: bool = Field(
        description="Open while an inhibiting rule fires for its partner: announced to no one"
    )
    inhibited_by: uuid.UUID | None = Field(description="The inhibiting rule's firing alert, if inhibited")
    inhibited_by_rule: str = Field(description="That alert's rule name")
    last_evaluated_at: datetime.datetime
    values: dict[str, Any]
    acknowledged_at: datetime.datetime | None
    snoozed_until: datetime.datetime | None
    history: list[TransitionOut] | None = None


def alert_out(alert: Alert, history: list[AlertTransition] | None = None) -> dict[str, Any]:
    return {
        "id": alert.public_id,
        "rule_id": alert.rule.public_id,
        "rule_name": alert.rule.name,
        "severity": alert.rule.severity,
        "state": alert.state,
        "partner_id": alert.partner.public_id if alert.partner else None,
        "partner_name": alert.partner.name if alert.partner else "",
        "subject": alert.subject,
        "subject_label": alert.subject_label,
        "started_at": alert.started_at,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "recovering_at": alert.recovering_at,
        "inhibited": alert.is_inhibited,
        "inhibited_by": alert.inhibited_by.public_id if alert.inhibited_by else None,
        "inhibited_by_rule": alert.inhibited_by.rule.name if alert.inhibited_by else "",
        "last_evaluated_at": alert.checked_at,
        "values": alert.values,
        "acknowledged_at": alert.acknowledged_at,
        "snoozed_until": alert.snoozed_until,
        "history": None
        if history is None
        else [
            {"at": t.at, "from_state": t.from_state, "to_state": t.to_state, "announced": t.announced}
            | {"values": t.values}
            for t in history
        ],
    }


class AlertQuery(Schema):
    state: str = ""
    severity: str = ""
    rule: str = ""
    partner: str = ""


class SnoozeIn(Input):
    until: datetime.datetime | None = Field(description="No announcement until then; null wakes it")


class SilenceCreate(Input):
    rule_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime
    reason: Text(300) = ""  # type: ignore[valid-type]


class SilenceOut(Schema):
    id: uuid.UUID
    rule_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    reason: str


def silence_out(s: Silence) -> dict[str, Any]:
    return {
        "id": s.public_id,
        "rule_id": s.rule.public_id if s.rule else None,
        "partner_id": s.partner.public_id if s.partner else None,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "reason": s.reason,
    }


class RulePage(Schema):
    items: list[RuleOut]
    count: int


class AlertPage(Schema):
    items: list[AlertOut]
    count: int


class SilencePage(Schema):
    items: list[SilenceOut]
    count: int


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)
