"""Referral tracking over HTTP: tracking links, coupons and conversions.

Thin endpoints: parse (schemas) → one selector/service call → render. Partner users create and list their
own partner's links and see their own coupons and conversions; another partner's id answers 404 like a
missing one. Conversions are reported by the vendor (a staff token): idempotent by key, attributed to a
partner, and flagged — never silently accepted — by the fraud rules. Links and coupons are deactivated
(``is_active: false``), never deleted: their clicks and conversions keep their history.
"""

# No ``from __future__ import annotations``: Ninja reads the parameter annotations at import time.

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import P, Query, Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from ninja.params import HeaderEx

from openprm.activity.models import Conversion, Coupon, TrackingLink
from openprm.activity.schemas.referrals import (
    ConversionCreate,
    ConversionOut,
    ConversionQuery,
    ConversionReviewIn,
    CouponCreate,
    CouponOut,
    CouponPatch,
    IdempotencyKey,
    LinkCreate,
    LinkOut,
    LinkPatch,
    LinkQuery,
    TrackingHostsIn,
    TrackingHostsOut,
)
from openprm.activity.selectors import referrals as selectors
from openprm.activity.selectors.referrals import ReferralFilters
from openprm.activity.services import conversions
from openprm.activity.services import referrals as services
from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner, Program

router = Router(tags=["referrals"])


def _partner_id(actor: Actor, public_id: uuid.UUID | None, field: str = "partner") -> int | None:
    if public_id is None:
        return None
    try:
        return partner_selectors.partner_get(actor=actor, public_id=public_id).pk
    except Partner.DoesNotExist:
        raise ValidationError({field: "No such partner."}) from None


def _program_id(public_id: uuid.UUID | None) -> int | None:
    if public_id is None:
        return None
    program = Program.objects.filter(public_id=public_id).first()
    if program is None:
        raise ValidationError({"program": "No such program."})
    return program.pk


def _filters(**values: Any) -> ReferralFilters:
    return ReferralFilters(**{k: str(v) for k, v in values.items() if v is not None})


# --- links ----------------------------------------------------------------------------------------------


@router.get("/links", response={200: list[LinkOut], **ERRORS})
@paginate(Pagination)
def link_list(request: HttpRequest, filters: Query[LinkQuery]) -> QuerySet[TrackingLink]:
    """Tracking links, newest first (partner users: their own partner's)."""
    return selectors.link_list(
        actor=request_actor(request), filters=_filters(partner=filters.partner, q=filters.q)
    )


@router.post("/links", response={201: LinkOut, **ERRORS})
def link_create(request: HttpRequest, payload: LinkCreate) -> Status[TrackingLink]:
    """Create a tracking link. Staff pass `partner`; partner users create links for their own partner."""
    actor = request_actor(request)
    data = payload.to_input()
    if actor.is_partner_user:
        if payload.partner is not None:
            raise ValidationError({"partner": "Leave out: you create links for your own partner."})
    elif (partner_id := _partner_id(actor, payload.partner)) is not None:
        data["partner_id"] = partner_id
    data["program_id"] = _program_id(payload.program)
    link = services.link_create(actor=actor, data=data)
    return Status(201, selectors.link_get(actor=actor, public_id=link.public_id))


@router.get("/links/{link_id}", response={200: LinkOut, **ERRORS})
def link_get(request: HttpRequest, link_id: uuid.UUID) -> TrackingLink:
    return selectors.link_get(actor=request_actor(request), public_id=link_id)


@router.patch("/links/{link_id}", response={200: LinkOut, **ERRORS})
def link_update(request: HttpRequest, link_id: uuid.UUID, payload: LinkPatch) -> TrackingLink:
    """Edit a link or deactivate it (`is_active: false`: /r/<code> answers 410 from then on). An active
    link must lead to an allowed host (`GET /tracking-hosts`)."""
    actor = request_actor(request)
    link = selectors.link_get(actor=actor, public_id=link_id)
    data = payload.to_input()
    if "program" in payload.model_fields_set:
        data["program_id"] = _program_id(payload.program)
    services.link_update(actor=actor, link=link, data=data)
    return selectors.link_get(actor=actor, public_id=link_id)


# --- allowed destination hosts --------------------------------------------------------------------------


def _hosts_out(actor: Actor) -> dict[str, Any]:
    hosts = selectors.tracking_hosts_get(actor=actor)
    return {
        "workspace": hosts.workspace,
        "programs": [
            {
                "program": {"public_id": p.program.public_id, "name": p.program.name},
                "hosts": p.hosts,
                "effective": p.effective,
            }
            for p in hosts.programs
        ],
        "outside_links": len(selectors.links_outside_hosts(actor=actor, hosts=hosts)),
    }


def _staff(actor: Actor) -> Actor:
    if actor.is_partner_user:
        raise PermissionDenied("Staff only")
    return actor


@router.get("/tracking-hosts", response={200: TrackingHostsOut, **ERRORS}, tags=["tracking hosts"])
def tracking_hosts_get(request: HttpRequest) -> dict[str, Any]:
    """Staff: where tracking links may lead — the workspace's hosts and each program's. A link with a
    program uses the program's list when non-empty, else the workspace's; a host allows its subdomains."""
    return _hosts_out(_staff(request_actor(request)))


@router.put("/tracking-hosts", response={200: TrackingHostsOut, **ERRORS}, tags=["tracking hosts"])
def tracking_hosts_put(request: HttpRequest, payload: TrackingHostsIn) -> dict[str, Any]:
    """Admins: replace the workspace's allowed hosts (audited). Links outside them stop redirecting."""
    actor = _staff(request_actor(request))
    services.tracking_hosts_set(actor=actor, hosts=payload.hosts)
    return _hosts_out(actor)


@router.put(
    "/tracking-hosts/programs/{program_id}",
    response={200: TrackingHostsOut, **ERRORS},
    tags=["tracking hosts"],
)
def tracking_hosts_program_put(
    request: HttpRequest, program_id: uuid.UUID, payload: TrackingHostsIn
) -> dict[str, Any]:
    """Admins: replace a program's own allowed hosts (`[]`: the workspace's apply; audited)."""
    actor = _staff(request_actor(request))
    program = Program.objects.get(public_id=program_id)
    services.tracking_hosts_set(actor=actor, hosts=payload.hosts, program=program)
    return _hosts_out(actor)


# --- coupons --------------------------------------------------------------------------------------------


@router.get("/coupons", response={200: list[CouponOut], **ERRORS})
@paginate(Pagination)
def coupon_list(request: HttpRequest, filters: Query[LinkQuery]) -> QuerySet[Coupon]:
    """Coupon codes (partner users: their own partner's)."""
    return selectors.coupon_list(
        actor=request_actor(request), filters=_filters(partner=filters.partner, q=filters.q)
    )


@router.post("/coupons", response={201: CouponOut, **ERRORS})
def coupon_create(request: HttpRequest, payload: CouponCreate) -> Status[Coupon]:
    """Staff: give a partner a coupon code (unique in the workspace, stored upper-case)."""
    actor = request_actor(request)
    data = payload.to_input()
    if not actor.is_partner_user:
        data["partner_id"] = _partner_id(actor, payload.partner)  # type: ignore[typeddict-item]
        data["program_id"] = _program_id(payload.program)
    coupon = services.coupon_create(actor=actor, data=data)
    return Status(201, selectors.coupon_get(actor=actor, public_id=coupon.public_id))


@router.get("/coupons/{coupon_id}", response={200: CouponOut, **ERRORS})
def coupon_get(request: HttpRequest, coupon_id: uuid.UUID) -> Coupon:
    return selectors.coupon_get(actor=request_actor(request), public_id=coupon_id)


@router.patch("/coupons/{coupon_id}", response={200: CouponOut, **ERRORS})
def coupon_update(request: HttpRequest, coupon_id: uuid.UUID, payload: CouponPatch) -> Coupon:
    """Staff: edit or deactivate a coupon."""
    actor = request_actor(request)
    coupon = selectors.coupon_get(actor=actor, public_id=coupon_id)
    data = payload.to_input()
    if "program" in payload.model_fields_set:
        data["program_id"] = _program_id(payload.program)
    services.coupon_update(actor=actor, coupon=coupon, data=data)
    return selectors.coupon_get(actor=actor, public_id=coupon_id)


# --- conversions ----------------------------------------------------------------------------------------


@router.get("/conversions", response={200: list[ConversionOut], **ERRORS})
@paginate(Pagination)
def conversion_list(request: HttpRequest, filters: Query[ConversionQuery]) -> QuerySet[Conversion]:
    """Conversions, newest first; `status=flagged` is the review queue (partner users: their own)."""
    return selectors.conversion_list(
        actor=request_actor(request),
        filters=_filters(
            partner=filters.partner,
            status=filters.status.value if filters.status else None,
            kind=filters.kind.value if filters.kind else None,
        ),
    )


@router.post("/conversions", response={201: ConversionOut, 200: ConversionOut, **ERRORS})
def conversion_record(
    request: HttpRequest,
    payload: ConversionCreate,
    idempotency_key: HeaderEx[
        IdempotencyKey | None,
        P(alias="Idempotency-Key", description="Or `idempotency_key` in the body; one of them is required"),
    ] = None,
) -> Status[Conversion]:
    """Report a signup, purchase, recurring payment or refund (staff token).

    Attributed by click id, link code, coupon or the customer's earlier conversions (first or last click
    within the program's window). Fraud rules flag — never drop — suspicious ones (`status: flagged`).
    Repeating an idempotency key returns the stored conversion (200); reusing it for a different request
    is a 409."""
    actor = request_actor(request)
    if payload.idempotency_key and idempotency_key and payload.idempotency_key != idempotency_key:
        raise ValidationError({"idempotency_key": "The body and the Idempotency-Key header disagree."})
    try:
        conversion, created = conversions.conversion_record(
            actor=actor, data=payload.to_input(), idempotency_key=payload.idempotency_key or idempotency_key
        )
    except conversions.Conflict as exc:
        raise HttpError(409, str(exc)) from None
    with_refs = selectors.conversion_list(actor=actor).filter(pk=conversion.pk).first()
    return Status(201 if created else 200, with_refs or conversion)


@router.get("/conversions/{conversion_id}", response={200: ConversionOut, **ERRORS})
def conversion_get(request: HttpRequest, conversion_id: uuid.UUID) -> Conversion:
    return selectors.conversion_get(actor=request_actor(request), public_id=conversion_id)


@router.post("/conversions/{conversion_id}/accept", response={200: ConversionOut, **ERRORS})
def conversion_accept(
    request: HttpRequest, conversion_id: uuid.UUID, payload: ConversionReviewIn | None = None
) -> Conversion:
    """Staff: accept a flagged conversion; it counts for its partner from now on (audited)."""
    actor = request_actor(request)
    conversion = selectors.conversion_get(actor=actor, public_id=conversion_id)
    conversions.conversion_accept(actor=actor, conversion=conversion, note=payload.note if payload else "")
    return selectors.conversion_get(actor=actor, public_id=conversion_id)


@router.post("/conversions/{conversion_id}/reject", response={200: ConversionOut, **ERRORS})
def conversion_reject(
    request: HttpRequest, conversion_id: uuid.UUID, payload: ConversionReviewIn | None = None
) -> Conversion:
    """Staff: reject a flagged or accepted conversion; it stops counting (audited)."""
    actor = request_actor(request)
    conversion = selectors.conversion_get(actor=actor, public_id=conversion_id)
    conversions.conversion_reject(actor=actor, conversion=conversion, note=payload.note if payload else "")
    return selectors.conversion_get(actor=actor, public_id=conversion_id)
