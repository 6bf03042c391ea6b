"""A deal's audit trail in words for people: who did what ("Anna Admin approved the registration"), the
fields that matter with readable values (amounts with their currency, dates as dates, stage names), and
internal bookkeeping (idempotency keys, customer keys, timestamps of the record itself) left out. The raw
field diff stays available to the page behind a "details" disclosure. Also the deal's stage changes, as
the API's history and the pages' time-in-stage rows read them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from openprm.accounts.models import User
from openprm.core.models import AuditEntry
from openprm.deals.models import ApprovalStatus, Deal, DealSource, DealStageChange

# Fields people read, with their labels, in the order they are listed. Anything else is bookkeeping.
LABELS: dict[str, str] = {
    "customer_name": "Customer",
    "customer_domain": "Domain",
    "title": "Title",
    "amount": "Amount",
    "currency": "Currency",
    "stage": "Stage",
    "approval_status": "Approval",
    "decision_note": "Note",
    "protection_expires_at": "Protected until",
    "approval_due_at": "Decision due",
    "expected_close_date": "Expected close",
    "closed_at": "Closed",
    "lost_reason": "Lost reason",
    "contact_name": "Contact",
    "contact_email": "Contact e-mail",
    "owner": "Owner",
    "partner": "Partner",
    "program": "Program",
    "source": "Source",
    "description": "Description",
    "external_id": "External id",
    "properties": "Extra fields",
    "conflicts_overridden": "Open conflicts overridden",
    "override_reason": "Override reason",
}
# What every registration starts with (or the amount already says): not repeated in its first entry.
CREATE_IMPLIED = {"currency", "stage", "approval_status"}
DATES = {"protection_expires_at", "expected_close_date"}  # shown as a calendar date
TIMES = {"approval_due_at", "closed_at"}  # shown to the minute, local time
CHOICES: dict[str, dict[str, str]] = {
    "approval_status": dict(ApprovalStatus.choices),
    "source": dict(DealSource.choices),
}
VERBS = {
    ApprovalStatus.APPROVED: "approved the registration",
    ApprovalStatus.REJECTED: "rejected the registration",
    ApprovalStatus.MORE_INFO: "asked the partner for more information",
    ApprovalStatus.EXPIRED: "expired the registration (protection window ended without progress)",
    ApprovalStatus.SUBMITTED: "resubmitted the registration",
}


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class HistoryItem:
    entry: AuditEntry
    who: str
    sentence: str
    changes: list[Change] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def _money(value: Any, currency: str) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{currency} {amount:,.2f}".strip()


def _when(value: Any, key: str) -> str:
    text = str(value)
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        return day.isoformat() if day else text
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    local = timezone.localtime(moment)
    return local.date().isoformat() if key in DATES else local.strftime("%Y-%m-%d %H:%M")


def readable(key: str, value: Any, currency: str) -> str:
    """One audit value as people read it."""
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if key == "amount":
        return _money(value, currency)
    if key in DATES or key in TIMES:
        return _when(value, key)
    if key in CHOICES:
        return CHOICES[key].get(str(value), str(value))
    if key == "properties" and isinstance(value, dict):
        return ", ".join(sorted(value)) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _sentence(entry: AuditEntry, who: str, changes: dict[str, Any]) -> str:
    if entry.action == AuditEntry.Action.CREATE:
        return f"{who} registered the deal"
    if entry.action == AuditEntry.Action.DELETE:
        return f"{who} deleted the deal"
    if "override_reason" in changes:
        count = changes.get("conflicts_overridden", {}).get("after") or 0
        plural = "s" if count != 1 else ""
        reason = changes["override_reason"]["after"]
        return f"{who} approved despite {count} open conflict{plural}: “{reason}”"
    status = changes.get("approval_status", {}).get("after")
    if status in VERBS:
        return f"{who} {VERBS[status]}"
    if "stage" in changes:
        return f"{who} moved the deal to {changes['stage']['after']}"
    return f"{who} edited the deal"


def _names(entries: Iterable[AuditEntry]) -> dict[int, str]:
    ids = {e.actor_id for e in entries if e.actor_id}
    return {user.pk: user.full_name or user.email for user in User.objects.filter(pk__in=ids)}


def deal_history_items(entries: Iterable[AuditEntry], *, currency: str) -> list[HistoryItem]:
    """The page's history rows for these audit entries of one deal (newest first, as given)."""
    rows = list(entries)
    names = _names(rows)
    items = []
    for entry in rows:
        changes: dict[str, Any] = entry.changes or {}
        who = names.get(entry.actor_id or 0) or entry.actor_label or "System"
        entry_currency = str(changes.get("currency", {}).get("after") or currency)
        shown = []
        for key, label in LABELS.items():
            if key not in changes or key in {"conflicts_overridden", "override_reason"}:
                continue
            before, after = changes[key].get("before"), changes[key].get("after")
            if entry.action == AuditEntry.Action.CREATE and (
                after in (None, "", {}, []) or key in CREATE_IMPLIED
            ):
                continue
            shown.append(
                Change(
                    label=label,
                    before=readable(key, before, entry_currency),
                    after=readable(key, after, entry_currency),
                )
            )
        items.append(
            HistoryItem(
                entry=entry, who=who, sentence=_sentence(entry, who, changes), changes=shown, raw=changes
            )
        )
    return items


def deal_audit_entries(*, deal: Deal) -> QuerySet[AuditEntry]:
    """The deal's audit trail, newest first (the caller pages it and words it with
    :func:`deal_history_items`)."""
    return AuditEntry.objects.filter(object_type="deals.deal", object_id=deal.public_id).order_by(
        "-at", "-id"
    )


def stage_changes(*, deal: Deal) -> QuerySet[DealStageChange]:
    return DealStageChange.objects.filter(deal=deal).select_related("from_stage", "to_stage")
