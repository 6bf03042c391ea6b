"""Telling people: :class:`Announcements` is the one place an evaluation's firings, reminders and
resolutions go out, through ``notifications.notify_many`` (its channels, preferences and grouping), once
for a whole cycle. One notification per rule and kind of change with all its alerts — not one per alert —
so a cycle that fires for 500 partners sends each recipient one message per rule. A rule with
``tell_partner`` also tells each partner's own users about their partner's alerts, in a partner-safe text
(:func:`partner_describe`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.urls import reverse
from django.utils.http import urlencode

from openprm.accounts.models import Membership
from openprm.alerts.conditions import KIND_LABELS
from openprm.alerts.models import AlertRule, State
from openprm.core.models import Workspace
from openprm.core.permissions import STAFF_ROLES
from openprm.core.scoping import unscoped
from openprm.metrics.catalog import Family, Unit, metric
from openprm.metrics.display import EMPTY, duration, percent, show
from openprm.notifications.services import Notice, notify_many
from openprm.partners.models import Partner

DEFAULT_RECIPIENTS = ["admin", "manager"]
MAX_LINES = 50  # alerts listed in one announcement; the link lists them all
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
VERBS = {"firing": "Firing", "reminder": "Still firing", "resolved": "Resolved"}


Staff = list[tuple[str, str, int]]  # the workspace's active staff: (role, user public id, user id)


def staff_of(workspace_id: int) -> Staff:
    with unscoped():
        members = Membership.objects.filter(
            workspace_id=workspace_id, partner__isnull=True, is_active=True, user__is_active=True
        ).values_list("role", "user__public_id", "user_id")
        return [(role, str(public_id), uid) for role, public_id, uid in members]


def recipients(rule: AlertRule, staff: Staff | None = None) -> list[int]:
    """Ids of the rule's recipients: staff users named by public id, and the staff holding the named
    roles (among ``staff``, read when not given)."""
    named = rule.recipients or DEFAULT_RECIPIENTS
    roles = {r for r in named if r in STAFF_ROLES}
    ids = {r for r in named if r not in STAFF_ROLES}
    members = staff_of(rule.workspace_id) if staff is None else staff
    return [uid for role, public_id, uid in members if role in roles or public_id in ids]


def currency_of(workspace_id: int) -> str:
    with unscoped():
        return str(Workspace.objects.filter(pk=workspace_id).values_list("currency", flat=True).first() or "")


# --- values in words ------------------------------------------------------------------------------------


def _decimal(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _plain_number(value: Decimal) -> str:
    whole = value == value.to_integral_value()
    return f"{value:,.0f}" if whole else f"{value.normalize():,f}"


def figure(key: str, raw: Any, currency: str = "") -> str:
    """A stored value (a string, as the alert keeps it) of metric ``key`` as people read it, in the
    metric's unit like the scorecards and dashboards show it (``metrics.display``): "20%", "€12,000",
    "3 days", "2.5 h"; other values as they are."""
    value = _decimal(raw)
    if value is None:
        return EMPTY if raw is None or raw == "" else str(raw)
    entry = metric(key)
    if entry.unit is Unit.RATIO:
        return percent(value)
    if entry.unit is Unit.SECONDS:
        return duration(float(value))
    if entry.unit in (Unit.CURRENCY, Unit.CURRENCY_PER_DAY):
        whole = value == value.to_integral_value() or abs(value) >= 100
        amount = f"{value:,.0f}" if whole else f"{value:,.2f}"
        sign, amount = ("−", amount[1:]) if amount.startswith("-") else ("", amount)
        money = f"{SYMBOLS[currency]}{amount}" if currency in SYMBOLS else f"{amount} {currency}".strip()
        return sign + money + (" a day" if entry.unit is Unit.CURRENCY_PER_DAY else "")
    if entry.unit is Unit.DAYS:
        return f"{_plain_number(value)} day{'' if value == 1 else 's'}"
    if entry.unit in (Unit.COUNT, Unit.PER_30_DAYS, Unit.SCORE, Unit.FACTOR):
        return _plain_number(value) + (" per 30 days" if entry.unit is Unit.PER_30_DAYS else "")
    return show(entry, value)


def _days(n: Any) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def describe(item: dict[str, Any], currency: str = "") -> str:
    """One condition's values in words (the alert pages and the announcements), in the metric's unit:
    "Win rate 0% < 20% (2026-Q4)"."""
    kind = item.get("kind", "")
    if "metric" in item:
        key, label, period = item["metric"], item.get("label") or item["metric"], item.get("period")

        def shown(name: str) -> str:
            return figure(key, item.get(name), currency)

        if kind == "threshold":
            return f"{label} {shown('value')} {item.get('op')} {shown('threshold')} ({period})"
        if kind == "change":
            moved = _decimal(item.get("change_percent"))
            by = "–" if moved is None else f"{'+' if moved > 0 else ''}{moved}%"
            return f"{label} {shown('value')} vs {shown('baseline')} ({item.get('against')}): {by} ({period})"
        if kind == "target":
            extra = item.get("pace") or f"attainment {item.get('attainment')}%"
            return f"{label} {shown('value')} of target {shown('target')}: {extra} ({period})"
        if kind == "inactivity":
            last, since = item.get("last") or "none", item.get("days_since")
            since_text = _days(since) if isinstance(since, int) else f"{since} days"
            return f"{label}: {last} ({since_text} ago, limit {_days(item.get('days'))})"
    return _describe_record(item) or ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in item.items() if k not in ("kind", "met")
    )


def _describe_record(item: dict[str, Any]) -> str:
    """A record condition's values in words ("" for an unknown kind: its fields as they are)."""
    kind = item.get("kind", "")
    if kind == "agreement_expiring":
        left = _days(item.get("days_left"))
        return f"ends {item.get('end_date')} ({left} left, notice {item.get('within_days')} days)"
    if kind in ("registration_pending", "registration_sla", "deal_stalled"):
        amount = _decimal(item.get("amount"))
        money = f"{amount:,.0f} {item.get('currency', '')}".strip() if amount is not None else ""
        day = str(item.get("registered_at", ""))[:10]
        text = f"{money}, registered {day}"
        if kind == "deal_stalled":
            return f"{_days(item.get('days_in_stage'))} in stage {item.get('stage')}; {text}"
        due = item.get("approval_due_at")
        return f"{text}, approval due {str(due)[:16].replace('T', ' ')}" if due else text
    if kind == "conflict_waiting":
        hours, limit = item.get("hours_waiting"), item.get("limit_hours")
        return f"open {hours} h (limit {limit} h), match score {item.get('score')}"
    return ""


def describe_condition(item: dict[str, Any], currency: str = "") -> str:
    """A rule's condition (not its values) in words: "Win rate < 20% (month)"."""
    kind, key = item.get("kind", ""), item.get("metric", "")
    label = metric(key).label if key else ""
    grain = "last {} days".format(item.get("days")) if item.get("grain") == "rolling" else item.get("grain")
    if kind == "threshold":
        return f"{label} {item.get('op')} {figure(key, item.get('value'), currency)} ({grain})"
    if kind == "target":
        return f"{label} {item.get('behind_percent')}% behind target ({item.get('measure')}, {grain})"
    if kind == "change":
        against = "the previous period" if item.get("against") == "previous" else "the baseline"
        return f"{label} {item.get('direction')} ≥ {item.get('percent')}% vs {against} ({grain})"
    if kind == "inactivity":
        return f"{label} older than {_days(item.get('days'))}"
    extra = {"agreement_expiring": "days", "deal_stalled": "days", "conflict_waiting": "hours"}.get(kind)
    if extra and item.get(extra):
        return f"{KIND_LABELS.get(kind, kind)} ({item.get(extra)} {extra})"
    return KIND_LABELS.get(kind, kind)


def partner_describe(item: dict[str, Any], currency: str = "") -> str:
    """One condition in words for the partner's own users: their own figures and records only — no other
    partner (a conflict's other side), no score, no relationship-health indicator; "" to leave it out."""
    kind = item.get("kind", "")
    if "metric" in item:
        return "" if metric(item["metric"]).family is Family.HEALTH else describe(item, currency)
    if kind == "agreement_expiring":
        return f"Agreement ends {item.get('end_date')} ({_days(item.get('days_left'))} left)"
    if kind in ("registration_pending", "registration_sla"):
        return f"Registration {item.get('customer')}: awaiting approval"
    if kind == "deal_stalled":
        return f"Deal {item.get('customer')}: {_days(item.get('days_in_stage'))} in stage {item.get('stage')}"
    if kind == "conflict_waiting":
        return "A registration of yours is under conflict review"
    return ""


def partner_title(values: dict[str, Any]) -> str:
    """What a partner's alert is about, from its conditions (not the rule's name, which staff wrote for
    staff): "Alert on Win rate", "Agreement expiring"."""
    names = []
    for item in values.get("conditions", []):
        if "metric" in item and metric(item["metric"]).family is not Family.HEALTH:
            names.append(item.get("label") or item["metric"])
        elif item.get("kind") in KIND_LABELS and "metric" not in item:
            names.append(KIND_LABELS[item["kind"]])
    names = list(dict.fromkeys(names))
    return f"Alert on {', '.join(names)}" if names else "Alert"


# --- announcing -------------------------------------------------------------------------------------------


class AlertLike(Protocol):
    """What an announcement reads of an alert (an ``Alert``, or the cycle's ``states.AlertRow``)."""

    @property
    def public_id(self) -> uuid.UUID: ...
    @property
    def partner_id(self) -> int | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def subject_label(self) -> str: ...


class ChangeLike(Protocol):
    """What an announcement reads of a transition (an ``AlertTransition``, or the cycle's ``Moved``)."""

    @property
    def from_state(self) -> str: ...
    @property
    def to_state(self) -> str: ...
    @property
    def values(self) -> dict[str, Any]: ...


Told = Sequence[tuple[AlertLike, ChangeLike]]


def kind_of(transition: ChangeLike) -> str:
    """ "firing", "reminder" or "resolved"."""
    return "reminder" if transition.from_state == transition.to_state else transition.to_state


def _what(alert: AlertLike, names: dict[int, str]) -> str:
    if alert.subject_label:
        return alert.subject_label
    return names.get(alert.partner_id, "") if alert.partner_id else "Workspace"


def partner_names(told: Told) -> dict[int, str]:
    """The alerts' partner names in one query (new alerts carry only the partner's id)."""
    ids = {a.partner_id for a, _t in told if a.partner_id and not a.subject_label}
    with unscoped():
        return dict(Partner.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def message(
    rule: AlertRule, kind: str, told: Told, currency: str = "", names: dict[int, str] | None = None
) -> tuple[str, str]:
    """The title and text of one announcement: the rule, the change and each alert with its values
    (``names``: the partners' names, read when not given)."""
    verb = VERBS.get(kind, "Alert")
    many = "partners" if all(a.partner_id and not a.subject for a, _t in told) else "alerts"
    if names is None:
        names = partner_names(_shown(told))
    what = _what(told[0][0], names) if len(told) == 1 else f"{len(told)} {many}"
    lines = []
    for alert, transition in told[:MAX_LINES]:
        why = [describe(item, currency) for item in transition.values.get("conditions", [])]
        lines.append(f"{_what(alert, names)}: {'; '.join(why)}" if why else _what(alert, names))
    if len(told) > MAX_LINES:
        lines.append(f"… and {len(told) - MAX_LINES} more")
    return f"[{verb}] {rule.name}: {what}"[:200], "\n".join(lines)


def _shown(told: Told) -> Told:
    """The alerts an announcement names (the first ones, not all its partners)."""
    return [told[0], *told[:MAX_LINES]]


def _link(rule: AlertRule, kind: str, told: Told) -> str:
    if len(told) == 1:
        return reverse("alerts:alert", kwargs={"public_id": told[0][0].public_id})
    state = State.RESOLVED.value if kind == "resolved" else "open"
    return f"{reverse('alerts:list')}?{urlencode({'rule': str(rule.public_id), 'state': state})}"


class Announcements:
    """A cycle's announcements: each rule's notices are built when its changes are written (:meth:`add`, in
    the rule's savepoint, so a rule whose message cannot be built fails alone and leaves nothing), and all
    are told at the end in one ``notify_many`` (:meth:`send`) — the same notifications, in the same order, as
    telling each rule on its own, with the deliveries written in a few queries whatever the number of rules.

    Per rule and kind of change (firing, reminder, resolved) one notification to the rule's recipients
    with all its alerts, not one per alert; a rule with ``tell_partner`` also tells each partner's users
    about that partner's alerts."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.notices: list[Notice] = []
        self.count = 0
        self._workspace: tuple[str, Staff] | None = None  # (currency, staff), read once when first needed

    def add(self, rule: AlertRule, told: Told) -> int:
        """Build the rule's notices for its transitions; returns how many alerts."""
        if not told:
            return 0
        by_kind: dict[str, list[tuple[AlertLike, ChangeLike]]] = defaultdict(list)
        for alert, transition in told:
            by_kind[kind_of(transition)].append((alert, transition))
        if self._workspace is None:
            self._workspace = (currency_of(self.workspace_id), staff_of(self.workspace_id))
        currency, staff = self._workspace
        names = partner_names([shown for items in by_kind.values() for shown in _shown(items)])
        told_partners = {a.partner_id for a, _t in told} if rule.tell_partner else set()
        partner_users = _partner_users(self.workspace_id, told_partners)
        notices: list[Notice] = []
        users = recipients(rule, staff)
        for kind, items in by_kind.items():
            if users:  # staff recipients: no partner_id (that would address the partner's users)
                title, body = message(rule, kind, items, currency, names)
                notices.append(
                    Notice(
                        kind=f"alert.{kind}",
                        title=title,
                        users=tuple(users),
                        severity=rule.severity,
                        body=body,
                        link=_link(rule, kind, items),
                        group_key=f"alert-rule:{rule.public_id}",
                        group_title=f"Alerts of rule {rule.name}"[:200],
                    )
                )
            if rule.tell_partner:
                notices += _partner_notices(rule, kind, items, currency, partner_users)
        self.notices += notices
        self.count += len(told)
        return len(told)

    def send(self) -> int:
        """Tell everything added (in the caller's transaction); returns how many alerts."""
        notices, count = self.notices, self.count
        self.notices, self.count = [], 0
        if notices:
            notify_many(workspace_id=self.workspace_id, notices=notices)
        return count


def announce(rule: AlertRule, told: Told) -> int:
    """Tell the rule's recipients about the alerts' transitions (one notification per kind of change),
    and, when the rule says so, each partner's users about their own alerts; returns how many alerts."""
    announcements = Announcements(rule.workspace_id)
    announcements.add(rule, told)
    return announcements.send()


def _partner_users(workspace_id: int, partner_ids: set[int | None]) -> dict[int, list[int]]:
    """Each partner's active users, in one query."""
    users: dict[int, list[int]] = defaultdict(list)
    ids = {pid for pid in partner_ids if pid is not None}
    if ids:
        with unscoped():
            for uid, pid in Membership.objects.filter(
                workspace_id=workspace_id, partner_id__in=ids, is_active=True, user__is_active=True
            ).values_list("user_id", "partner_id"):
                users[pid].append(uid)
    return users


def _partner_notices(
    rule: AlertRule, kind: str, items: Told, currency: str, partner_users: dict[int, list[int]]
) -> list[Notice]:
    """Each partner's active users hear about that partner's alerts only (``notify`` with the partner's id
    refuses any other partner's user); webhooks are staff integrations and not told again."""
    by_partner: dict[int, list[tuple[AlertLike, ChangeLike]]] = defaultdict(list)
    for alert, transition in items:
        if alert.partner_id is not None:
            by_partner[alert.partner_id].append((alert, transition))
    verb = VERBS.get(kind, "Alert")
    notices = []
    for pid, own in by_partner.items():
        if not partner_users.get(pid):
            continue
        lines = []
        for _alert, transition in own[:MAX_LINES]:
            said = [partner_describe(item, currency) for item in transition.values.get("conditions", [])]
            lines.append("; ".join(s for s in said if s))
        notices.append(
            Notice(
                kind=f"alert.partner.{kind}",
                title=f"[{verb}] {partner_title(own[0][1].values)}"[:200],
                users=tuple(partner_users[pid]),
                severity=rule.severity,
                body="\n".join(line for line in lines if line),
                partner_id=pid,
                group_key=f"alert-rule:{rule.public_id}:partner:{pid}",
                group_title=f"Alerts: {rule.name}"[:200],
                webhooks=False,
            )
        )
    return notices
