"""Writes for coupons: the vendor gives a partner a code (unique in the workspace, stored upper-case),
edits or deactivates it. Conversions that name a coupon are attributed to its partner."""

from __future__ import annotations

import re
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from openprm.activity.models import Coupon
from openprm.activity.services.referrals.owners import owner_partner, owner_program
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text

COUPON_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,63}$")


class CouponInput(TypedDict, total=False):
    partner_id: int
    program_id: int | None
    code: str
    description: str
    is_active: bool


def _clean_coupon(data: CouponInput, *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "code" in data:
        code = clean_text(errors, "code", data.get("code"), 64, required=True).upper()
        if "code" not in errors and not COUPON_CODE.match(code):
            errors["code"] = "2-64 letters, digits, '-' or '_'."
        out["code"] = code
    if "description" in data:
        out["description"] = clean_text(errors, "description", data["description"], 200)
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationError(errors)
    return out


def _coupon_taken(actor: Actor, code: str, exclude: int | None = None) -> bool:
    with unscoped():
        return (
            Coupon.objects.filter(workspace_id=actor.workspace_id, code=code)
            .exclude(pk=exclude or 0)
            .exists()
        )


def coupon_create(*, actor: Actor, data: CouponInput) -> Coupon:
    """Staff: a coupon code for a partner (codes are unique in the workspace, stored upper-case)."""
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor creates coupons")
    actor.require(Perm.PARTNER_EDIT)
    partner = owner_partner(data.get("partner_id"), owned="coupon")
    values = _clean_coupon(data, creating=True)
    if _coupon_taken(actor, values["code"]):
        raise ValidationError({"code": "This coupon code exists already."})
    coupon = Coupon(
        workspace_id=actor.workspace_id,
        partner=partner,
        program=owner_program(actor, data.get("program_id")),
        **values,
    )
    try:
        with transaction.atomic():
            coupon.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                instance=coupon,
                after=snapshot(coupon),
                partner_id=partner.pk,
            )
    except IntegrityError:
        raise ValidationError({"code": "This coupon code exists already."}) from None
    return coupon


def coupon_update(*, actor: Actor, coupon: Coupon, data: CouponInput) -> Coupon:
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor edits coupons")
    actor.require(Perm.PARTNER_EDIT)
    values = _clean_coupon(data, creating=False)
    if "code" in values and _coupon_taken(actor, values["code"], exclude=coupon.pk):
        raise ValidationError({"code": "This coupon code exists already."})
    with transaction.atomic(), audited_change(actor=actor, instance=coupon, partner_id=coupon.partner_id):
        if "program_id" in data:
            coupon.program = owner_program(actor, data["program_id"])
        for key, value in values.items():
            setattr(coupon, key, value)
        coupon.save()
    return coupon
