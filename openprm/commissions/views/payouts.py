"""Staff pages for payouts: the runs (list, new draft), a run (items with what is paid and what is carried
forward and why, the steps its status allows, the export files), partners' payout details (masked; edited
by finance), statements (list, generate a month, view, download PDF/CSV). Every staff role reads
(``commission.view``); ``payout.manage`` acts. Partner users get 404 (their statements and payout details
are in the portal)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from openprm.accounts.forms import add_service_errors
from openprm.commissions.forms.payouts import (
    AbandonForm,
    DetailsForm,
    FailForm,
    GenerateForm,
    MarkPaidForm,
    RunForm,
)
from openprm.commissions.models import PayoutRun
from openprm.commissions.selectors import payouts as selectors
from openprm.commissions.selectors import statements as statement_selectors
from openprm.commissions.services import details as details_service
from openprm.commissions.services import payout_files
from openprm.commissions.services import payouts as services
from openprm.commissions.services import statements as statement_services
from openprm.core.actors import Actor
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners.models import Partner

STEPS = {
    "refresh": "Refreshed.",
    "cancel": "Cancelled.",
    "export": "Exported: the files are ready.",
    "retry": "Retried: download the files again.",
}


def _reader(request: HttpRequest) -> Actor:
    actor = actor_of(request)
    if not actor.can(Perm.COMMISSION_VIEW):
        raise Http404
    return actor


def _run(actor: Actor, public_id: uuid.UUID) -> PayoutRun:
    try:
        return selectors.run_get(actor=actor, public_id=public_id)
    except ObjectDoesNotExist:
        raise Http404 from None


@staff_view
def run_list(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    can_manage = actor.can(Perm.PAYOUT_MANAGE)
    form = RunForm(request.POST or None, initial={"cutoff": timezone.now().date()})
    if request.method == "POST":
        actor.require(Perm.PAYOUT_MANAGE)
        if form.is_valid():
            try:
                run = services.payout_run_create(actor=actor, data=dict(form.cleaned_data))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Draft run {run.currency} up to {run.cutoff} created.")
                return redirect("commissions:payout_run", public_id=run.public_id)
    status = str(request.GET.get("status", ""))[:10]
    return render(
        request,
        "commissions/payouts_list.html",
        {
            "page": paginate(request, selectors.run_list(actor=actor, status=status)),
            "form": form,
            "can_manage": can_manage,
            "status": status,
            "statuses": PayoutRun.Status.choices,
        },
    )


@staff_view
def run_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = _reader(request)
    run = _run(actor, public_id)
    paid_form = MarkPaidForm(prefix="paid")
    fail_form = FailForm(prefix="fail")
    if request.method == "POST":
        actor.require(Perm.PAYOUT_MANAGE)
        step = request.POST.get("step", "")
        try:
            if step in STEPS:
                run = getattr(services, f"payout_run_{step}")(actor=actor, run=run)
                messages.success(request, STEPS[step])
                return redirect("commissions:payout_run", public_id=run.public_id)
            if step == "paid":
                paid_form = MarkPaidForm(request.POST, prefix="paid")
                if paid_form.is_valid():
                    run = services.payout_run_mark_paid(
                        actor=actor,
                        run=run,
                        reference=paid_form.cleaned_data["reference"],
                        failed=request.POST.getlist("failed"),
                        error=paid_form.cleaned_data["error"],
                    )
                    messages.success(request, f"Marked {run.get_status_display().lower()}.")
                    return redirect("commissions:payout_run", public_id=run.public_id)
            elif step == "abandon":
                form = AbandonForm(request.POST)
                if not form.is_valid():
                    for errors in form.errors.values():
                        for text in errors:
                            messages.error(request, str(text))
                    return redirect("commissions:payout_run", public_id=run.public_id)
                run = services.payout_item_abandon(
                    actor=actor,
                    run=run,
                    item_id=form.cleaned_data["item"],
                    reason=form.cleaned_data["reason"],
                )
                messages.success(
                    request,
                    "Payment abandoned: its amount is back in the approved balance for the next run.",
                )
                return redirect("commissions:payout_run", public_id=run.public_id)
            elif step == "fail":
                fail_form = FailForm(request.POST, prefix="fail")
                if fail_form.is_valid():
                    services.payout_run_fail(actor=actor, run=run, error=fail_form.cleaned_data["error"])
                    messages.success(request, "Marked failed: retry it when the problem is fixed.")
                    return redirect("commissions:payout_run", public_id=run.public_id)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("commissions:payout_run", public_id=run.public_id)
    items = list(selectors.run_items(actor=actor, run=run))
    changed = selectors.details_changed(actor=actor, items=items)
    for item in items:
        item.details_now = changed.get(item.pk)  # type: ignore[attr-defined]
    methods = sorted({i.method for i in items if i.method and i.status not in ("skipped", "abandoned")})
    return render(
        request,
        "commissions/payouts_detail.html",
        {
            "run": run,
            "items": items,
            "totals": services.run_totals(run),
            "methods": [
                (m, payout_files.EXPORT_METHODS[m]) for m in methods if m in payout_files.EXPORT_METHODS
            ],
            "can_manage": actor.can(Perm.PAYOUT_MANAGE),
            "paid_form": paid_form,
            "fail_form": fail_form,
        },
    )


@staff_view
def run_file(request: HttpRequest, public_id: uuid.UUID, method: str) -> HttpResponse:
    actor = _reader(request)
    run = _run(actor, public_id)
    try:
        found = payout_files.export_file(actor=actor, run=run, method=method)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        if method not in payout_files.EXPORT_METHODS:
            raise Http404 from None
        for message in exc.messages:
            messages.error(request, message)
        return redirect("commissions:payout_run", public_id=run.public_id)
    response = HttpResponse(found.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response


@staff_view
def details_list(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    rows = selectors.payout_details_list(actor=actor)
    have = set(rows.values_list("partner_id", flat=True))
    missing = Partner.objects.filter(archived_at__isnull=True).exclude(pk__in=have).order_by("name")[:200]
    return render(
        request,
        "commissions/details_list.html",
        {"rows": rows, "missing": missing, "can_manage": actor.can(Perm.PAYOUT_MANAGE)},
    )


@staff_view
def details_edit(request: HttpRequest, partner_id: uuid.UUID) -> HttpResponse:
    actor = _reader(request)
    try:
        partner = Partner.objects.get(public_id=partner_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    view = selectors.payout_details_get(actor=actor, partner_id=partner.pk)
    can_edit = details_service.can_edit_details(actor, partner.pk)
    initial = {
        "method": view.method or "bank",
        "currency": view.currency or "",
        "holder_name": view.holder_name,
        "self_billing": view.self_billing,
        "min_payout": view.min_payout,
    }
    form = DetailsForm(request.POST or None, initial=initial, staff=True)
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if form.is_valid():
            try:
                details_service.payout_details_save(
                    actor=actor, partner_id=partner.pk, data=dict(form.cleaned_data)
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved {partner.name}'s payout details.")
                return redirect("commissions:payout_details")
    return render(
        request,
        "commissions/details_edit.html",
        {"partner": partner, "view": view, "form": form, "can_edit": can_edit},
    )


@staff_view
def statement_list(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    form = GenerateForm(request.POST or None)
    if request.method == "POST":
        actor.require(Perm.PAYOUT_MANAGE)
        if form.is_valid():
            try:
                made = statement_services.statements_generate(actor=actor, month=form.cleaned_data["month"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"{len(made)} statement{'s' if len(made) != 1 else ''} made or brought up to date.",
                )
                return redirect("commissions:statements")
    return render(
        request,
        "commissions/statements_list.html",
        {
            "page": paginate(request, statement_selectors.statement_list(actor=actor)),
            "form": form,
            "can_manage": actor.can(Perm.PAYOUT_MANAGE),
        },
    )


@staff_view
def statement_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = _reader(request)
    try:
        statement = statement_selectors.statement_get(actor=actor, public_id=public_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    context = statement_selectors.statement_context(actor=actor, statement=statement)
    return render(request, "commissions/statement_detail.html", context)


@staff_view
def statement_download(request: HttpRequest, public_id: uuid.UUID, fmt: str) -> HttpResponse | FileResponse:
    actor = _reader(request)
    if fmt not in ("pdf", "csv"):
        raise Http404
    billing = {"1": True, "0": False}.get(str(request.GET.get("self_billing", "")))
    try:
        found = statement_selectors.statement_render(
            actor=actor, public_id=public_id, fmt=fmt, self_billing=billing
        )
    except ObjectDoesNotExist:
        raise Http404 from None
    response = HttpResponse(found.content, content_type=found.mimetype)
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response


def statement_url(public_id: uuid.UUID, fmt: str) -> str:
    return reverse("commissions:statement_download", kwargs={"public_id": public_id, "fmt": fmt})


urlpatterns: list[URLPattern] = [
    path("payouts/", run_list, name="payouts"),
    path("payouts/<uuid:public_id>/", run_detail, name="payout_run"),
    path("payouts/<uuid:public_id>/file/<str:method>/", run_file, name="payout_file"),
    path("payout-details/", details_list, name="payout_details"),
    path("payout-details/<uuid:partner_id>/", details_edit, name="payout_details_edit"),
    path("statements/", statement_list, name="statements"),
    path("statements/<uuid:public_id>/", statement_detail, name="statement"),
    path("statements/<uuid:public_id>/<str:fmt>/", statement_download, name="statement_download"),
]
