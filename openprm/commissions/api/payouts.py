"""Payouts, payout details and statements over HTTP.

- Payout runs (staff; ``payout.manage`` to change): list, create a draft, refresh, cancel, export (draft →
  exported, reserving the entries), download the export file per method, mark paid (with failed items),
  mark failed, retry, abandon a failed payment (its amount carried forward). Partner users get 404.
- Payout details of a partner: masked read (staff, and a partner user for their own partner); write by
  finance staff or the partner's admins.
- Statements: list and read (a partner user only their own partner's), download as PDF or CSV, and
  generate a month's statements (``payout.manage``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router, Status

from openprm.commissions.models import PayoutRun
from openprm.commissions.schemas.payouts import (
    AbandonIn,
    DetailsIn,
    DetailsOut,
    DownloadQuery,
    FailIn,
    FileQuery,
    MarkPaidIn,
    RunCreate,
    RunOut,
    RunPage,
    RunQuery,
    StatementOut,
    StatementPage,
    StatementQuery,
    StatementsGenerate,
    details_out,
    run_out,
    statement_out,
)
from openprm.commissions.selectors import payouts as selectors
from openprm.commissions.selectors import statements as statement_selectors
from openprm.commissions.services import details as details_service
from openprm.commissions.services import payout_files
from openprm.commissions.services import payouts as services
from openprm.commissions.services import statements as statement_services
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.permissions import Perm
from openprm.partners.selectors import partner_get

router = Router(tags=["commissions"])


def _staff(request: HttpRequest) -> Actor:
    actor = request_actor(request)
    if not actor.is_staff or not actor.can(Perm.COMMISSION_VIEW):
        raise Http404
    return actor


def _run(actor: Actor, public_id: uuid.UUID) -> PayoutRun:
    return selectors.run_get(actor=actor, public_id=public_id)


def _full(actor: Actor, run: PayoutRun) -> dict[str, Any]:
    run = selectors.run_get(actor=actor, public_id=run.public_id)
    return run_out(run, list(selectors.run_items(actor=actor, run=run)))


@router.get(
    "/commissions/payouts", response={200: RunPage, **ERRORS}, operation_id="openprm_payout_runs_list"
)
def run_list(request: HttpRequest, query: Query[RunQuery]) -> dict[str, Any]:
    """Payout runs, newest first (`status`, `currency`, `limit`, `offset`)."""
    queryset = selectors.run_list(actor=_staff(request), status=query.status, currency=query.currency)
    rows = queryset[query.offset : query.offset + query.limit]
    return {"items": [run_out(r) for r in rows], "count": queryset.count()}


@router.post(
    "/commissions/payouts", response={201: RunOut, **ERRORS}, operation_id="openprm_payout_runs_create"
)
def run_create(request: HttpRequest, payload: RunCreate) -> Status[dict[str, Any]]:
    """A draft run: each partner's approved entries up to `cutoff` in `currency`, netted; below the
    minimum, negative or without payout details → a skipped item, carried forward."""
    actor = _staff(request)
    run = services.payout_run_create(actor=actor, data=payload.model_dump())
    return Status(201, _full(actor, run))


@router.get(
    "/commissions/payouts/{uuid:public_id}",
    response={200: RunOut, **ERRORS},
    operation_id="openprm_payout_runs_get",
)
def run_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    actor = _staff(request)
    return _full(actor, _run(actor, public_id))


def _step(name: str, summary: str) -> Any:
    def endpoint(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
        actor = _staff(request)
        run = getattr(services, f"payout_run_{name}")(actor=actor, run=_run(actor, public_id))
        return _full(actor, run)

    endpoint.__doc__ = summary
    endpoint.__name__ = f"run_{name}"
    router.post(
        f"/commissions/payouts/{{uuid:public_id}}/{name}",
        response={200: RunOut, **ERRORS},
        operation_id=f"openprm_payout_runs_{name}",
    )(endpoint)
    return endpoint


_step("refresh", "Compute a draft's items again.")
_step("cancel", "Cancel a draft (nothing was reserved or sent).")
_step("export", "Draft → exported: each payable item reserves its entries; again: no change.")
_step("retry", "Failed → exported: failed items pending again, paid ones stay paid (never paid twice).")


@router.post(
    "/commissions/payouts/{uuid:public_id}/paid",
    response={200: RunOut, **ERRORS},
    operation_id="openprm_payout_runs_paid",
)
def run_paid(request: HttpRequest, public_id: uuid.UUID, payload: MarkPaidIn) -> dict[str, Any]:
    """Mark an exported run paid with the provider's `reference`; items (or partners) listed in `failed`
    are marked failed instead and the run becomes failed (retry it). Again on a paid run: no change."""
    actor = _staff(request)
    run = services.payout_run_mark_paid(
        actor=actor,
        run=_run(actor, public_id),
        reference=payload.reference,
        failed=payload.failed,
        error=payload.error,
    )
    return _full(actor, run)


@router.post(
    "/commissions/payouts/{uuid:public_id}/fail",
    response={200: RunOut, **ERRORS},
    operation_id="openprm_payout_runs_fail",
)
def run_fail(request: HttpRequest, public_id: uuid.UUID, payload: FailIn) -> dict[str, Any]:
    """The provider refused the file: exported → failed; nothing is paid."""
    actor = _staff(request)
    return _full(
        actor, services.payout_run_fail(actor=actor, run=_run(actor, public_id), error=payload.error)
    )


@router.post(
    "/commissions/payouts/{uuid:public_id}/items/{uuid:item_id}/abandon",
    response={200: RunOut, **ERRORS},
    operation_id="openprm_payout_items_abandon",
)
def item_abandon(
    request: HttpRequest, public_id: uuid.UUID, item_id: uuid.UUID, payload: AbandonIn
) -> dict[str, Any]:
    """Give up a failed payment of a failed run with a `reason` (audited): nobody is paid, and its amount
    returns to the partner's approved balance for the next run (its commissions are never paid twice).
    When no failed payment is left the run is closed: `paid` if anything was paid, else `cancelled`."""
    actor = _staff(request)
    run = services.payout_item_abandon(
        actor=actor, run=_run(actor, public_id), item_id=item_id, reason=payload.reason
    )
    return _full(actor, run)


@router.get(
    "/commissions/payouts/{uuid:public_id}/file",
    response={200: None, **ERRORS},
    operation_id="openprm_payout_runs_file",
    openapi_extra={"responses": {"200": {"description": "text/csv: the provider's upload file"}}},
)
def run_file(request: HttpRequest, public_id: uuid.UUID, query: Query[FileQuery]) -> HttpResponse:
    """The export file of the run's payable items paid by `method` (bank, paypal, wise)."""
    actor = _staff(request)
    found = payout_files.export_file(actor=actor, run=_run(actor, public_id), method=query.method)
    response = HttpResponse(found.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response


# --- payout details ---------------------------------------------------------------------------------------


def _partner_id(actor: Actor, public_id: uuid.UUID) -> int:
    return int(partner_get(actor=actor, public_id=public_id).pk)


@router.get(
    "/commissions/payout-details/{uuid:partner_id}",
    response={200: DetailsOut, **ERRORS},
    operation_id="openprm_payout_details_get",
)
def details_get(request: HttpRequest, partner_id: uuid.UUID) -> dict[str, Any]:
    """A partner's payout details, masked: staff, or a user of that partner."""
    actor = request_actor(request)
    pk = _partner_id(actor, partner_id)
    return details_out(partner_id, selectors.payout_details_get(actor=actor, partner_id=pk))


@router.put(
    "/commissions/payout-details/{uuid:partner_id}",
    response={200: DetailsOut, **ERRORS},
    operation_id="openprm_payout_details_put",
)
def details_put(request: HttpRequest, partner_id: uuid.UUID, payload: DetailsIn) -> dict[str, Any]:
    """Replace a partner's payout details (finance staff, or the partner's admins). Answers masked."""
    actor = request_actor(request)
    pk = _partner_id(actor, partner_id)
    data = payload.model_dump(exclude_unset=False)
    if payload.min_payout is None or not actor.is_staff:
        data.pop("min_payout", None)
    details_service.payout_details_save(actor=actor, partner_id=pk, data=data)
    return details_out(partner_id, selectors.payout_details_get(actor=actor, partner_id=pk))


# --- statements --------------------------------------------------------------------------------------------


@router.get(
    "/commissions/statements", response={200: StatementPage, **ERRORS}, operation_id="openprm_statements_list"
)
def statement_list(request: HttpRequest, query: Query[StatementQuery]) -> dict[str, Any]:
    """Statements, newest first: a partner user gets their own partner's only."""
    actor = request_actor(request)
    partner_pk = _partner_id(actor, query.partner) if query.partner else None
    queryset = statement_selectors.statement_list(actor=actor, partner_id=partner_pk)
    rows = queryset[query.offset : query.offset + query.limit]
    return {"items": [statement_out(s) for s in rows], "count": queryset.count()}


@router.post(
    "/commissions/statements",
    response={200: StatementPage, **ERRORS},
    operation_id="openprm_statements_generate",
)
def statements_generate(request: HttpRequest, payload: StatementsGenerate) -> dict[str, Any]:
    """Make (or bring up to date) the month's statements: every partner with lines or a balance."""
    actor = _staff(request)
    ids = [_partner_id(actor, payload.partner)] if payload.partner else None
    made = statement_services.statements_generate(actor=actor, month=payload.month, partner_ids=ids)
    return {"items": [statement_out(s) for s in made], "count": len(made)}


@router.get(
    "/commissions/statements/{uuid:public_id}",
    response={200: StatementOut, **ERRORS},
    operation_id="openprm_statements_get",
)
def statement_get(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    """A statement with every line explained."""
    actor = request_actor(request)
    statement = statement_selectors.statement_get(actor=actor, public_id=public_id)
    return statement_out(statement, statement_selectors.statement_lines(statement))


@router.get(
    "/commissions/statements/{uuid:public_id}/download",
    response={200: None, **ERRORS},
    operation_id="openprm_statements_download",
    openapi_extra={"responses": {"200": {"description": "application/pdf, or text/csv with format=csv"}}},
)
def statement_download(
    request: HttpRequest, public_id: uuid.UUID, query: Query[DownloadQuery]
) -> HttpResponse:
    """The statement as PDF (default) or CSV; `self_billing` lays it out as a self-billing invoice."""
    actor = request_actor(request)
    found = statement_selectors.statement_render(
        actor=actor, public_id=public_id, fmt=query.format, self_billing=query.self_billing
    )
    response = HttpResponse(found.content, content_type=found.mimetype)
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response
