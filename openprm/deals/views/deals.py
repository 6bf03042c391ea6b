"""The staff deal list: a filtered table, or a board with one column per stage of a program.

Parse → call one service/selector → render. Deals outside the actor's scope are simply not listed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from openprm.accounts.selectors import staff_user_list
from openprm.core.http import actor_of, paginate, staff_view
from openprm.deals import selectors, services
from openprm.deals.filters import DealFilters, close_month_choices
from openprm.deals.models import ApprovalStatus, Deal, PipelineStage
from openprm.deals.views.common import decorate, unconverted
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

BOARD_CARDS_PER_STAGE = 20  # cards per column; "Show more" loads the next ones into the column


def _programs(request: HttpRequest) -> list[Program]:
    return list(partner_selectors.reference_data(actor=actor_of(request))["programs"])


def _board_program(programs: list[Program], wanted: str) -> Program | None:
    for program in programs:
        if str(program.public_id) == wanted:
            return program
    return next((p for p in programs if p.is_default), programs[0] if programs else None)


@dataclass
class BoardColumn:
    stage: PipelineStage
    deals: list[Deal]
    count: int
    offset: int = 0  # cards of this column shown before these
    more_url: str = ""  # the next cards of the column (HTMX), when there are more

    @property
    def hidden(self) -> int:
        return max(0, self.count - self.offset - len(self.deals))

    @property
    def more_next(self) -> int:
        return min(BOARD_CARDS_PER_STAGE, self.hidden)


def _board_offset(source: Any) -> int:
    try:
        return max(0, min(100_000, int(source.get("offset", 0))))
    except (TypeError, ValueError):
        return 0


def _board(
    request: HttpRequest,
    queryset: QuerySet[Deal],
    program: Program | None,
    now: datetime.datetime,
    source: Any,
) -> list[BoardColumn]:
    """One column per stage of the program; a page of cards per column (one query each), the rest behind
    "Show more" (``column`` and ``offset`` ask for one column's next page)."""
    if program is None:
        return []
    stages = services.program_stages(program=program)
    only = str(source.get("column", ""))
    offset = _board_offset(source) if only else 0
    if only:
        stages = [stage for stage in stages if stage.key == only]
    if not source.get("approval"):  # rejected and expired registrations are not in the pipeline
        queryset = queryset.filter(approval_status__in=selectors.IN_PIPELINE)
    in_program = queryset.filter(program=program)
    counts = selectors.stage_counts(queryset=queryset, stages=stages)
    base = {k: v for k, v in source.items() if k not in {"column", "offset", "csrfmiddlewaretoken"} and v}
    columns = []
    for stage in stages:
        count = counts.get(stage.pk, 0)
        cards = (
            in_program.filter(stage=stage)[offset : offset + BOARD_CARDS_PER_STAGE] if count > offset else []
        )
        column = BoardColumn(stage=stage, deals=decorate(cards, now), count=count, offset=offset)
        if column.hidden:
            more = {**base, "view": "board", "program": program.public_id, "column": stage.key}
            column.more_url = (
                f"{reverse('deals:list')}?{urlencode({**more, 'offset': offset + len(column.deals)})}"
            )
        columns.append(column)
    return columns


def list_context(request: HttpRequest, source: Any) -> dict[str, Any]:
    actor = actor_of(request)
    now = timezone.now()
    filters = DealFilters.from_mapping(source)
    queryset = selectors.deal_list(actor=actor, filters=filters)
    mode = "board" if source.get("view") == "board" else "table"
    params = {k: v for k, v in source.items() if k not in {"page", "csrfmiddlewaretoken"} and v}
    context: dict[str, Any] = {
        "filters": filters,
        "mode": mode,
        "query": urlencode(params),
        "query_without_sort": urlencode({k: v for k, v in params.items() if k != "sort"}),
        "query_without_view": urlencode({k: v for k, v in params.items() if k not in {"view", "program"}}),
        "now": now,
        "filter_errors": filters.errors(),
    }
    if mode == "board":
        programs = _programs(request)
        program = _board_program(programs, str(source.get("program", "")))
        columns = _board(request, queryset, program, now, source)
        context.update(programs=programs, program=program, columns=columns)
        if source.get("column"):  # "Show more" of one column: its next cards only
            column = columns[0] if columns else None
            context.update(
                cards_only=True,
                cards=column.deals if column else [],
                more_url=column.more_url if column else "",
                more_next=column.more_next if column else 0,
                more_left=column.hidden if column else 0,
            )
    else:
        page = paginate(request, queryset)
        page.object_list = decorate(page.object_list, now)
        context["page"] = page
    return context


@staff_view
def deal_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.GET.get("panel") == "summary":  # the program pipeline panel, loaded after the list
        return render(
            request,
            "deals/_metrics.html",
            {"metrics": selectors.deal_metrics(actor=actor), "unconverted": unconverted(actor)},
        )
    context = list_context(request, request.GET)
    template = "deals/_board.html" if context["mode"] == "board" else "deals/_results.html"
    status = 400 if context["filter_errors"] else 200  # a filter that cannot apply: say which, match nothing
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, template, context, status=status)
    ref = partner_selectors.reference_data(actor=actor)
    context.update(
        results_template=template,
        types=ref["types"],
        tiers=ref["tiers"],
        stages=_stage_choices(actor),
        approvals=ApprovalStatus.choices,
        owners=staff_user_list(actor=actor),
        partner_options=_partner_options(context["filters"].partner),
        months=close_month_choices(timezone.localdate()),
    )
    return render(request, "deals/list.html", context, status=status)


def _partner_options(selected: str) -> str:
    """The partner filter's options, built in one pass (thousands of partners render in milliseconds)."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (public_id, mark_safe(" selected") if str(public_id) == selected else "", name)
            for public_id, name in Partner.objects.order_by("name").values_list("public_id", "name")
        ),
    )


def _stage_choices(actor: Any) -> list[tuple[str, str]]:
    """Stage keys across programs (the filter matches by key), first name wins."""
    seen: dict[str, str] = {}
    for stage in selectors.stages_for(actor=actor):
        seen.setdefault(stage.key, stage.name)
    return list(seen.items())
