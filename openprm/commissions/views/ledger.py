"""Staff pages of the commission ledger: the filtered list (partner, kind, state, period, plan, source),
paged by keyset so it stays fast at millions of entries, with bulk approve / reject (a reason required);
by default the list shows what earned something (``earned=something``): the 0.00 entries of events
that earned nothing are one click away (``earned=`` for all, ``earned=nothing`` for only those);
one entry with its explanation in words (rule, conditions matched or failed, caps, FX rate); and "why did
this deal or conversion earn nothing"; a manual adjustment (positive or negative, a reason required).
``commission.view`` reads, ``commission.approve`` acts; partner
users get 404."""

from __future__ import annotations

import dataclasses
import uuid

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode

from openprm.accounts.forms import add_service_errors
from openprm.commissions.filters import LedgerFilters
from openprm.commissions.filters.ledger import KINDS, SOURCES, STATES
from openprm.commissions.forms.ledger import AdjustmentForm, BulkForm, WhyForm
from openprm.commissions.models import LedgerEntry
from openprm.commissions.selectors import pages
from openprm.commissions.services import ledger as services
from openprm.core.actors import Actor
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm


def _reader(request: HttpRequest) -> Actor:
    actor = actor_of(request)
    if not actor.can(Perm.COMMISSION_VIEW):
        raise Http404
    return actor


def _bulk(request: HttpRequest, actor: Actor) -> HttpResponse:
    if not actor.can(Perm.COMMISSION_APPROVE):
        raise Http404
    form = BulkForm(request.POST)
    back = request.POST.get("next") or ""
    if not back.startswith("/commissions/"):
        back = reverse("commissions:ledger")
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, str(text))
        return redirect(back)
    ids = pages.entry_ids(actor=actor, public_ids=form.cleaned_data["ids"])
    done = 0
    try:
        if form.cleaned_data["action"] == "approve":
            done = services.entries_approve(actor=actor, ids=ids) if ids else 0
            messages.success(request, f"{done} entr{'y' if done == 1 else 'ies'} approved.")
        else:
            done = (
                services.entries_reject(actor=actor, ids=ids, reason=form.cleaned_data["reason"])
                if ids
                else 0
            )
            messages.success(request, f"{done} entr{'y' if done == 1 else 'ies'} rejected.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    skipped = len(form.cleaned_data["ids"]) - done
    if skipped > 0:
        messages.info(
            request,
            f"{skipped} left as they were: only pending entries are approved, and paid ones are final.",
        )
    return redirect(back)


@staff_view
def ledger(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    if request.method == "POST":
        return _bulk(request, actor)
    filters = LedgerFilters.from_mapping(request.GET)
    chosen = "earned" in request.GET  # "earned=" (empty) is the choice of every entry, 0.00 ones too
    if not chosen:
        filters = dataclasses.replace(filters, earned="something")
    errors = filters.errors()
    cursor = request.GET.get("cursor", "")
    page = None
    if not errors:
        try:
            page = pages.ledger_page(actor=actor, filters=filters, cursor=cursor, limit=50)
        except ValidationError as error:
            errors = {"cursor": " ".join(error.messages)}
    query = filters.as_query() | {"earned": filters.earned}  # kept on every link, even when empty
    narrowed = dataclasses.replace(filters, earned="" if filters.earned == "something" else filters.earned)
    return render(
        request,
        "commissions/ledger.html",
        {
            "page": page,
            "filters": filters,
            "errors": errors,
            "kinds": [(k, LedgerEntry.Kind(k).label) for k in KINDS],
            "states": [(s, LedgerEntry.State(s).label) for s in STATES],
            "sources": [(s, LedgerEntry.Source(s).label) for s in SOURCES],
            "choices": pages.entry_filters_choices(actor=actor),
            "next_url": f"?{urlencode(query | {'cursor': page.next_cursor})}"
            if page and page.next_cursor
            else "",
            "first_url": f"?{urlencode(query)}" if cursor else "",
            "narrowed": narrowed.active,  # a filter other than the default "earned something"
            "zeros_url": f"?{urlencode(query | {'earned': ''})}",
            "earned_url": f"?{urlencode(query | {'earned': 'something'})}",
            "can_approve": actor.can(Perm.COMMISSION_APPROVE),
        },
    )


@staff_view
def entry(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = _reader(request)
    if request.method == "POST":
        return _bulk(request, actor)
    try:
        found = pages.entry_get(actor=actor, public_id=public_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    return render(
        request,
        "commissions/entry.html",
        {
            "entry": found,
            "rate_label": pages.rate_label(found),
            "lines": pages.entry_words(found),
            "related": pages.entries_of_source(
                actor=actor, source_kind=found.source_kind, source_id=found.source_id
            )
            if found.source_id is not None
            else [],
            "can_approve": actor.can(Perm.COMMISSION_APPROVE),
        },
    )


@staff_view
def why(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    form = WhyForm(request.GET or None)
    found = None
    if form.is_valid():
        try:
            found = pages.why(
                actor=actor, source=form.cleaned_data["source"], public_id=form.cleaned_data["id"]
            )
        except ObjectDoesNotExist:
            form.add_error("id", f"No {form.cleaned_data['source']} with this id that you may see.")
    return render(request, "commissions/why.html", {"form": form, "found": found})


@staff_view
def adjustment(request: HttpRequest) -> HttpResponse:
    """A manual adjustment (``commission.approve``; others 404): a new pending entry with its reason."""
    actor = _reader(request)
    if not actor.can(Perm.COMMISSION_APPROVE):
        raise Http404
    choices = pages.entry_filters_choices(actor=actor)
    initial = {key: request.GET[key] for key in ("partner", "plan") if request.GET.get(key)}
    form = AdjustmentForm(
        request.POST or None, initial=initial, partners=choices["partners"], plans=choices["plans"]
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            partner, plan = pages.adjustment_targets(actor=actor, partner=data["partner"], plan=data["plan"])
            created = services.adjustment_create(
                actor=actor,
                partner=partner,
                plan=plan,
                amount=data["amount"],
                reason=data["reason"],
                occurred_on=data["occurred_on"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, f"Adjustment of {created.amount:,.2f} {created.currency} to {partner.name} recorded."
            )
            return redirect("commissions:entry", public_id=created.public_id)
    return render(request, "commissions/adjustment.html", {"form": form})


urlpatterns: list[URLPattern] = [
    path("ledger/", ledger, name="ledger"),
    path("ledger/adjustments/new/", adjustment, name="adjustment"),
    path("ledger/why/", why, name="why"),
    path("ledger/<uuid:public_id>/", entry, name="entry"),
]
