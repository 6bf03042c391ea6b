"""Scorecard pages: the all-partner table (sort, filters, CSV/XLSX), one partner's scorecard with its tier
progress, trends and targets, the leaderboard with Pareto, and each program's configuration and tier
criteria. Staff pages, except a partner's scorecard, which a partner user may open for their own partner."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.core.http import actor_of, member_view, staff_view
from openprm.core.permissions import Perm
from openprm.partners.models import Partner, Program
from openprm.partners.selectors import partner_get, program_get, reference_data
from openprm.scorecards import selectors, services
from openprm.scorecards.exports import leaderboard_sheet, scorecard_sheet
from openprm.scorecards.forms import METHOD_CHOICES, CriterionForm, metric_choices
from openprm.scorecards.scoring import DIMENSIONS, metric_problem
from openprm.scorecards.tiers import label_of
from openprm.scorecards.views.common import file_response, partner_filters, period_from

TREND_KEYS = ("won_revenue", "pipeline_value", "win_rate", "deal_count", "logins", "contacts")


@staff_view
def table(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_VIEW)
    period = period_from(request)
    sort = request.GET.get("sort", "-overall")
    if sort.lstrip("-") not in selectors.SORT_KEYS:
        sort = "-overall"
    filters = partner_filters(request)
    rows = selectors.scorecard_table(actor=actor, period=period, filters=filters, sort=sort)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        actor.require(Perm.PARTNER_EXPORT)
        header, body = scorecard_sheet(rows, period.key)
        return file_response(fmt, header, body, f"scorecards-{period.key}")
    return render(
        request,
        "scorecards/table.html",
        {
            "rows": rows,
            "period": period,
            "sort": sort,
            "filters": filters,
            "dimensions": DIMENSIONS,
            "reference": reference_data(actor=actor),
            "programs": selectors.program_choices(actor=actor),
            "tiers": selectors.tier_choices(actor=actor),
        },
    )


@member_view
def partner(request: HttpRequest, partner_id: str) -> HttpResponse:
    actor = actor_of(request)
    try:
        found = partner_get(actor=actor, public_id=partner_id)
        period = period_from(request)
        card, progress = selectors.scorecard_with_progress(actor=actor, partner=found, period=period)
        trends = selectors.trends(actor=actor, partner=found, period=period, keys=TREND_KEYS)
        targets = selectors.partner_targets(actor=actor, partner=found)
    except Partner.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "scorecards/partner.html",
        {
            "card": card,
            "progress": progress,
            "trends": trends,
            "targets": targets,
            "partner": found,
            "period": period,
        },
    )


@staff_view
def leaderboard(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_VIEW)
    period = period_from(request)
    metric = request.GET.get("metric", "won_revenue")
    if metric_problem(metric):
        messages.error(request, metric_problem(metric))
        metric = "won_revenue"
    filters = partner_filters(request)
    board = selectors.leaderboard(actor=actor, period=period, filters=filters, metric=metric, limit=None)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        actor.require(Perm.PARTNER_EXPORT)
        header, body = leaderboard_sheet(board)
        return file_response(fmt, header, body, f"leaderboard-{metric}-{period.key}")
    cut = selectors.pareto(actor=actor, period=period, filters=filters, metric=metric)
    return render(
        request,
        "scorecards/leaderboard.html",
        {
            "board": board,
            "rows": board.rows[:100],
            "cut": cut,
            "period": period,
            "metric": metric,
            "metric_label": label_of(metric),
            "metrics": metric_choices(),
            "filters": filters,
            "reference": reference_data(actor=actor),
            "programs": selectors.program_choices(actor=actor),
            "tiers": selectors.tier_choices(actor=actor),
        },
    )


def _posted_config(request: HttpRequest) -> tuple[list[dict[str, Any]], str]:
    dimensions = []
    for key in DIMENSIONS:
        metrics = []
        for index in range(12):
            prefix = f"{key}-{index}"
            metric_key = request.POST.get(f"{prefix}-key", "").strip()
            if not metric_key:
                continue
            metrics.append(
                {
                    "key": metric_key,
                    "weight": request.POST.get(f"{prefix}-weight", "0") or "0",
                    "method": request.POST.get(f"{prefix}-method", "auto"),
                }
            )
        dimensions.append(
            {"key": key, "weight": request.POST.get(f"{key}-weight", "0") or "0", "metrics": metrics}
        )
    return dimensions, request.POST.get("cap", "150")


@staff_view
def config(request: HttpRequest) -> HttpResponse:
    """A program's scorecard (dimensions, weights, metrics, methods, cap) and its tiers' criteria."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_VIEW)
    programs = selectors.program_choices(actor=actor)
    if not programs:
        raise Http404
    chosen = request.GET.get("program") or request.POST.get("program")
    try:
        program: Program = program_get(actor=actor, public_id=chosen) if chosen else programs[0]
    except Program.DoesNotExist:
        raise Http404 from None
    here = reverse("scorecards:config") + f"?program={program.public_id}"
    criterion_form = CriterionForm(
        request.POST if request.POST.get("action") == "criterion" else None,
        tiers=[t for t in selectors.tier_choices(actor=actor) if t.program_id == program.pk],
    )
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "config":
                dimensions, cap = _posted_config(request)
                services.scorecard_config_set(actor=actor, program=program, dimensions=dimensions, cap=cap)
                messages.success(request, f"Saved the scorecard of {program.name}.")
                return redirect(here)
            if action == "reset":
                services.scorecard_config_reset(actor=actor, program=program)
                messages.success(request, f"{program.name} uses the default scorecard again.")
                return redirect(here)
            if action == "criterion" and criterion_form.is_valid():
                tier = next(
                    t for t in program.tiers.all() if str(t.public_id) == criterion_form.cleaned_data["tier"]
                )
                services.tier_criterion_create(actor=actor, tier=tier, data=criterion_form.cleaned_data)
                messages.success(request, "Added the criterion.")
                return redirect(here + "#criteria")
            if action == "delete-criterion":
                criterion = selectors.criterion_get(actor=actor, public_id=request.POST.get("criterion"))
                services.tier_criterion_delete(actor=actor, criterion=criterion)
                messages.success(request, "Removed the criterion.")
                return redirect(here + "#criteria")
        except ValidationError as exc:
            errors = exc.message_dict
            if action == "criterion":
                for field, problems in errors.items():
                    criterion_form.add_error(field if field in criterion_form.fields else None, problems)
    current, stored = selectors.config_get(actor=actor, program=program)
    slots = []
    for key, label in DIMENSIONS.items():
        spec = next((d for d in current.dimensions if d.key == key), None)
        metrics = list(spec.metrics) if spec else []
        rows = [{"key": m.key, "weight": m.weight.normalize(), "method": m.method} for m in metrics]
        rows += [{"key": "", "weight": "", "method": "auto"}] * min(2, 12 - len(rows))
        slots.append(
            {
                "key": key,
                "label": label,
                "weight": spec.weight.normalize() if spec else Decimal(0),
                "rows": rows,
            }
        )
    return render(
        request,
        "scorecards/config.html",
        {
            "program": program,
            "programs": programs,
            "stored": stored,
            "cap": current.cap,
            "slots": slots,
            "errors": errors,
            "metrics": metric_choices(),
            "methods": METHOD_CHOICES,
            "criteria": selectors.criteria_list(actor=actor, program=program),
            "criterion_form": criterion_form,
            "can_edit": actor.can(Perm.PARTNER_EDIT) and not actor.owned_only,
        },
    )
