"""Writes of the alerts app: rules (create, change, delete), acknowledging and snoozing alerts, silences,
the starter rules. Admins and partner managers only; every change audited."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.accounts.selectors import staff_user_list
from openprm.alerts.conditions import parse_conditions
from openprm.alerts.models import INTERVALS, Alert, AlertRule, NoData, Severity, Silence
from openprm.alerts.starter import STARTER_RULES
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_delete, snapshot
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import STAFF_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text

FILTER_FIELDS = ("program", "tier", "type", "region", "owner", "tag")
MAX_MINUTES = 60 * 24 * 30


def require_editor(actor: Actor) -> None:
    """Admins and partner managers change alerting; other staff read it; partner users never see it."""
    if not actor.is_staff:
        raise PermissionDenied("Alerts are for staff")
    actor.require(Perm.PARTNER_EDIT)


def _minutes(errors: dict[str, str], data: dict[str, Any], name: str, default: int) -> int:
    raw = data.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = "Give a whole number of minutes."
        return default
    if not 0 <= value <= MAX_MINUTES:
        errors[name] = f"Between 0 and {MAX_MINUTES} minutes."
    return value


def rule_clean(actor: Actor, data: dict[str, Any], current: AlertRule | None = None) -> dict[str, Any]:
    """The rule's fields from ``data`` (a partial update when ``current``), or a ValidationError naming
    every offending field."""
    errors: dict[str, Any] = {}
    out: dict[str, Any] = {}

    def given(name: str) -> bool:
        return current is None or name in data

    if given("name"):
        out["name"] = clean_text(errors, "name", data.get("name"), 200, required=True)
    if given("description"):
        out["description"] = clean_text(errors, "description", data.get("description", ""), 2000)
    if given("enabled"):
        out["enabled"] = bool(data.get("enabled", True))
    if given("tell_partner"):
        out["tell_partner"] = bool(data.get("tell_partner", False))
    if given("severity"):
        out["severity"] = data.get("severity") or Severity.WARNING
        if out["severity"] not in Severity.values:
            errors["severity"] = f"One of {', '.join(Severity.values)}."
    if given("no_data"):
        out["no_data"] = data.get("no_data") or NoData.OK
        if out["no_data"] not in NoData.values:
            errors["no_data"] = f"One of {', '.join(NoData.values)}."
    if given("interval_minutes"):
        out["interval_minutes"] = _minutes(errors, data, "interval_minutes", 5)
        if "interval_minutes" not in errors and out["interval_minutes"] not in INTERVALS:
            errors["interval_minutes"] = f"One of {', '.join(map(str, INTERVALS))} minutes."
    for name in ("for_minutes", "repeat_minutes", "keep_firing_minutes"):
        if given(name):
            out[name] = _minutes(errors, data, name, 0)
    if given("conditions"):
        try:
            out["conditions"] = parse_conditions(data.get("conditions")).model_dump(mode="json")
        except ValidationError as error:
            errors |= error.message_dict
    if given("partner_filters"):
        filters = data.get("partner_filters") or {}
        if not isinstance(filters, dict) or any(k not in FILTER_FIELDS for k in filters):
            errors["partner_filters"] = f"Only {', '.join(FILTER_FIELDS)}."
        else:
            out["partner_filters"] = {k: str(v).strip()[:200] for k, v in filters.items() if v}
    if given("recipients"):
        out["recipients"] = _recipients(actor, data.get("recipients") or [], errors)
    if given("inhibits"):
        out["inhibits"] = _inhibits(data.get("inhibits") or [], current, errors)
    if errors:
        raise ValidationError(errors)
    return out


def _recipients(actor: Actor, names: Any, errors: dict[str, Any]) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        errors["recipients"] = "A list of staff roles or staff user ids."
        return []
    staff = {str(u) for u in staff_user_list(actor=actor).values_list("public_id", flat=True)}
    unknown = [n for n in names if n not in STAFF_ROLES and n not in staff]
    if unknown:
        errors["recipients"] = f"Not a staff role or staff user of this workspace: {', '.join(unknown)}."
    return list(dict.fromkeys(names))


def _inhibits(names: Any, current: AlertRule | None, errors: dict[str, Any]) -> list[AlertRule]:
    """The rules a rule inhibits, from their public ids: rules of this workspace, not itself."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        errors["inhibits"] = "A list of alert rule ids."
        return []
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    try:
        ids = [uuid.UUID(n) for n in wanted]
    except ValueError:
        errors["inhibits"] = "A list of alert rule ids."
        return []
    found = {str(r.public_id): r for r in AlertRule.objects.filter(public_id__in=ids)}
    unknown = [n for n in wanted if str(uuid.UUID(n)) not in found]
    if unknown:
        errors["inhibits"] = f"No alert rule with the id {', '.join(unknown)}."
    if current is not None and str(current.public_id) in found:
        errors["inhibits"] = "A rule cannot inhibit itself."
    return list(found.values())


def _inhibits_names(rule: AlertRule) -> list[str]:
    return sorted(str(r.public_id) for r in rule.inhibits.all())


@transaction.atomic
def rule_create(*, actor: Actor, data: dict[str, Any]) -> AlertRule:
    require_editor(actor)
    values = rule_clean(actor, data)
    inhibits = values.pop("inhibits", [])
    rule = AlertRule.objects.create(workspace_id=actor.workspace_id, **values)
    rule.inhibits.set(inhibits)
    after = snapshot(rule, {"inhibits": _inhibits_names(rule)})
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=rule, after=after)
    return rule


@transaction.atomic
def rule_update(*, actor: Actor, rule: AlertRule, data: dict[str, Any]) -> AlertRule:
    require_editor(actor)
    values = rule_clean(actor, data, current=rule)
    inhibits = values.pop("inhibits", None)
    before = snapshot(rule, {"inhibits": _inhibits_names(rule)})
    for key, value in values.items():
        setattr(rule, key, value)
    if {"conditions", "partner_filters"} & values.keys():
        rule.last_evaluated_at = None  # judged again at the next cycle
    rule.save()
    if inhibits is not None:
        rule.inhibits.set(inhibits)
    after = snapshot(rule, {"inhibits": _inhibits_names(rule)})
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, instance=rule, before=before, after=after)
    return rule


@transaction.atomic
def rule_delete(*, actor: Actor, rule: AlertRule) -> None:
    require_editor(actor)
    audited_delete(actor=actor, instance=rule)


@transaction.atomic
def alert_acknowledge(*, actor: Actor, alert: Alert, now: datetime.datetime) -> Alert:
    """Acknowledged: someone is on it (no more reminders)."""
    require_editor(actor)
    if alert.acknowledged_at is None:
        before = snapshot(alert)
        alert.acknowledged_at, alert.acknowledged_by_id = now, actor.user_id
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor, action=AuditEntry.Action.UPDATE, instance=alert, before=before, after=snapshot(alert)
        )
    return alert


@transaction.atomic
def alert_snooze(
    *, actor: Actor, alert: Alert, until: datetime.datetime | None, now: datetime.datetime
) -> Alert:
    """No announcement of this alert until ``until`` (None: wake it now)."""
    require_editor(actor)
    if until is not None and until <= now:
        raise ValidationError({"until": "Give a moment in the future."})
    before = snapshot(alert)
    alert.snoozed_until = until
    alert.save(update_fields=["snoozed_until"])
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, instance=alert, before=before, after=snapshot(alert)
    )
    return alert


@transaction.atomic
def silence_create(
    *,
    actor: Actor,
    rule: AlertRule | None,
    partner: Any,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str = "",
) -> Silence:
    require_editor(actor)
    errors: dict[str, str] = {}
    if rule is None and partner is None:
        errors["rule_id"] = "Silence a rule, a partner, or a rule on one partner."
    if ends_at <= starts_at:
        errors["ends_at"] = "Ends after it starts."
    text = clean_text(errors, "reason", reason, 300)
    if errors:
        raise ValidationError(errors)
    silence = Silence.objects.create(
        workspace_id=actor.workspace_id,
        rule=rule,
        partner=partner,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=text,
        created_by_id=actor.user_id,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=silence,
        after=snapshot(silence),
        partner_id=silence.partner_id,
    )
    return silence


@transaction.atomic
def silence_delete(*, actor: Actor, silence: Silence) -> None:
    require_editor(actor)
    audited_delete(actor=actor, instance=silence, partner_id=silence.partner_id)


def starter_rules_create(*, workspace_id: int) -> int:
    """The starter rules, enabled, for a workspace that has none yet (returns how many were made)."""
    with unscoped():
        if AlertRule.objects.filter(workspace_id=workspace_id, builtin=True).exists():
            return 0
        AlertRule.objects.bulk_create(
            AlertRule(workspace_id=workspace_id, builtin=True, enabled=True, **spec) for spec in STARTER_RULES
        )
    return len(STARTER_RULES)


def starter_rules_on_workspace_created(
    sender: Any, instance: Workspace, created: bool, **kwargs: Any
) -> None:
    """post_save of a workspace: a new one starts with the starter rules."""
    if created and not kwargs.get("raw"):
        starter_rules_create(workspace_id=instance.pk)
