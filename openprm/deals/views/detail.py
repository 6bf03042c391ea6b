"""The staff deal page: details, stage history, audit trail, conflicts, and the decisions taken there
(approve, reject, ask for information, move stage, resolve a conflict).

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
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.deals import selectors, services
from openprm.deals.forms import (
    RESOLUTION_CHOICES,
    ConflictResolveForm,
    DecisionNoteForm,
    InfoRequestForm,
    RejectForm,
    StageForm,
)
from openprm.deals.models import ApprovalStatus, Deal, DealConflict, DealStageChange
from openprm.deals.views.common import deal_or_404
from openprm.deals.views.deals import list_context


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
    history = paginate(request, selectors.deal_audit_entries(deal=deal), per_page=20)
    items = selectors.deal_history_items(history.object_list, currency=deal.currency)
    return {"deal": deal, "history": history, "history_items": items}


def _conflict_views(actor: Any, deal: Deal) -> list[ConflictView]:
    """Each conflicting pair once, whichever direction it was stored in; rivals outside the actor's
    partners (staff restricted to their own) are masked."""
    conflicts = selectors.deal_conflicts(deal=deal)
    rivals = {c.other_id if c.deal_id == deal.pk else c.deal_id for c in conflicts}
    visible = selectors.deals_visible(actor=actor, deal_ids=rivals)
    blocking = {c.pk for c in selectors.conflicts_blocking(deal=deal)} if conflicts else set()
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
    return _detail(request, deal_or_404(request, public_id))


@staff_view
def deal_history(request: HttpRequest, public_id: str) -> HttpResponse:
    deal = deal_or_404(request, public_id)
    return render(request, "deals/_history.html", _audit(request, deal))


def _editable(request: HttpRequest, public_id: str) -> tuple[Any, Deal]:
    actor = actor_of(request)
    deal = deal_or_404(request, public_id)
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
            context = list_context(request, {k: v for k, v in request.POST.items() if k not in skip})
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
    this = deal_or_404(request, request.POST.get("deal", ""))
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
