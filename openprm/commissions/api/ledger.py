"""The commission ledger over HTTP (staff; ``commission.view`` reads, ``commission.approve`` approves,
rejects and posts manual adjustments): the filtered list, paged by keyset (``cursor``: efficient at
millions of rows), one entry with its explanation in words, bulk approve / reject with a reason, a manual
adjustment, and why a deal or a conversion earned what it did (or nothing). Partner users get 404 (the
portal shows them their own entries)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from openprm.commissions.filters import LedgerFilters
from openprm.commissions.schemas.ledger import (
    AdjustmentIn,
    BulkApprove,
    BulkOut,
    BulkReject,
    EntryOut,
    LedgerPage,
    LedgerQuery,
    WhyOut,
    WhyQuery,
    entry_out,
)
from openprm.commissions.selectors import pages
from openprm.commissions.services import ledger as services
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.permissions import Perm

router = Router(tags=["commissions"])


def _reader(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff or not actor.can(Perm.COMMISSION_VIEW):
        raise Http404
    return actor


def _approver(request: HttpRequest) -> Actor:
    actor = _reader(request)
    actor.require(Perm.COMMISSION_APPROVE)
    return actor


@router.get(
    "/commissions/ledger", response={200: LedgerPage, **ERRORS}, operation_id="openprm_commissions_ledger"
)
def ledger(request: HttpRequest, query: Query[LedgerQuery]) -> dict[str, Any]:
    """Ledger entries, newest first, filtered by `partner`, `kind`, `state`, `period` (YYYY-MM), `plan`,
    `source`, `earned` (`nothing`: the 0.00 entries of events that earned nothing; `something`: the others;
    default all). Paged by keyset: pass the answer's `next_cursor` as `cursor` for the next (older) page."""
    data = query.model_dump()
    page = pages.ledger_page(
        actor=_reader(request),
        filters=LedgerFilters.from_mapping(data),
        cursor=data["cursor"],
        limit=data["limit"],
    )
    return {"items": [entry_out(e) for e in page.entries], "next_cursor": page.next_cursor}


@router.get(
    "/commissions/ledger/why", response={200: WhyOut, **ERRORS}, operation_id="openprm_commissions_why"
)
def why(request: HttpRequest, query: Query[WhyQuery]) -> dict[str, Any]:
    """Why a deal or a conversion earned what it did, or nothing: its entries and the engine's explanation
    (which rules were tried, which conditions matched or failed, which cap trimmed it)."""
    actor = _reader(request)
    found = pages.why(actor=actor, source=query.source, public_id=query.id)
    return {
        "source": query.source,
        "id": query.id,
        "label": found.label,
        "earned": found.earned,
        "entries": [entry_out(e) for e in found.entries],
        "explained": found.lines,
    }


@router.get(
    "/commissions/ledger/{uuid:public_id}",
    response={200: EntryOut, **ERRORS},
    operation_id="openprm_commissions_entry",
)
def entry(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    """One entry with its stored explanation and the same in words."""
    actor = _reader(request)
    found = pages.entry_get(actor=actor, public_id=public_id)
    return entry_out(found, pages.entry_words(found))


@router.post(
    "/commissions/ledger/approve",
    response={200: BulkOut, **ERRORS},
    operation_id="openprm_commissions_approve",
)
def approve(request: HttpRequest, payload: BulkApprove) -> dict[str, Any]:
    """Approve pending entries (audited). Entries in another state, or not found, are left alone."""
    actor = _approver(request)
    ids = pages.entry_ids(actor=actor, public_ids=list(payload.ids))
    return {"changed": services.entries_approve(actor=actor, ids=ids) if ids else 0}


@router.post(
    "/commissions/ledger/reject", response={200: BulkOut, **ERRORS}, operation_id="openprm_commissions_reject"
)
def reject(request: HttpRequest, payload: BulkReject) -> dict[str, Any]:
    """Reject pending or approved entries with a reason (audited); paid entries are final."""
    actor = _approver(request)
    ids = pages.entry_ids(actor=actor, public_ids=list(payload.ids))
    return {"changed": services.entries_reject(actor=actor, ids=ids, reason=payload.reason) if ids else 0}


@router.post(
    "/commissions/ledger/adjustments",
    response={201: EntryOut, **ERRORS},
    operation_id="openprm_commissions_adjustment_create",
)
def adjustment(request: HttpRequest, payload: AdjustmentIn) -> Status[dict[str, Any]]:
    """A manual adjustment, positive or negative, in the plan's currency with a reason (audited): a new
    pending entry, held as the plan says like any other. Errors name the field (`partner`, `plan`,
    `amount`, `reason`)."""
    actor = _approver(request)
    partner, plan = pages.adjustment_targets(actor=actor, partner=payload.partner, plan=payload.plan)
    created = services.adjustment_create(
        actor=actor,
        partner=partner,
        plan=plan,
        amount=payload.amount,
        reason=payload.reason,
        occurred_on=payload.occurred_on,
    )
    return Status(201, entry_out(pages.entry_get(actor=actor, public_id=created.public_id)))
