"""Deals. Partner users see their own partner's deals (reps: only those they registered) and never
anything of a conflict: no other partner's deal, name or score reaches these pages."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, paginate, partner_view
from openprm.deals import matching
from openprm.deals import selectors as deal_selectors
from openprm.deals import services as deal_services
from openprm.deals.forms import RegistrationForm, StageForm, registration_initial
from openprm.deals.models import ApprovalStatus, Deal, DealStageChange, Outcome
from openprm.deals.selectors import DealFilters


def _deal_or_404(request: HttpRequest, public_id: Any) -> Deal:
    try:
        return deal_selectors.deal_get(actor=actor_of(request), public_id=public_id)
    except Deal.DoesNotExist:
        raise Http404 from None


@partner_view
def deal_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    filters = DealFilters.from_mapping(request.GET)
    page = paginate(request, deal_selectors.deal_list(actor=actor, filters=filters), per_page=25)
    return render(
        request,
        "portal/deals.html",
        {"page": page, "filters": filters, "approvals": ApprovalStatus.choices},
    )


def _idempotency_key(request: HttpRequest) -> str:
    """One key per form shown: a double submit or a retried POST registers the deal once."""
    raw = (request.POST.get("idempotency_key") or "").strip()
    try:
        return uuid.UUID(raw).hex
    except ValueError:
        return uuid.uuid4().hex


def _registration_checks(form: RegistrationForm, *, registering: bool) -> bool:
    """The rules the registration service applies beyond the form's own (a real domain name; a close
    date not in the past), checked on the same submit so that every invalid field is flagged at once
    rather than one per submit. True when the form is valid."""
    valid = form.is_valid()
    data = form.cleaned_data
    raw = data.get("customer_domain")
    if raw and not matching.normalize_domain(raw):
        form.add_error("customer_domain", f"'{raw}' is not a valid domain name.")
    close = data.get("expected_close_date")
    if registering and close is not None and close < timezone.localdate():
        form.add_error("expected_close_date", "The expected close date is in the past.")
    return valid and not form.errors


@partner_view
def deal_register(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    products = list(deal_selectors.products(actor=actor))
    form = RegistrationForm(request.POST or None, products=products)
    key = _idempotency_key(request)
    if request.method == "POST" and _registration_checks(form, registering=True):
        try:
            deal, _ = deal_services.deal_register(actor=actor, data=form.to_input(), idempotency_key=key)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("portal:deal_submitted", public_id=deal.public_id)
    return render(request, "portal/deal_form.html", {"form": form, "idempotency_key": key, "deal": None})


@partner_view
@require_GET
def deal_customers(request: HttpRequest) -> HttpResponse:
    """Typeahead for the customer field: the partner's own earlier customers as <datalist> options."""
    query = request.GET.get("customer_name") or request.GET.get("q") or ""
    names = deal_selectors.customer_suggestions(actor=actor_of(request), q=query)
    return render(request, "portal/_customer_options.html", {"names": names})


@partner_view
def deal_submitted(request: HttpRequest, public_id: str) -> HttpResponse:
    return render(request, "portal/deal_submitted.html", {"deal": _deal_or_404(request, public_id)})


def _stage_rows(deal: Deal) -> list[tuple[DealStageChange, datetime.datetime | None, float | None]]:
    """(change, left at, days in the stage); a closing stage has no time in stage (the deal is over)."""
    changes = list(deal_selectors.stage_changes(deal=deal).order_by("changed_at", "id"))
    now = timezone.now()
    rows: list[tuple[DealStageChange, datetime.datetime | None, float | None]] = []
    for index, change in enumerate(changes):
        left_at = changes[index + 1].changed_at if index + 1 < len(changes) else None
        if left_at is None and change.to_stage.outcome != Outcome.OPEN:
            rows.append((change, None, None))
            continue
        rows.append(
            (change, left_at, max(0.0, ((left_at or now) - change.changed_at).total_seconds() / 86400))
        )
    return rows


def _deal_page(request: HttpRequest, deal: Deal, stage_form: StageForm | None = None) -> HttpResponse:
    stages = deal_services.program_stages(program=deal.program)
    return render(
        request,
        "portal/deal_detail.html",
        {
            "deal": deal,
            "stage_rows": _stage_rows(deal),
            "stage_form": stage_form or StageForm(initial={"stage": deal.stage.key}, stages=stages),
            "can_move": _movable(deal),
            "can_edit_deal": deal.approval_status in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO),
        },
    )


@partner_view
def deal_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return _deal_page(request, _deal_or_404(request, public_id))


@partner_view
def deal_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Edit a registration awaiting a decision; answering a request for information resubmits it."""
    actor = actor_of(request)
    deal = _deal_or_404(request, public_id)
    if deal.approval_status not in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO):
        messages.error(request, "A decided registration can no longer be edited.")
        return redirect("portal:deal_detail", public_id=deal.public_id)
    products = list(deal_selectors.products(actor=actor))
    form = RegistrationForm(request.POST or None, products=products, initial=registration_initial(deal))
    if request.method == "POST" and _registration_checks(form, registering=False):
        answering = deal.approval_status == ApprovalStatus.MORE_INFO
        try:
            deal_services.deal_update(actor=actor, deal=deal, data=form.to_input())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Resubmitted for a decision." if answering else "Registration updated.")
            return redirect("portal:deal_detail", public_id=deal.public_id)
    return render(request, "portal/deal_form.html", {"form": form, "deal": deal})


def _movable(deal: Deal) -> bool:
    """Partner users move approved deals that are still open; a closed deal's outcome is final here
    (the vendor reopens it if it was closed by mistake)."""
    return deal.approval_status == ApprovalStatus.APPROVED and deal.stage.outcome == Outcome.OPEN


@partner_view
@require_POST
def deal_stage(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    deal = _deal_or_404(request, public_id)
    form = StageForm(request.POST, stages=deal_services.program_stages(program=deal.program))
    if deal.stage.outcome != Outcome.OPEN:
        messages.error(request, f"This deal is closed ({deal.stage.name}): its stage can no longer change.")
        return redirect("portal:deal_detail", public_id=deal.public_id)
    if form.is_valid():
        try:
            deal_services.deal_move_stage(
                actor=actor,
                deal=deal,
                stage_key=form.cleaned_data["stage"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Moved to {deal.stage.name}.")
            return redirect("portal:deal_detail", public_id=deal.public_id)
    return _deal_page(request, deal, stage_form=form)
