"""A partner's history panel: its audited changes, and lifecycle changes no audit entry records."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.partners.models import Partner, StatusChange
from openprm.partners.selectors.partners import status_history


def audit_list(*, actor: Actor, partner: Partner) -> QuerySet[AuditEntry]:
    """Every change recorded for the partner and its contacts, agreements and logged interactions."""
    actor.require(Perm.PARTNER_VIEW)
    return AuditEntry.objects.filter(partner_id=partner.pk).order_by("-at", "-id")


@dataclass(frozen=True)
class HistoryItem:
    """One line of a partner's history panel: an audited change, or a lifecycle change without one."""

    at: datetime.datetime
    actor_label: str
    action: str  # create, update, delete, or lifecycle
    what: str  # e.g. "Updated partner", "Lifecycle change"
    object_repr: str
    changes: dict[str, Any]


def _moment_text(value: Any) -> Any:
    """An ISO date-time string as people read it (local time, to the minute); anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%Y-%m-%d %H:%M")
    return value


# A status change and the audit entry its service wrote in the same transaction are seconds apart at most.
_SAME_CHANGE = datetime.timedelta(seconds=5)


_PARTNER = Partner._meta.label_lower
_STATUS_LABELS: dict[str, str] = dict(StatusChange._meta.get_field("to_status").choices or [])  # type: ignore[arg-type]


def _audited_item(entry: AuditEntry) -> HistoryItem:
    """An audit entry as the panel shows it: a partner's status values in words, as the lifecycle list
    writes them; moments to the minute."""
    changes: dict[str, Any] = {}
    for field, change in entry.changes.items():
        if isinstance(change, dict):
            change = {k: _moment_text(v) for k, v in change.items()}
            if field == "status" and entry.object_type == _PARTNER:
                change = {k: _STATUS_LABELS.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
        changes[field] = change
    return HistoryItem(
        at=entry.at,
        actor_label=entry.actor_label,
        action=entry.action,
        what=f"{entry.get_action_display()} {entry.object_type.rsplit('.', 1)[-1]}",
        object_repr=entry.object_repr,
        changes=changes,
    )


def _lifecycle_item(change: StatusChange, partner: Partner) -> HistoryItem:
    return HistoryItem(
        at=change.changed_at,
        actor_label=change.actor_label,
        action="lifecycle",
        what="Lifecycle change" if change.from_status else "Lifecycle start",
        object_repr=partner.name,
        changes={
            "status": {
                "before": _STATUS_LABELS.get(change.from_status) if change.from_status else None,
                "after": _STATUS_LABELS.get(change.to_status, change.to_status),
            }
        },
    )


def partner_history(*, actor: Actor, partner: Partner) -> list[HistoryItem]:
    """The partner's history, newest first: every audited change of it and its contacts, agreements, ...,
    plus each lifecycle (status) change that no audit entry records (the demo's dated history, rows older
    than the audit trail), so the panel shows what the lifecycle list shows. Two queries."""
    actor.require(Perm.PARTNER_VIEW)
    entries = list(audit_list(actor=actor, partner=partner))
    audited = [
        (entry.at, entry.changes["status"].get("after"))
        for entry in entries
        if entry.object_type == _PARTNER and "status" in entry.changes
    ]
    items = [_audited_item(entry) for entry in entries]
    for change in status_history(actor=actor, partner=partner):
        recorded = any(
            after == change.to_status and abs(at - change.changed_at) <= _SAME_CHANGE for at, after in audited
        )
        if not recorded:
            items.append(_lifecycle_item(change, partner))
    items.sort(key=lambda item: item.at, reverse=True)
    return items
