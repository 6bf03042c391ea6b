"""Telling people: :func:`announce` is the one place an alert's firing, reminder or resolution goes out.
Through ``notifications.notify`` when that app is installed (its channels, preferences and grouping: the
group key is the rule, so one rule's alerts go out together); otherwise as in-app notifications."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps as django_apps
from django.urls import reverse

from openprm.accounts.models import Membership, Notification, User
from openprm.alerts.models import Alert, AlertRule, AlertTransition, State
from openprm.core.permissions import STAFF_ROLES
from openprm.core.scoping import unscoped

DEFAULT_RECIPIENTS = ["admin", "manager"]


def recipients(rule: AlertRule) -> list[User]:
    """The rule's recipients: staff users named by public id, and the staff holding the named roles."""
    named = rule.recipients or DEFAULT_RECIPIENTS
    roles = [r for r in named if r in STAFF_ROLES]
    ids = [r for r in named if r not in STAFF_ROLES]
    with unscoped():
        members = Membership.objects.filter(
            workspace_id=rule.workspace_id, partner__isnull=True, is_active=True, user__is_active=True
        ).select_related("user")
        return [m.user for m in members if m.role in roles or str(m.user.public_id) in ids]


def message(alert: Alert, transition: AlertTransition) -> tuple[str, str]:
    """The title and text of the announcement."""
    rule = alert.rule
    what = alert.subject_label or (alert.partner.name if alert.partner else "Workspace")
    verbs: dict[str, str] = {State.FIRING.value: "Firing", State.RESOLVED.value: "Resolved"}
    verb = verbs.get(transition.to_state, "Alert")
    if transition.from_state == transition.to_state:
        verb = "Still firing"
    lines = [f"{rule.name}: {what}"]
    for item in transition.values.get("conditions", []):
        lines.append(describe(item))
    return f"[{verb}] {rule.name}: {what}"[:200], "\n".join(lines)


def describe(item: dict[str, Any]) -> str:
    """One condition's values in words (the alert pages and the announcements)."""
    kind = item.get("kind", "")
    if "metric" in item:
        label = item.get("label") or item["metric"]
        if kind == "threshold":
            return (
                f"{label} {item.get('value')} {item.get('op')} {item.get('threshold')} ({item.get('period')})"
            )
        if kind == "change":
            return (
                f"{label} {item.get('value')} vs {item.get('baseline')} ({item.get('against')}): "
                f"{item.get('change_percent', '–')}% ({item.get('period')})"
            )
        if kind == "target":
            extra = item.get("pace") or f"attainment {item.get('attainment')}%"
            return (
                f"{label} {item.get('value')} of target {item.get('target')}: {extra} ({item.get('period')})"
            )
        if kind == "inactivity":
            last, since = item.get("last") or "none", item.get("days_since")
            return f"{label}: {last} ({since} days ago, limit {item.get('days')})"
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in item.items() if k != "kind")


def announce(alert: Alert, transition: AlertTransition) -> int:
    """Tell the rule's recipients about ``transition``; returns how many were told."""
    rule = alert.rule
    users = recipients(rule)
    if not users:
        return 0
    title, body = message(alert, transition)
    link = reverse("alerts:alert", kwargs={"public_id": alert.public_id})
    kind = f"alert.{'reminder' if transition.from_state == transition.to_state else transition.to_state}"
    group_key = f"alert-rule:{rule.public_id}"
    notify = None
    if django_apps.is_installed("openprm.notifications"):
        notify = getattr(import_module("openprm.notifications.services"), "notify", None)
    if notify is not None:  # staff recipients: no partner_id (that would address the partner's users)
        notify(
            workspace_id=rule.workspace_id,
            kind=kind,
            title=title,
            users=[u.pk for u in users],
            severity=rule.severity,
            body=body,
            link=link,
            group_key=group_key,
            group_title=f"Alerts of rule {rule.name}"[:200],
        )
        return len(users)
    known = {f.name for f in Notification._meta.fields}
    extra = {"kind": kind, "severity": rule.severity, "group_key": group_key}
    row = {k: v for k, v in extra.items() if k in known}
    Notification.objects.bulk_create(
        Notification(
            workspace_id=rule.workspace_id, user=u, partner=None, title=title, body=body, link=link, **row
        )
        for u in users
    )
    return len(users)
