"""Staff pages for deals: list (table and board), deal page with approvals and conflicts, pipeline review.

Parse → call one service/selector → render. Deals outside the actor's scope answer 404 like missing ones.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from openprm.accounts.selectors import staff_user_list
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.ids import parse_uuid
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.deals import selectors, services
from openprm.deals.forms import (
    RESOLUTION_CHOICES,
    ConflictResolveForm,
    DecisionNoteForm,
    InfoRequestForm,
    RejectForm,
    StageForm,
    close_month_choices,
)
from openprm.deals.history import deal_history_items
from openprm.deals.models import (
    DEFAULT_STALL_DAYS,
    ApprovalStatus,
    Deal,
    DealConflict,
    DealStageChange,
    PipelineStage,
)
from openprm.deals.selectors import DealFilters
from openprm.deals.services import registration
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

BOARD_CARDS_PER_STAGE = 20  # cards per column; "Show more" loads the next ones into the column
REVIEW_ROWS = 50


def _deal_or_404(request: HttpRequest, public_id: Any) -> Deal:
    try:
        return selectors.deal_get(actor=actor_of(request), public_id=public_id)
    except Deal.DoesNotExist:
        raise Http404 from None


def _decorate(deals: Any, now: datetime.datetime) -> list[Deal]:
    """Attach what the rows and cards show (days in stage, stalled) without extra queries."""
    rows = list(deals)
    for deal in rows:
        deal.days_in_stage = deal.calendar_days_in_stage(now)
        deal.stalled = deal.is_stalled(now)
    return rows


# --- list: table and board ---------------------------------------------------------------------------


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
    counts = {
        row["stage_id"]: row["n"]
        # The program's stage ids imply the program: counting by stage alone is an index-only scan.
        for row in queryset.filter(stage__in=stages).order_by().values("stage_id").annotate(n=Count("*"))
    }
    base = {k: v for k, v in source.items() if k not in {"column", "offset", "csrfmiddlewaretoken"} and v}
    columns = []
    for stage in stages:
        count = counts.get(stage.pk, 0)
        cards = (
            in_program.filter(stage=stage)[offset : offset + BOARD_CARDS_PER_STAGE] if count > offset else []
        )
        column = BoardColumn(stage=stage, deals=_decorate(cards, now), count=count, offset=offset)
        if column.hidden:
            more = {**base, "view": "board", "program": program.public_id, "column": stage.key}
            column.more_url = (
                f"{reverse('deals:list')}?{urlencode({**more, 'offset': offset + len(column.deals)})}"
            )
        columns.append(column)
    return columns


def _list_context(request: HttpRequest, source: Any) -> dict[str, Any]:
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
        page.object_list = _decorate(page.object_list, now)
        context["page"] = page
    return context


@staff_view
def deal_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.GET.get("panel") == "summary":  # the program pipeline panel, loaded after the list
        return render(request, "deals/_metrics.html", {"metrics": selectors.deal_metrics(actor=actor)})
    context = _list_context(request, request.GET)
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


# --- deal page ----------------------------------------------------------------------------------------


@dataclass
class ConflictView:
    conflict: DealConflict
    this: Deal
    other: Deal
    first_in: Deal
    hidden: bool = False  # the other registration is outside the actor's partners: shown as "exists" only
    blocking: bool = False  # open, with a rival still in play: approval needs it resolved or overridden

    @property
    def score_percent(self) -> int:
        return round(self.conflict.score * 100)

    @property
    def this_is_first(self) -> bool:
        return self.first_in.pk == self.this.pk


@dataclass
class StageRow:
    change: DealStageChange
    left_at: datetime.datetime | None
    days: float


def _stage_rows(deal: Deal, now: datetime.datetime) -> list[StageRow]:
    changes = list(selectors.stage_changes(deal=deal).order_by("changed_at", "id"))
    rows = []
    for index, change in enumerate(changes):
        left_at = changes[index + 1].changed_at if index + 1 < len(changes) else None
        end = left_at or now
        rows.append(StageRow(change, left_at, max(0.0, (end - change.changed_at).total_seconds() / 86400)))
    return rows


def _audit(request: HttpRequest, deal: Deal) -> dict[str, Any]:
    entries = AuditEntry.objects.filter(object_type="deals.deal", object_id=deal.public_id).order_by(
        "-at", "-id"
    )
    history = paginate(request, entries, per_page=20)
    items = deal_history_items(history.object_list, currency=deal.currency)
    return {"deal": deal, "history": history, "history_items": items}


def _conflict_views(actor: Any, deal: Deal) -> list[ConflictView]:
    """Each conflicting pair once, whichever direction it was stored in; rivals outside the actor's
    partners (staff restricted to their own) are masked."""
    conflicts = registration.deal_conflicts(deal=deal)
    rivals = {c.other_id if c.deal_id == deal.pk else c.deal_id for c in conflicts}
    visible = registration.deals_visible(actor=actor, deal_ids=rivals)
    blocking = {c.pk for c in registration.conflicts_blocking(deal=deal)} if conflicts else set()
    views = []
    for c in conflicts:
        other = c.other if c.deal_id == deal.pk else c.deal
        views.append(
            ConflictView(
                conflict=c,
                this=deal,
                other=other,
                first_in=c.first_in,
                hidden=other.pk not in visible,
                blocking=c.pk in blocking,
            )
        )
    return views


def _detail(request: HttpRequest, deal: Deal, status: int = 200, **forms: Any) -> HttpResponse:
    actor = actor_of(request)
    now = timezone.now()
    stages = services.program_stages(program=deal.program)
    conflicts = _conflict_views(actor, deal)
    lines = list(deal.line_items.all())
    lines_total = sum((li.total for li in lines), Decimal("0"))
    context = {
        **_audit(request, deal),
        "stages": stages,
        "stage_rows": _stage_rows(deal, now),
        "conflicts": conflicts,
        "open_conflicts": sum(1 for c in conflicts if c.conflict.status == "open"),
        "blocking_conflicts": sum(1 for c in conflicts if c.blocking),
        "blocking_hidden": sum(1 for c in conflicts if c.blocking and c.hidden),
        "lines_total": lines_total,
        "amount_mismatch": bool(lines) and lines_total != deal.amount,
        "undecided": deal.approval_status in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO),
        "approve_form": forms.get("approve_form") or DecisionNoteForm(),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "info_form": forms.get("info_form") or InfoRequestForm(),
        "stage_form": forms.get("stage_form") or StageForm(initial={"stage": deal.stage.key}, stages=stages),
        "resolve_error": forms.get("resolve_error"),
        "days_in_stage": deal.calendar_days_in_stage(now),
        "stalled": deal.is_stalled(now),
    }
    return render(request, "deals/detail.html", context, status=status)


@staff_view
def deal_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return _detail(request, _deal_or_404(request, public_id))


@staff_view
def deal_history(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = _deal_or_404(request, public_id)
    return render(request, "deals/_history.html", _audit(request, deal))


def _editable(request: HttpRequest, public_id: str) -> tuple[Any, Deal]:
    actor = actor_of(request)
    deal = _deal_or_404(request, public_id)
    actor.require(Perm.PARTNER_EDIT)  # read-only roles get 403 before any validation message
    return actor, deal


def _back(deal: Deal) -> HttpResponse:
    return redirect("deals:detail", public_id=deal.public_id)


@staff_view
@require_POST
def deal_approve(request: HttpRequest, public_id: str) -> HttpResponse:
    actor, deal = _editable(request, public_id)
    form = DecisionNoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, deal, approve_form=form)
    try:
        services.deal_approve(
            actor=actor,
            deal=deal,
            note=form.cleaned_data["note"],
            override_conflicts=bool(request.POST.get("override_conflicts")),
            override_reason=request.POST.get("override_reason", "").replace("\x00", "")[:2000],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:  # overriding a conflict with a deal the actor may not see
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Approved the registration of {deal.customer_name}.")
    return _back(deal)


@staff_view
@require_POST
def deal_reject(request: HttpRequest, public_id: str) -> HttpResponse:
    actor, deal = _editable(request, public_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.deal_reject(actor=actor, deal=deal, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _form_errors(form, exc, "reason")
        else:
            messages.success(request, f"Rejected the registration of {deal.customer_name}.")
            return _back(deal)
    return _detail(request, deal, reject_form=form)


@staff_view
@require_POST
def deal_request_info(request: HttpRequest, public_id: str) -> HttpResponse:
    actor, deal = _editable(request, public_id)
    form = InfoRequestForm(request.POST)
    if form.is_valid():
        try:
            services.deal_request_info(actor=actor, deal=deal, message=form.cleaned_data["message"])
        except ValidationError as exc:
            _form_errors(form, exc, "message")
        else:
            messages.success(request, "Asked the partner for more information.")
            return _back(deal)
    return _detail(request, deal, info_form=form)


def _form_errors(form: Any, exc: ValidationError, field: str) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(field, exc.messages)


@staff_view
@require_POST
def deal_stage(request: HttpRequest, public_id: str) -> HttpResponse:
    """Move a deal to another stage, from the deal page or from a board card (HTMX re-renders the board)."""
    actor, deal = _editable(request, public_id)
    stages = services.program_stages(program=deal.program)
    form = StageForm(request.POST, stages=stages)
    from_board = request.POST.get("from") == "board"
    error = ""
    if form.is_valid():
        try:
            services.deal_move_stage(
                actor=actor,
                deal=deal,
                stage_key=form.cleaned_data["stage"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as exc:
            _form_errors(form, exc, "stage")
            error = " ".join(exc.messages)
    else:
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
    if from_board:
        if request.htmx:  # type: ignore[attr-defined]
            # The card's own fields are not list filters (``stage`` would filter the board to one column).
            skip = {"stage", "lost_reason", "from", "csrfmiddlewaretoken"}
            context = _list_context(request, {k: v for k, v in request.POST.items() if k not in skip})
            context.update(board_error=error, board_error_deal=deal.public_id)
            return render(request, "deals/_board.html", context)
        if error:
            messages.error(request, f"{deal.customer_name}: {error}")
        query = urlencode(
            {k: v for k, v in request.POST.items() if k not in {"csrfmiddlewaretoken", "stage", "from"} and v}
        )
        return redirect(reverse("deals:list") + "?" + query)
    if error:
        return _detail(request, deal, stage_form=form)
    messages.success(request, f"Moved to {deal.stage.name}.")
    return _back(deal)


@staff_view
@require_POST
def conflict_resolve(request: HttpRequest, public_id: str) -> HttpResponse:
    """Resolve a conflict from a deal's page; the choice is relative to that deal ("this")."""
    actor = actor_of(request)
    try:
        conflict = selectors.conflict_get(actor=actor, public_id=public_id)
    except DealConflict.DoesNotExist:
        raise Http404 from None
    this = _deal_or_404(request, request.POST.get("deal", ""))
    if this.pk not in (conflict.deal_id, conflict.other_id):
        raise Http404
    actor.require(Perm.PARTNER_EDIT)
    form = ConflictResolveForm(request.POST)
    if not form.is_valid():
        return _detail(request, this, resolve_error=(conflict.public_id, form))
    resolution = form.cleaned_data["resolution"]
    if this.pk == conflict.other_id and resolution in ("approve_this", "approve_other"):
        resolution = "approve_other" if resolution == "approve_this" else "approve_this"
    try:
        services.conflict_resolve(
            actor=actor, conflict=conflict, resolution=resolution, reason=form.cleaned_data["reason"]
        )
    except PermissionDenied as exc:  # the other registration belongs to a partner the actor does not own
        messages.error(request, str(exc))
        return _back(this)
    except ValidationError as exc:
        _form_errors(form, exc, "reason")
        return _detail(request, this, resolve_error=(conflict.public_id, form))
    label = dict(RESOLUTION_CHOICES)[form.cleaned_data["resolution"]]
    messages.success(request, f"Conflict resolved: {label.lower()}.")
    return _back(this)


# --- pipeline review and the partner page's deals panel ----------------------------------------------


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
            "deals": _decorate(
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
    recent = _decorate(selectors.deal_list(actor=actor).filter(partner=partner)[:10], now)
    return render(
        request,
        "deals/_partner_panel.html",
        {
            "partner": partner,
            "metrics": selectors.deal_metrics(actor=actor, partner=partner),
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
    for program in Program.objects.all():
        services.program_stages(program=program)  # make sure defaults exist
        stage_list = list(selectors.stages_for(actor=actor, program_id=program.pk))
        for item in stage_list:
            item.default_stall_days = DEFAULT_STALL_DAYS.get(item.key)  # type: ignore[attr-defined]
        programs.append((program, stage_list))
    return render(request, "deals/stages.html", {"programs": programs, "errors": errors})
