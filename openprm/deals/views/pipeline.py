"""Staff pipeline pages: the weekly pipeline review, the partner page's deals panel, and the admins' stage
settings per program."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openprm.core.http import actor_of, staff_view
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.deals import selectors, services
from openprm.deals.models import DEFAULT_STALL_DAYS
from openprm.deals.views.common import decorate, unconverted
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner

REVIEW_ROWS = 50


@staff_view
def pipeline_review(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    now = timezone.now()
    sections = selectors.pipeline_review(actor=actor)
    titles = {
        "stalled": ("Stalled deals", "No stage change within the stage's threshold."),
        "closing_this_month": ("Closing this month", "Open deals expected to close this month."),
        "overdue_close": ("Overdue close dates", "Open deals whose expected close date has passed."),
        "approval_overdue": ("Approvals past SLA", "Registrations still waiting past their decision due."),
    }
    blocks = [
        {
            "key": key,
            "title": titles[key][0],
            "help": titles[key][1],
            "count": queryset.count(),
            "deals": decorate(
                selectors.pipeline_review_rows(key=key, queryset=queryset, limit=REVIEW_ROWS), now
            ),
        }
        for key, queryset in sections.items()
    ]
    return render(request, "deals/review.html", {"blocks": blocks, "now": now})


@staff_view
def partner_panel(request: HttpRequest, public_id: str) -> HttpResponse:
    """The "Deals" panel of the staff partner page (loaded into it by HTMX): metrics and recent deals."""
    actor = actor_of(request)
    try:
        partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    except Partner.DoesNotExist:
        raise Http404 from None
    now = timezone.now()
    recent = decorate(selectors.deal_list(actor=actor).filter(partner=partner)[:10], now)
    return render(
        request,
        "deals/_partner_panel.html",
        {
            "partner": partner,
            "metrics": selectors.deal_metrics(actor=actor, partner=partner),
            "unconverted": unconverted(actor, partner),
            "recent": recent,
        },
    )


@staff_view
def stages(request: HttpRequest) -> HttpResponse:
    """Admins configure each program's pipeline: stage names, win probabilities, stalled thresholds."""
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[int, list[str]] = {}
    if request.method == "POST":
        stage = (
            selectors.stages_for(actor=actor).filter(public_id=parse_uuid(request.POST.get("stage"))).first()
        )
        if stage is None:
            raise Http404
        try:
            services.stage_update(
                actor=actor,
                stage=stage,
                name=request.POST.get("name", ""),
                win_probability=request.POST.get("win_probability", ""),
                stall_days=request.POST.get("stall_days", ""),
            )
        except ValidationError as exc:
            errors[stage.pk] = exc.messages
        else:
            messages.success(request, f"Stage “{stage.name}” saved.")
            return redirect("deals:stages")
    programs = []
    for program in partner_selectors.program_list(actor=actor):
        services.program_stages(program=program)  # make sure defaults exist
        stage_list = list(selectors.stages_for(actor=actor, program_id=program.pk))
        for item in stage_list:
            item.default_stall_days = DEFAULT_STALL_DAYS.get(item.key)  # type: ignore[attr-defined]
        programs.append((program, stage_list))
    return render(request, "deals/stages.html", {"programs": programs, "errors": errors})
