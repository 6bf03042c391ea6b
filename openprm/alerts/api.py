"""Alerts over HTTP (staff only; admins and partner managers write): rules CRUD, alerts (list, one with
its history, acknowledge, snooze), silences. Partner users get 404 everywhere: alerting is internal."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from openprm.alerts import selectors, services
from openprm.alerts.schemas import (
    AlertOut,
    AlertPage,
    AlertQuery,
    PageQuery,
    RuleCreate,
    RuleOut,
    RulePage,
    RulePatch,
    SilenceCreate,
    SilenceOut,
    SilencePage,
    SnoozeIn,
    alert_out,
    rule_out,
    silence_out,
)
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.partners.selectors import partner_get

router = Router(tags=["alerts"])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff:
        raise Http404
    return actor


@router.get("/alerts/rules", response={200: RulePage, **ERRORS}, operation_id="openprm_alerts_rule_list")
def rule_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Alert rules, enabled first (`limit`, `offset`)."""
    queryset = selectors.rule_list(actor=_staff(request))
    rows = queryset[page.offset : page.offset + page.limit]
    return {"items": [rule_out(r) for r in rows], "count": queryset.count()}


@router.post("/alerts/rules", response={201: RuleOut, **ERRORS}, operation_id="openprm_alerts_rule_post")
def rule_post(request: HttpRequest, payload: RuleCreate) -> Status[dict[str, Any]]:
    """Create a rule; `conditions` is validated (errors name the field, e.g. `conditions.items.0.metric`)."""
    rule = services.rule_create(actor=_staff(request), data=payload.model_dump())
    return Status(201, rule_out(rule))


@router.get(
    "/alerts/rules/{uuid:public_id}",
    response={200: RuleOut, **ERRORS},
    operation_id="openprm_alerts_rule_get",
)
def rule_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    return rule_out(selectors.rule_get(actor=_staff(request), public_id=public_id))


@router.patch(
    "/alerts/rules/{uuid:public_id}",
    response={200: RuleOut, **ERRORS},
    operation_id="openprm_alerts_rule_patch",
)
def rule_patch(request: HttpRequest, public_id: uuid.UUID, payload: RulePatch) -> dict[str, Any]:
    actor = _staff(request)
    rule = selectors.rule_get(actor=actor, public_id=public_id)
    data = payload.model_dump(exclude_unset=True)
    return rule_out(services.rule_update(actor=actor, rule=rule, data=data))


@router.delete(
    "/alerts/rules/{uuid:public_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_alerts_rule_delete",
)
def rule_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = _staff(request)
    services.rule_delete(actor=actor, rule=selectors.rule_get(actor=actor, public_id=public_id))
    return Status(204, None)


@router.get("/alerts/silences", response={200: SilencePage, **ERRORS}, operation_id="openprm_alerts_silences")
def silence_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Silences, latest ending first."""
    queryset = selectors.silence_list(actor=_staff(request))
    rows = queryset[page.offset : page.offset + page.limit]
    return {"items": [silence_out(s) for s in rows], "count": queryset.count()}


@router.post(
    "/alerts/silences", response={201: SilenceOut, **ERRORS}, operation_id="openprm_alerts_silence_post"
)
def silence_post(request: HttpRequest, payload: SilenceCreate) -> Status[dict[str, Any]]:
    """Silence a rule, a partner, or a rule on one partner from `starts_at` (default now) to `ends_at`."""
    actor = _staff(request)
    rule = partner = None
    try:
        if payload.rule_id is not None:
            rule = selectors.rule_get(actor=actor, public_id=payload.rule_id)
    except ObjectDoesNotExist:
        raise ValidationError({"rule_id": "No rule with this id."}) from None
    try:
        if payload.partner_id is not None:
            partner = partner_get(actor=actor, public_id=payload.partner_id)
    except ObjectDoesNotExist:
        raise ValidationError({"partner_id": "No partner with this id."}) from None
    silence = services.silence_create(
        actor=actor,
        rule=rule,
        partner=partner,
        starts_at=payload.starts_at or timezone.now(),
        ends_at=payload.ends_at,
        reason=payload.reason,
    )
    return Status(201, silence_out(silence))


@router.delete(
    "/alerts/silences/{uuid:public_id}",
    response={204: None, **ERRORS},
    operation_id="openprm_alerts_silence_delete",
)
def silence_delete(request: HttpRequest, public_id: uuid.UUID) -> Status[None]:
    actor = _staff(request)
    services.silence_delete(actor=actor, silence=selectors.silence_get(actor=actor, public_id=public_id))
    return Status(204, None)


@router.get("/alerts", response={200: AlertPage, **ERRORS}, operation_id="openprm_alerts_alert_list")
def alert_list(request: HttpRequest, filters: Query[AlertQuery], page: Query[PageQuery]) -> dict[str, Any]:
    """Alerts, newest first; `state` (a state, or `open`), `severity`, `rule`, `partner` (public ids)."""
    actor = _staff(request)
    queryset = selectors.alert_list(
        actor=actor, filters=selectors.AlertFilters.from_mapping(filters.model_dump())
    )
    rows = queryset[page.offset : page.offset + page.limit]
    return {"items": [alert_out(a) for a in rows], "count": queryset.count()}


@router.get(
    "/alerts/{uuid:public_id}", response={200: AlertOut, **ERRORS}, operation_id="openprm_alerts_alert_get"
)
def alert_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    """One alert with why it fired (`values`) and its history."""
    actor = _staff(request)
    alert = selectors.alert_get(actor=actor, public_id=public_id)
    return alert_out(alert, list(selectors.alert_history(actor=actor, alert=alert)))


@router.post(
    "/alerts/{uuid:public_id}/acknowledge",
    response={200: AlertOut, **ERRORS},
    operation_id="openprm_alerts_alert_acknowledge",
)
def alert_acknowledge(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    actor = _staff(request)
    alert = selectors.alert_get(actor=actor, public_id=public_id)
    return alert_out(services.alert_acknowledge(actor=actor, alert=alert, now=timezone.now()))


@router.post(
    "/alerts/{uuid:public_id}/snooze",
    response={200: AlertOut, **ERRORS},
    operation_id="openprm_alerts_alert_snooze",
)
def alert_snooze(request: HttpRequest, public_id: uuid.UUID, payload: SnoozeIn) -> dict[str, Any]:
    actor = _staff(request)
    alert = selectors.alert_get(actor=actor, public_id=public_id)
    return alert_out(services.alert_snooze(actor=actor, alert=alert, until=payload.until, now=timezone.now()))
