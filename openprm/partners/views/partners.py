"""Staff pages of partners: the list (filters, saved views, bulk changes), the form, the detail page with
its history, archive and restore. Parse → call one service/selector → render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openprm.accounts.selectors import staff_user_list
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors, services
from openprm.partners.filters import ARCHIVED_CHOICES, CONTRACT_CHOICES, PartnerFilters
from openprm.partners.forms import (
    BulkForm,
    InviteForm,
    PartnerForm,
    SavedViewForm,
    TierChangeForm,
    partner_initial,
)
from openprm.partners.models import Partner, PartnerStatus
from openprm.partners.views.common import partner_or_404, uuids


def _list_context(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    filters = PartnerFilters.from_mapping(request.GET)
    page = paginate(request, selectors.partner_list(actor=actor, filters=filters))
    params = {k: v for k, v in request.GET.items() if k not in {"page"} and v}
    return {
        "filters": filters,
        "page": page,
        "query": urlencode(params),
        "query_without_sort": urlencode({k: v for k, v in params.items() if k != "sort"}),
    }


@staff_view
def partner_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context = _list_context(request)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "partners/_results.html", context)
    context.update(
        selectors.reference_data(actor=actor),
        statuses=PartnerStatus.choices,
        contracts=CONTRACT_CHOICES,
        archived_choices=ARCHIVED_CHOICES,
        owners=staff_user_list(actor=actor),
        saved_views=selectors.saved_view_list(actor=actor),
        bulk_form=BulkForm(),
    )
    return render(request, "partners/list.html", context)


@staff_view
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = services.saved_view_save(
                actor=actor, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Saved view “{view.name}”.")
            return redirect(reverse("partners:list") + "?" + view.query)
    else:
        messages.error(request, "Give the view a name (at most 80 characters).")
    return redirect(reverse("partners:list") + "?" + request.POST.get("query", ""))


@staff_view
@require_POST
def saved_view_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    view = selectors.saved_view_list(actor=actor).filter(public_id=public_id).first()
    if view is None:
        raise Http404
    services.saved_view_delete(actor=actor, view=view)
    messages.success(request, f"Deleted view “{view.name}”.")
    return redirect("partners:list")


def _bulk_change(form: BulkForm) -> dict[str, Any] | None:
    """The keyword arguments of ``partners_bulk_update`` the form asks for (None: no tag typed)."""
    action = form.cleaned_data["action"]
    if action == "owner":
        return {"owner_email": form.cleaned_data["owner"]}
    if action == "tag":
        return {"add_tags": [form.cleaned_data["tag"]]} if form.cleaned_data["tag"] else None
    program, _, tier = form.cleaned_data["tier"].partition("::")
    return {"tier": (program, tier)}


@staff_view
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    form = BulkForm(request.POST)
    ids = request.POST.getlist("partners")
    back = reverse("partners:list") + "?" + request.POST.get("query", "")
    if not form.is_valid() or not ids:
        messages.error(request, "Choose an action and at least one partner.")
        return redirect(back)
    change = _bulk_change(form)
    if change is None:
        messages.error(request, "Type the tag to add.")
        return redirect(back)
    partners = list(selectors.partner_list(actor=actor).filter(public_id__in=uuids(ids)))
    try:
        count = services.partners_bulk_update(actor=actor, partners=partners, **change)
    except ValidationError as exc:
        messages.error(request, "Nothing changed: " + "; ".join(exc.messages))
    else:
        messages.success(request, f"Updated {count} partner{'s' if count != 1 else ''}.")
    return redirect(back)


def _partner_form(request: HttpRequest, data: Any = None, initial: Any = None) -> PartnerForm:
    actor = actor_of(request)
    ref = selectors.reference_data(actor=actor)
    return PartnerForm(
        data,
        initial=initial,
        types=ref["types"],
        owners=list(staff_user_list(actor=actor)),
        programs=ref["programs"],
        tiers=ref["tiers"],
        custom_fields=list(selectors.custom_field_list(actor=actor)),
    )


@staff_view
def partner_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    form = _partner_form(request, request.POST or None, initial={"status": PartnerStatus.APPLICANT})
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.partner_create(actor=actor, data=form.to_input())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Created {partner.name}.")
            return redirect("partners:detail", public_id=partner.public_id)
    return render(request, "partners/form.html", {"form": form, "partner": None})


@staff_view
def partner_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = partner_or_404(request, public_id)
    form = _partner_form(request, request.POST or None, initial=partner_initial(partner))
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_update(actor=actor, partner=partner, data=form.to_input())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Saved {partner.name}.")
            return redirect("partners:detail", public_id=partner.public_id)
    return render(request, "partners/form.html", {"form": form, "partner": partner})


@staff_view
@require_POST
def partner_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = partner_or_404(request, public_id)
    if services.partner_delete(actor=actor, partner=partner) == "archived":
        messages.success(
            request,
            f"Archived {partner.name}: hidden from lists and its portal logins suspended. Restorable.",
        )
        return redirect("partners:detail", public_id=partner.public_id)
    messages.success(request, f"Deleted {partner.name} (it had no history).")
    return redirect("partners:list")


@staff_view
@require_POST
def partner_restore(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = partner_or_404(request, public_id)
    services.partner_restore(actor=actor, partner=partner)
    messages.success(request, f"Restored {partner.name}.")
    return redirect("partners:detail", public_id=partner.public_id)


def _history(request: HttpRequest, partner: Partner) -> dict[str, Any]:
    actor = actor_of(request)
    entries = Paginator(selectors.partner_history(actor=actor, partner=partner), 20).get_page(
        request.GET.get("page")
    )
    return {"partner": partner, "history": entries}


@staff_view
def partner_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = partner_or_404(request, public_id)
    context = {
        **_history(request, partner),
        "contacts": selectors.contact_list(actor=actor, partner=partner),
        "agreements": selectors.agreement_list(actor=actor, partner=partner),
        "last_contact_on": selectors.last_contact_on(partner=partner),
        "status_history": selectors.status_history(actor=actor, partner=partner),
        "tiers": selectors.reference_data(actor=actor)["tiers"],
        "custom_fields": selectors.custom_field_list(actor=actor),
        "invite_form": InviteForm(),
    }
    return render(request, "partners/detail.html", context)


@staff_view
def partner_history(request: HttpRequest, public_id: str) -> HttpResponse:
    partner = partner_or_404(request, public_id)
    return render(request, "partners/_history.html", _history(request, partner))


@staff_view
@require_POST
def tier_change(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = partner_or_404(request, public_id)
    form = TierChangeForm(request.POST)
    if form.is_valid():
        try:
            services.partner_update(
                actor=actor,
                partner=partner,
                data={"tiers": {form.cleaned_data["program"]: form.cleaned_data["tier"] or None}},
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Tier changed.")
    return redirect("partners:detail", public_id=partner.public_id)
