"""Writes of the reports app: definitions (create, change, delete), runs (scheduled and "send now", each
once per slot or click), the due-report job, and unsubscribes. Admins and partner managers change
definitions and send; analysts read; partner users never reach any of it.

A run writes one ``ReportDelivery`` per recipient and one outbox message per delivery in its transaction
(the payload is the delivery id, nothing else); the outbox handler (``delivery``) renders and e-mails it.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from openprm.accounts.models import Membership
from openprm.accounts.selectors import staff_user_list
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.core.outbox import outbox_put
from openprm.core.permissions import Perm
from openprm.core.validation import clean_text
from openprm.metrics import figures
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Contact
from openprm.reports import schedule
from openprm.reports.models import (
    FORMATS,
    Kind,
    PeriodChoice,
    ReportDefinition,
    ReportDelivery,
    ReportRun,
    Schedule,
    Unsubscribe,
)

TOPIC = "reports.deliver"  # the outbox topic; ``reports.tasks`` registers ``delivery.deliver``
FILTER_FIELDS = ("program", "type", "tier", "region", "owner", "tag")
MAX_PARTNERS = 2000  # partner-facing copies (and QBR packs) per run


def require_editor(actor: Actor) -> None:
    """Admins and partner managers change and send reports; other staff read them; partner users never."""
    if not actor.is_staff:
        raise PermissionDenied("Reports are for staff")
    actor.require(Perm.PARTNER_EDIT)


def _int(errors: dict[str, str], data: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    raw = data.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = "Give a whole number."
        return default
    if not low <= value <= high:
        errors[name] = f"Between {low} and {high}."
    return value


def _choice(errors: dict[str, str], data: dict[str, Any], name: str, choices: Any, default: str) -> str:
    value = str(data.get(name) or default)
    if value not in choices.values:
        errors[name] = f"One of {', '.join(choices.values)}."
    return value


def definition_clean(
    actor: Actor, data: dict[str, Any], current: ReportDefinition | None = None
) -> dict[str, Any]:
    """The definition's fields from ``data`` (merged over ``current``), or a ValidationError naming every
    offending field."""
    if current is not None:
        data = {**{k: getattr(current, k) for k in FIELDS}, **data}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "name": clean_text(errors, "name", data.get("name"), 200, required=True),
        "kind": _choice(errors, data, "kind", Kind, ""),
        "schedule": _choice(errors, data, "schedule", Schedule, Schedule.WEEKLY),
        "period": _choice(errors, data, "period", PeriodChoice, PeriodChoice.LAST_WEEK),
        "weekday": _int(errors, data, "weekday", 0, 6, 0),
        "day": _int(errors, data, "day", 1, 28, 1),
        "hour": _int(errors, data, "hour", 0, 23, 8),
        "enabled": bool(data.get("enabled", True)),
        "partner_recipients": bool(data.get("partner_recipients", False)),
    }
    tz = str(data.get("timezone") or "UTC").strip()
    try:
        schedule.zone(tz)
    except ValueError as error:
        errors["timezone"] = str(error)
    out["timezone"] = tz
    formats = data.get("formats")
    if not isinstance(formats, list | tuple) or not formats or any(f not in FORMATS for f in formats):
        errors["formats"] = f"Choose at least one of {', '.join(FORMATS)}."
    else:
        out["formats"] = [f for f in FORMATS if f in formats]
    filters = data.get("filters") or {}
    if not isinstance(filters, dict) or any(k not in FILTER_FIELDS for k in filters):
        errors["filters"] = f"Only {', '.join(FILTER_FIELDS)}."
    else:
        out["filters"] = {k: str(v).replace("\x00", "").strip()[:200] for k, v in filters.items() if v}
        if out["filters"].get("owner") == "me":  # a run has no "me": name the owner
            errors["filters"] = 'owner: a staff user id or none (a scheduled run has no "me").'
    out["staff_recipients"] = _staff_recipients(actor, data.get("staff_recipients") or [], errors)
    if not out["staff_recipients"] and not out["partner_recipients"] and "staff_recipients" not in errors:
        errors["staff_recipients"] = "Choose staff recipients, or send each partner its own report."
    if errors:
        raise ValidationError(errors)
    return out


FIELDS = (
    "name", "kind", "schedule", "period", "weekday", "day", "hour", "timezone", "enabled",
    "partner_recipients", "formats", "filters", "staff_recipients",
)  # fmt: skip


def _staff_recipients(actor: Actor, ids: Any, errors: dict[str, str]) -> list[str]:
    if not isinstance(ids, list | tuple) or not all(isinstance(i, str | uuid.UUID) for i in ids):
        errors["staff_recipients"] = "A list of staff user ids."
        return []
    wanted = list(dict.fromkeys(str(i) for i in ids))
    staff = {str(u) for u in staff_user_list(actor=actor).values_list("public_id", flat=True)}
    unknown = [i for i in wanted if i not in staff]
    if unknown:
        errors["staff_recipients"] = f"Not a staff user of this workspace: {', '.join(unknown)}."
    return wanted


def _next_run(values: dict[str, Any], now: datetime.datetime) -> datetime.datetime:
    return schedule.next_run(
        schedule=values["schedule"],
        weekday=values["weekday"],
        day=values["day"],
        hour=values["hour"],
        tz_name=values["timezone"],
        after=now,
    )


@transaction.atomic
def definition_create(
    *, actor: Actor, data: dict[str, Any], now: datetime.datetime | None = None
) -> ReportDefinition:
    require_editor(actor)
    values = definition_clean(actor, data)
    definition = ReportDefinition.objects.create(
        workspace_id=actor.workspace_id,
        created_by_id=actor.user_id,
        next_run_at=_next_run(values, now or timezone.now()),
        **values,
    )
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=definition, after=snapshot(definition)
    )
    return definition


@transaction.atomic
def definition_update(
    *, actor: Actor, definition: ReportDefinition, data: dict[str, Any], now: datetime.datetime | None = None
) -> ReportDefinition:
    require_editor(actor)
    values = definition_clean(actor, data, current=definition)
    with audited_change(actor=actor, instance=definition):
        for key, value in values.items():
            setattr(definition, key, value)
        definition.next_run_at = _next_run(values, now or timezone.now())
        definition.save()
    return definition


@transaction.atomic
def definition_delete(*, actor: Actor, definition: ReportDefinition) -> None:
    require_editor(actor)
    audited_delete(actor=actor, instance=definition)


# --- runs -------------------------------------------------------------------------------------------------


def _partner_ids(definition: ReportDefinition) -> list[int]:
    system = Actor.system(definition.workspace_id, label="reports")
    return figures.partner_ids(actor=system, filters=PartnerFilters(**definition.filters))[:MAX_PARTNERS]


def _partner_emails(partner_ids: list[int]) -> dict[int, list[str]]:
    """Each partner's contacts with an e-mail and its active portal users, lower-cased, once each."""
    found: dict[int, dict[str, None]] = {pid: {} for pid in partner_ids}
    contacts = Contact.objects.filter(partner_id__in=partner_ids).exclude(email="")
    for pid, address in contacts.values_list("partner_id", "email"):
        found[pid][address.strip().lower()] = None
    users = Membership.objects.filter(
        partner_id__in=partner_ids, is_active=True, user__is_active=True
    ).values_list("partner_id", "user__email")
    for pid, address in users:
        found[pid][address.strip().lower()] = None
    return {pid: list(emails) for pid, emails in found.items()}


def _staff_users(definition: ReportDefinition) -> list[tuple[int, str]]:
    system = Actor.system(definition.workspace_id, label="reports")
    users = staff_user_list(actor=system).filter(public_id__in=definition.staff_recipients)
    return [(pk, email.strip().lower()) for pk, email in users.values_list("pk", "email")]


def _recipients(definition: ReportDefinition) -> list[tuple[str, int | None, int | None]]:
    """(e-mail, staff user id, partner id) of every e-mail a run sends: staff get the program document (a
    QBR pack per partner); with ``partner_recipients`` each partner's contacts get their own partner's."""
    staff = _staff_users(definition)
    per_partner = definition.kind == Kind.QBR or definition.partner_recipients
    partners = _partner_ids(definition) if per_partner else []
    out: list[tuple[str, int | None, int | None]] = []
    if definition.kind == Kind.QBR:
        out += [(email, uid, pid) for pid in partners for uid, email in staff]
    else:
        out += [(email, uid, None) for uid, email in staff]
    if definition.partner_recipients:
        emails = _partner_emails(partners)
        out += [(email, None, pid) for pid in partners for email in emails[pid]]
    return out


@transaction.atomic
def run_start(
    *,
    definition: ReportDefinition,
    trigger: str,
    request_key: str,
    run_at: datetime.datetime,
    actor: Actor | None = None,
) -> tuple[ReportRun, bool]:
    """Start the run of ``definition`` for ``request_key`` (a scheduled slot, a send-now click), or return
    the run that key already started (False): a retried click or a second worker sends nothing twice."""
    existing = ReportRun.objects.filter(definition=definition, request_key=request_key).first()
    if existing is not None:
        return existing, False
    period = schedule.report_period(definition.period, run_at=run_at, tz_name=definition.timezone)
    try:
        with transaction.atomic():
            run = ReportRun.objects.create(
                workspace_id=definition.workspace_id,
                definition=definition,
                trigger=trigger,
                request_key=request_key[:120],
                period_key=period.key,
                created_by_id=actor.user_id if actor else None,
            )
    except IntegrityError:  # the same key, started concurrently
        return ReportRun.objects.get(definition=definition, request_key=request_key), False
    unsubscribed = set(Unsubscribe.objects.filter(definition=definition).values_list("email", flat=True))
    for email, user_id, partner_id in _recipients(definition):
        skipped = email in unsubscribed
        delivery = ReportDelivery.objects.create(
            workspace_id=definition.workspace_id,
            run=run,
            email=email,
            user_id=user_id,
            partner_id=partner_id,
            status=ReportDelivery.Status.SKIPPED if skipped else ReportDelivery.Status.PENDING,
        )
        if not skipped:
            outbox_put(
                workspace_id=definition.workspace_id, topic=TOPIC, payload={"delivery_id": delivery.pk}
            )
    ReportDefinition.objects.filter(pk=definition.pk).update(last_run_at=run_at)
    return run, True


def send_now(*, actor: Actor, definition: ReportDefinition, key: str = "") -> tuple[ReportRun, bool]:
    """ "Send now": one run per ``key`` (the form's or the client's idempotency key; a new one if none)."""
    require_editor(actor)
    key = key.strip()[:100] or str(uuid.uuid4())
    return run_start(
        definition=definition,
        trigger=ReportRun.Trigger.MANUAL,
        request_key=f"manual:{key}",
        run_at=timezone.now(),
        actor=actor,
    )


def send_due(*, workspace_id: int, now: datetime.datetime) -> int:
    """Start the run of every enabled definition whose time came (inside the workspace's scope); a slot
    missed while no worker ran is sent once, late. Returns how many runs started."""
    started = 0
    due = ReportDefinition.objects.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at", "pk")
    for definition in due:
        slot = definition.next_run_at
        assert slot is not None
        following = _next_run({k: getattr(definition, k) for k in FIELDS}, max(slot, now))
        claimed = ReportDefinition.objects.filter(pk=definition.pk, next_run_at=slot).update(
            next_run_at=following
        )
        if claimed:  # another worker moved it on first: that one sends it
            _, created = run_start(
                definition=definition,
                trigger=ReportRun.Trigger.SCHEDULE,
                request_key=f"schedule:{slot.isoformat()}",
                run_at=slot,
            )
            started += created
    return started


# --- unsubscribe ------------------------------------------------------------------------------------------


@transaction.atomic
def unsubscribe(*, definition: ReportDefinition, email: str) -> bool:
    """Record that ``email`` gets no more of ``definition`` (through a signed link: no login). False when
    it had already unsubscribed."""
    _, created = Unsubscribe.objects.get_or_create(
        workspace_id=definition.workspace_id, definition=definition, email=email.strip().lower()
    )
    if created:
        system = Actor.system(definition.workspace_id, label=f"unsubscribe:{email}")
        audit_record(
            actor=system,
            action=AuditEntry.Action.UPDATE,
            instance=definition,
            before={},
            after={"unsubscribed": email.strip().lower()},
        )
    return created
