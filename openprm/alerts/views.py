"""Alert pages (staff; admins and partner managers change things, other staff read): open alerts with
filters and actions (acknowledge, snooze, silence), one alert and why it fired, the rules, a rule's form
and its detail with its alerts and history."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from openprm.alerts import selectors, services
from openprm.alerts.announce import currency_of, describe, describe_condition
from openprm.alerts.forms import ROW_HELP, RuleForm, initial_of
from openprm.alerts.models import Alert, AlertRule, Severity, State
from openprm.core.actors import Actor
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners.selectors import reference_data


def _can_edit(actor: Actor) -> bool:
    return actor.is_staff and actor.can(Perm.PARTNER_EDIT)


def _until(text: str) -> datetime.datetime | None:
    """A date (end of that day, UTC) or a datetime from a form."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return datetime.datetime.combine(day, datetime.time(23, 59), tzinfo=datetime.UTC)
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError({"until": "Give a date (YYYY-MM-DD)."}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _act(request: HttpRequest, actor: Actor, alert: Alert) -> None:
    """The alert actions posted from the list or the detail page."""
    action, now = request.POST.get("action"), timezone.now()
    if action == "acknowledge":
        services.alert_acknowledge(actor=actor, alert=alert, now=now)
        messages.success(request, "Acknowledged.")
    elif action == "snooze":
        services.alert_snooze(actor=actor, alert=alert, until=_until(request.POST.get("until", "")), now=now)
        messages.success(request, "Snoozed.")
    elif action in ("silence_rule", "silence_partner"):
        until = _until(request.POST.get("until", ""))
        if until is None:
            raise ValidationError({"until": "Silence until which date?"})
        services.silence_create(
            actor=actor,
            rule=alert.rule if action == "silence_rule" else None,
            partner=alert.partner if action == "silence_partner" else None,
            starts_at=now,
            ends_at=until,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "Silenced.")


def _post_action(request: HttpRequest, actor: Actor) -> HttpResponse | None:
    if request.method != "POST":
        return None
    if not _can_edit(actor):
        raise Http404
    alert = selectors.alert_get(actor=actor, public_id=request.POST.get("alert", ""))
    try:
        _act(request, actor, alert)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    return redirect(request.POST.get("next") or reverse("alerts:alert", args=[alert.public_id]))


@staff_view
def alert_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if (done := _post_action(request, actor)) is not None:
        return done
    data = request.GET.copy()
    data.setdefault("state", "open")
    filters = selectors.AlertFilters.from_mapping(data)
    try:
        page = paginate(request, selectors.alert_list(actor=actor, filters=filters))
    except ValidationError:
        raise Http404 from None
    currency = currency_of(actor.workspace_id)
    for alert in page.object_list:
        alert.why = [describe(v, currency) for v in alert.values.get("conditions", [])]
    return render(
        request,
        "alerts/alerts.html",
        {
            "page": page,
            "filters": filters,
            "states": [("open", "Open"), *State.choices],
            "severities": Severity.choices,
            "rules": selectors.rule_list(actor=actor),
            "can_edit": _can_edit(actor),
            "today": timezone.now().date(),
        },
    )


@staff_view
def alert_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    if (done := _post_action(request, actor)) is not None:
        return done
    try:
        alert = selectors.alert_get(actor=actor, public_id=public_id)
    except Alert.DoesNotExist:
        raise Http404 from None
    chart = (
        reverse("dashboards:partner", kwargs={"public_id": alert.partner.public_id}) if alert.partner else ""
    )
    return render(
        request,
        "alerts/alert.html",
        {
            "alert": alert,
            "why": [
                (v, describe(v, currency_of(actor.workspace_id))) for v in alert.values.get("conditions", [])
            ],
            "history": selectors.alert_history(actor=actor, alert=alert),
            "chart": chart,
            "can_edit": _can_edit(actor),
        },
    )


@staff_view
def rule_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return render(
        request,
        "alerts/rules.html",
        {"rules": selectors.rule_list(actor=actor), "can_edit": _can_edit(actor)},
    )


@staff_view
def rule_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    try:
        rule = selectors.rule_get(actor=actor, public_id=public_id)
    except AlertRule.DoesNotExist:
        raise Http404 from None
    if request.method == "POST" and request.POST.get("action") == "delete":
        if not _can_edit(actor):
            raise Http404
        services.rule_delete(actor=actor, rule=rule)
        messages.success(request, "Rule deleted.")
        return redirect("alerts:rules")
    alerts = selectors.alert_list(actor=actor, filters=selectors.AlertFilters(rule=str(rule.public_id)))[:100]
    return render(
        request,
        "alerts/rule.html",
        {
            "rule": rule,
            "alerts": alerts,
            "history": selectors.rule_history(actor=actor, rule=rule),
            "conditions": [
                describe_condition(i, currency_of(actor.workspace_id))
                for i in rule.conditions.get("items", [])
            ],
            "can_edit": _can_edit(actor),
        },
    )


@staff_view
def rule_edit(request: HttpRequest, public_id: uuid.UUID | None = None) -> HttpResponse:
    actor = actor_of(request)
    if not _can_edit(actor):
        raise Http404
    rule = None
    if public_id is not None:
        try:
            rule = selectors.rule_get(actor=actor, public_id=public_id)
        except AlertRule.DoesNotExist:
            raise Http404 from None
    others = [(str(r.public_id), r.name) for r in selectors.rule_list(actor=actor) if r != rule]
    form = RuleForm(
        request.POST if request.method == "POST" else None,
        initial=initial_of(rule) if rule else {"enabled": True, "kind_0": "threshold"},
        reference=reference_data(actor=actor),
        rules=others,
    )
    if request.method == "POST" and form.is_valid():
        try:
            data: dict[str, Any] = form.to_data()
            if rule is None:
                rule = services.rule_create(actor=actor, data=data)
            else:
                rule = services.rule_update(actor=actor, rule=rule, data=data)
            messages.success(request, "Rule saved.")
            return redirect("alerts:rule", public_id=rule.public_id)
        except ValidationError as error:
            form.add_service_errors(error.message_dict)
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule, "row_help": ROW_HELP})
