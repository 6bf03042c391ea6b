"""Reads of the alerts app: rules, alerts (filtered), one alert with its history, silences. Staff only:
a partner user gets nothing (the models are staff-only, and these refuse outright)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from openprm.alerts.models import OPEN_STATES, Alert, AlertRule, AlertTransition, Silence
from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid


def _staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Http404


def rule_list(*, actor: Actor) -> QuerySet[AlertRule]:
    _staff(actor)
    return (
        AlertRule.objects.annotate(
            open_count=Count("alerts", filter=Q(alerts__state__in=OPEN_STATES)),
            firing_count=Count("alerts", filter=Q(alerts__state="firing")),
        )
        .prefetch_related("inhibits")
        .order_by("-enabled", "name", "id")
    )


def rule_get(*, actor: Actor, public_id: Any) -> AlertRule:
    _staff(actor)
    return AlertRule.objects.prefetch_related("inhibits", "inhibited_by").get(
        public_id=parse_uuid(str(public_id))
    )


@dataclass
class AlertFilters:
    state: str = ""  # a state, "open" (the default on the page) or "" for all
    severity: str = ""
    rule: str = ""  # rule public id
    partner: str = ""  # partner public id

    @classmethod
    def from_mapping(cls, data: Any) -> AlertFilters:
        return cls(**{f.name: str(data.get(f.name) or "").strip()[:100] for f in fields(cls)})


def alert_list(*, actor: Actor, filters: AlertFilters | None = None) -> QuerySet[Alert]:
    _staff(actor)
    filters = filters or AlertFilters()
    queryset = Alert.objects.select_related("rule", "partner", "acknowledged_by", "inhibited_by__rule")
    if filters.state == "open":
        queryset = queryset.filter(state__in=OPEN_STATES)
    elif filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.severity:
        queryset = queryset.filter(rule__severity=filters.severity)
    if filters.rule:
        queryset = queryset.filter(rule__public_id=parse_uuid(filters.rule))
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if actor.owned_only:  # staff restricted to their partners: those partners' alerts
        queryset = queryset.filter(partner__owner_id=actor.user_id)
    return queryset.order_by("-started_at", "-id")


def alert_get(*, actor: Actor, public_id: Any) -> Alert:
    return alert_list(actor=actor).get(public_id=parse_uuid(str(public_id)))


def alert_history(*, actor: Actor, alert: Alert) -> QuerySet[AlertTransition]:
    _staff(actor)
    return AlertTransition.objects.filter(alert=alert).order_by("-at", "-id")


def rule_history(*, actor: Actor, rule: AlertRule, limit: int = 50) -> list[AlertTransition]:
    _staff(actor)
    return list(
        AlertTransition.objects.filter(alert__rule=rule)
        .select_related("alert", "alert__partner")
        .order_by("-at", "-id")[:limit]
    )


def silence_list(*, actor: Actor, active_at: Any = None) -> QuerySet[Silence]:
    _staff(actor)
    queryset = Silence.objects.select_related("rule", "partner", "created_by")
    if active_at is not None:
        queryset = queryset.filter(starts_at__lte=active_at, ends_at__gt=active_at)
    return queryset.order_by("-ends_at", "-id")


def silence_get(*, actor: Actor, public_id: Any) -> Silence:
    return silence_list(actor=actor).get(public_id=parse_uuid(str(public_id)))
