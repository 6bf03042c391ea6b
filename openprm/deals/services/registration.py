"""Writes for deal registration and the pipeline. Keyword-only, atomic, audited."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from openprm.accounts.models import Membership, Notification
from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.scoping import scope, unscoped
from openprm.core.validation import MAX_AMOUNT, clean_text, quantize_money
from openprm.deals import matching
from openprm.deals.models import (
    DEFAULT_STALL_DAYS,
    ApprovalStatus,
    ConflictStatus,
    Deal,
    DealConflict,
    DealCoSeller,
    DealLineItem,
    DealSource,
    DealStageChange,
    Outcome,
    PipelineStage,
    Product,
)
from openprm.deals.services.conflicts import conflicts_detect, deal_index
from openprm.partners.models import Partner, Program

DEFAULT_STAGES: list[tuple[str, str, Decimal, str, int | None]] = [
    ("registered", "Registered", Decimal("0.1"), Outcome.OPEN, DEFAULT_STALL_DAYS["registered"]),
    ("qualified", "Qualified", Decimal("0.25"), Outcome.OPEN, DEFAULT_STALL_DAYS["qualified"]),
    ("proposal_sent", "Proposal sent", Decimal("0.5"), Outcome.OPEN, DEFAULT_STALL_DAYS["proposal_sent"]),
    ("negotiating", "Negotiating", Decimal("0.75"), Outcome.OPEN, DEFAULT_STALL_DAYS["negotiating"]),
    ("closed_won", "Closed won", Decimal("1"), Outcome.WON, None),
    ("closed_lost", "Closed lost", Decimal("0"), Outcome.LOST, None),
]


def program_stages(*, program: Program) -> list[PipelineStage]:
    """The program's stages in order, creating the default pipeline the first time it is needed."""
    with unscoped():
        stages = list(PipelineStage.objects.filter(program=program).order_by("order"))
        if not stages:
            stages = [
                PipelineStage.objects.create(
                    workspace_id=program.workspace_id,
                    program=program,
                    key=key,
                    name=name,
                    order=order,
                    win_probability=probability,
                    outcome=outcome,
                    stall_days=stall,
                )
                for order, (key, name, probability, outcome, stall) in enumerate(DEFAULT_STAGES, start=1)
            ]
    return stages


def add_business_days(start: datetime.datetime, days: int) -> datetime.datetime:
    """``start`` moved forward by ``days`` working days (Monday–Friday)."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


class LineInput(TypedDict, total=False):
    product: str  # product name (catalog) or free text
    quantity: Decimal | int | str
    unit_price: Decimal | int | str | None


class DealInput(TypedDict, total=False):
    partner_id: int  # staff only: whose registration this is
    program_id: int
    customer_name: str
    customer_domain: str
    contact_name: str
    contact_email: str
    amount: Decimal | int | str
    currency: str
    expected_close_date: datetime.date | None
    description: str
    source: str
    title: str
    external_id: str | None
    owner_id: int | None
    line_items: list[LineInput]
    co_sellers: list[tuple[int, str]]  # (partner id, role)
    properties: dict[str, Any]


def _money(errors: dict[str, str], key: str, value: Any, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            errors[key] = "This field is required."
        return None
    try:
        amount = quantize_money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        errors[key] = f"Not an amount: '{value}'."
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        errors[key] = f"Must be between 0 and {MAX_AMOUNT}."
        return None
    return amount


def _clean(data: DealInput, *, creating: bool, workspace_currency: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "customer_name" in data:
        out["customer_name"] = clean_text(
            errors, "customer_name", data.get("customer_name"), 200, required=True
        )
        out["customer_key"] = matching.customer_key(out["customer_name"])
    if "customer_domain" in data:
        raw = clean_text(errors, "customer_domain", data["customer_domain"], 253)
        domain = matching.normalize_domain(raw) if raw else ""
        if raw and not domain and "customer_domain" not in errors:
            errors["customer_domain"] = f"'{raw}' is not a valid domain name."
        out["customer_domain"] = domain
        out["customer_domain_root"] = matching.domain_root(domain)[:100] if domain else ""
    if "contact_name" in data:
        out["contact_name"] = clean_text(errors, "contact_name", data["contact_name"], 200)
    if "contact_email" in data:
        email = clean_text(errors, "contact_email", data["contact_email"], 254).lower()
        if email and "contact_email" not in errors:
            try:
                validate_email(email)
            except ValidationError:
                errors["contact_email"] = f"'{email}' is not a valid e-mail address."
        out["contact_email"] = email
    if creating or "amount" in data:
        out["amount"] = _money(errors, "amount", data.get("amount"))
    if creating or "currency" in data:
        currency = clean_text(errors, "currency", data.get("currency") or workspace_currency, 3).upper()
        if "currency" not in errors and (len(currency) != 3 or not currency.isalpha()):
            errors["currency"] = f"'{currency}' is not an ISO 4217 currency code."
        out["currency"] = currency
    if "expected_close_date" in data:
        value = data["expected_close_date"]
        if value is not None and not isinstance(value, datetime.date):
            errors["expected_close_date"] = "Use an ISO date (YYYY-MM-DD)."
        out["expected_close_date"] = value
    if "description" in data:
        out["description"] = clean_text(errors, "description", data["description"], 20000)
    if "title" in data:
        out["title"] = clean_text(errors, "title", data["title"], 200)
    if "source" in data:
        source = clean_text(errors, "source", data["source"], 20).lower() or DealSource.SOURCED
        if source not in DealSource.values:
            errors["source"] = f"Unknown source '{source}'. Known: {', '.join(DealSource.values)}."
        out["source"] = source
    if "external_id" in data:
        out["external_id"] = clean_text(errors, "external_id", data["external_id"], 100) or None
    if "owner_id" in data:
        out["owner_id"] = data["owner_id"]
    if "properties" in data:
        properties = data["properties"] or {}
        if not isinstance(properties, dict) or len(str(properties)) > 20000:
            errors["properties"] = "Must be an object of at most 20,000 characters."
        out["properties"] = properties
    if "line_items" in data:
        out["line_items"] = _clean_lines(errors, data["line_items"] or [])
    if errors:
        raise ValidationError(errors)
    return out


def _clean_lines(
    errors: dict[str, str], lines: list[LineInput]
) -> list[tuple[Product | None, str, Decimal, Decimal]]:
    products = {p.name.lower(): p for p in Product.objects.filter(is_active=True)}
    cleaned = []
    for index, line in enumerate(lines[:100]):
        where = f"line_items.{index}"
        name = clean_text(errors, f"{where}.product", line.get("product"), 200, required=True)
        product = products.get(name.lower()) or products.get(name.lower().replace(" ", ""))
        quantity = _money(errors, f"{where}.quantity", line.get("quantity", 1))
        price_raw = line.get("unit_price")
        price = _money(errors, f"{where}.unit_price", price_raw, required=product is None)
        if price is None and product is not None:
            price = product.list_price
        if quantity is not None and quantity <= 0:
            errors[f"{where}.quantity"] = "Must be more than 0."
        if quantity is not None and price is not None:
            cleaned.append((product, product.name if product else name, quantity, price))
    return cleaned


def _partner_for(actor: Actor, data: DealInput) -> Partner:
    partner_id = actor.partner_id if actor.is_partner_user else data.get("partner_id")
    if partner_id is None:
        raise ValidationError({"partner": "Choose the partner this deal is registered for."})
    partner = Partner.objects.filter(pk=partner_id).first()
    if partner is None:
        raise ValidationError({"partner": "Unknown partner."})
    if partner.archived_at:
        raise ValidationError({"partner": partner.archived_message})
    return partner


def _program_for(partner: Partner, data: DealInput) -> Program:
    enrolled = [e.program for e in partner.enrolments.select_related("program")]
    if "program_id" in data:
        for program in enrolled:
            if program.pk == data["program_id"]:
                return program
        raise ValidationError({"program": "The partner is not enrolled in that program."})
    if enrolled:
        return sorted(enrolled, key=lambda p: (not p.is_default, p.name))[0]
    default = Program.objects.filter(is_default=True).first() or Program.objects.first()
    if default is None:
        raise ValidationError({"program": "The workspace has no program."})
    return default


def _require_register(actor: Actor) -> None:
    if actor.is_partner_user:
        if actor.role not in PARTNER_ROLES:
            raise PermissionDenied("Your role may not register deals")
    else:
        actor.require(Perm.PARTNER_EDIT)


@transaction.atomic
def deal_register(*, actor: Actor, data: DealInput, idempotency_key: str | None = None) -> tuple[Deal, bool]:
    """Register a deal; returns (deal, created). A repeated idempotency key returns the first deal."""
    _require_register(actor)
    partner = _partner_for(actor, data)
    if idempotency_key:
        existing = _deal_with_key(actor, partner, idempotency_key)
        if existing is not None:
            return existing, False
    from openprm.core.models import Workspace

    currency = Workspace.objects.get(pk=actor.workspace_id).currency
    values = _clean(data, creating=True, workspace_currency=currency)
    close = values.get("expected_close_date")
    if actor.is_partner_user and close is not None and close < timezone.localdate():
        raise ValidationError({"expected_close_date": "The expected close date is in the past."})
    lines = values.pop("line_items", [])
    program = _program_for(partner, data)
    first_stage = program_stages(program=program)[0]
    now = timezone.now()
    deal = Deal(
        workspace_id=actor.workspace_id,
        partner=partner,
        program=program,
        registered_by_id=actor.user_id,
        idempotency_key=idempotency_key or None,
        stage=first_stage,
        stage_changed_at=now,
        registered_at=now,
        approval_due_at=add_business_days(now, program.approval_sla_days),
        **values,
    )
    if not deal.amount and lines:
        deal.amount = quantize_money(sum((q * p for _, _, q, p in lines), Decimal("0")))
    if deal.external_id:
        with unscoped():
            taken = Deal.objects.filter(
                workspace_id=actor.workspace_id, external_id=deal.external_id
            ).exists()
        if taken:
            raise ValidationError({"external_id": "Another deal already has this external id."})
    try:
        with transaction.atomic():
            deal.save()
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = _deal_with_key(actor, partner, idempotency_key)  # a concurrent retry won the race
        if existing is None:
            raise
        return existing, False
    _save_lines(deal, lines)
    for partner_id, role in data.get("co_sellers", []):
        deal_add_co_seller(actor=actor, deal=deal, partner_id=partner_id, role=role)
    DealStageChange.objects.create(
        workspace_id=actor.workspace_id,
        deal=deal,
        to_stage=first_stage,
        changed_at=now,
        actor_label=actor.label,
    )
    deal_index(deal)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=deal,
        after=snapshot(deal),
        partner_id=partner.pk,
    )
    conflicts_detect(deal=deal)
    return deal, True


def _deal_with_key(actor: Actor, partner: Partner, key: str) -> Deal | None:
    """The partner's deal registered with this idempotency key, if the actor may see it.

    Keys are unique per partner; a key another rep of the same partner already used is an error rather
    than a silent 404."""
    with unscoped():
        existing = Deal.objects.filter(
            workspace_id=actor.workspace_id, partner=partner, idempotency_key=key
        ).first()
    if existing is None:
        return None
    if not Deal.objects.filter(pk=existing.pk).exists():
        raise ValidationError({"idempotency_key": "This key was already used for another registration."})
    return existing


def _save_lines(deal: Deal, lines: list[tuple[Product | None, str, Decimal, Decimal]]) -> None:
    DealLineItem.objects.filter(deal=deal).delete()
    DealLineItem.objects.bulk_create(
        DealLineItem(
            workspace_id=deal.workspace_id,
            deal=deal,
            product=product,
            product_name=name,
            quantity=quantity,
            unit_price=price,
        )
        for product, name, quantity, price in lines
    )


def deals_visible(*, actor: Actor, deal_ids: Iterable[int]) -> set[int]:
    """Which of these deals the actor may see (their access scope: own partners only, own partner...)."""
    ids = set(deal_ids)
    access = actor.access_scope()
    if access.partner_id is None and access.owner_id is None and access.rep_user_id is None:
        return ids  # workspace-wide staff: every deal of the workspace
    with scope(access):
        return set(Deal.objects.filter(pk__in=ids).values_list("pk", flat=True))


def deal_conflicts(*, deal: Deal, open_only: bool = False) -> list[DealConflict]:
    """The conflicts ``deal`` is on either side of, each pair once (older data may hold both directions:
    the open row wins, then the latest). Workspace-wide: callers mask what the actor may not see."""
    with unscoped():
        rows = (
            DealConflict.objects.filter(workspace_id=deal.workspace_id)
            .filter(Q(deal=deal) | Q(other=deal))
            .select_related("deal__partner", "deal__stage", "other__partner", "other__stage")
            .order_by("-score", "id")
        )
        if open_only:
            rows = rows.filter(status=ConflictStatus.OPEN)
        conflicts = list(rows)
    best: dict[frozenset[int], DealConflict] = {}
    for conflict in conflicts:
        pair = frozenset((conflict.deal_id, conflict.other_id))
        kept = best.get(pair)
        if kept is None or (
            (conflict.status == ConflictStatus.OPEN, conflict.detected_at)
            > (kept.status == ConflictStatus.OPEN, kept.detected_at)
        ):
            best[pair] = conflict
    order = {id(c): i for i, c in enumerate(conflicts)}
    return sorted(best.values(), key=lambda c: order[id(c)])


def _rival(conflict: DealConflict, deal: Deal) -> Deal:
    return conflict.other if conflict.deal_id == deal.pk else conflict.deal


def conflicts_blocking(*, deal: Deal) -> list[DealConflict]:
    """Open conflicts whose rival registration is still in play (not rejected or expired, not closed):
    approving ``deal`` while they stand would protect two partners for the same customer."""
    return [
        conflict
        for conflict in deal_conflicts(deal=deal, open_only=True)
        if _rival(conflict, deal).approval_status not in (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)
        and _rival(conflict, deal).stage.outcome == Outcome.OPEN
    ]


class OpenConflicts(ValidationError):
    """Approval refused: the registration has open conflicts (the API answers 409 ``open_conflicts``)."""

    def __init__(self, message: str, conflicts: list[dict[str, Any]]) -> None:
        super().__init__({"override_conflicts": [message]})
        self.conflicts = conflicts
        self.summary = message


def _describe_conflicts(actor: Actor, deal: Deal, conflicts: list[DealConflict]) -> list[dict[str, Any]]:
    visible = deals_visible(actor=actor, deal_ids=[_rival(c, deal).pk for c in conflicts])
    described = []
    for conflict in conflicts:
        rival = _rival(conflict, deal)
        if rival.pk in visible:
            text = (
                f"{rival.partner.name}: {rival.customer_name} ({rival.currency} {rival.amount:,.2f}, "
                f"{rival.get_approval_status_display().lower()}), match {round(conflict.score * 100)}%"
            )
        else:
            text = "a registration of a partner you do not own (ask its owner or an admin)"
        described.append({"conflict": str(conflict.public_id), "visible": rival.pk in visible, "text": text})
    return described


@transaction.atomic
def deal_update(*, actor: Actor, deal: Deal, data: DealInput) -> Deal:
    """Edit a deal. Partners may edit while it awaits a decision; answering an info request resubmits it."""
    if actor.is_partner_user:
        if deal.partner_id != actor.partner_id:
            raise PermissionDenied("Not your deal")
        if deal.approval_status not in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO):
            raise ValidationError({"approval_status": "A decided registration can no longer be edited."})
        data = {k: v for k, v in data.items() if k not in {"owner_id", "partner_id", "external_id"}}  # type: ignore[assignment]
    else:
        actor.require(Perm.PARTNER_EDIT)
    values = _clean(data, creating=False, workspace_currency=deal.currency)
    lines = values.pop("line_items", None)
    with audited_change(actor=actor, instance=deal, partner_id=deal.partner_id):
        apply_values(deal, values)
        if actor.is_partner_user and deal.approval_status == ApprovalStatus.MORE_INFO:
            deal.approval_status = ApprovalStatus.SUBMITTED  # answered: the SLA clock starts again
            deal.approval_due_at = add_business_days(timezone.now(), deal.program.approval_sla_days)
        deal.save()
    if lines is not None:
        _save_lines(deal, lines)
    if {"customer_name", "customer_domain"} & values.keys():
        deal_index(deal)
        conflicts_detect(deal=deal)
    return deal


def _notify_partner(deal: Deal, title: str, body: str) -> None:
    with unscoped():
        user_ids = set(
            Membership.objects.filter(partner_id=deal.partner_id, is_active=True)
            .filter(Q(role__in=["partner_admin", "partner_manager"]) | Q(user_id=deal.registered_by_id))
            .values_list("user_id", flat=True)
        )
    Notification.objects.bulk_create(
        Notification(
            workspace_id=deal.workspace_id,
            user_id=user_id,
            partner_id=deal.partner_id,
            title=title,
            body=body,
            link=f"/portal/deals/{deal.public_id}/",
        )
        for user_id in sorted(user_ids)
    )


def _require_decidable(actor: Actor, deal: Deal) -> None:
    actor.require(Perm.PARTNER_EDIT)
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor decides registrations")
    if deal.approval_status not in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO):
        raise ValidationError(
            {"approval_status": f"This registration is already {deal.get_approval_status_display().lower()}."}
        )


def _decide(actor: Actor, deal: Deal, status: str, note: str) -> Deal:
    _require_decidable(actor, deal)
    now = timezone.now()
    with audited_change(actor=actor, instance=deal, partner_id=deal.partner_id):
        deal.approval_status = status
        deal.decided_at = now
        deal.decision_note = note
        if status == ApprovalStatus.APPROVED:
            deal.approved_at = now
            deal.protection_expires_at = now + datetime.timedelta(days=deal.program.protection_days)
        deal.save()
    return deal


@transaction.atomic
def deal_approve(
    *,
    actor: Actor,
    deal: Deal,
    note: str = "",
    override_conflicts: bool = False,
    override_reason: str = "",
) -> Deal:
    """Approve a registration. Open conflicts with registrations still in play refuse the approval
    (:class:`OpenConflicts`) unless they are resolved first (reject the other, co-sell, dismiss) or the
    approver overrides them with a reason, which is audited on the deal."""
    _require_decidable(actor, deal)
    blocking = conflicts_blocking(deal=deal)
    override_reason = (override_reason or "").strip()[:2000]
    described = _describe_conflicts(actor, deal, blocking) if blocking else []
    if blocking and not override_conflicts:
        count = len(blocking)
        message = (
            f"This registration has {count} open conflict{'s' if count != 1 else ''}: "
            + "; ".join(d["text"] for d in described)
            + ". Resolve them first (approve this and reject the other, co-sell, or not a conflict), "
            "or approve anyway with a reason for overriding them."
        )
        raise OpenConflicts(message, described)
    if any(not d["visible"] for d in described):  # nobody overrides what they may not see
        raise PermissionDenied(
            "A conflict is with a registration of a partner you do not own: ask its owner or an admin "
            "to resolve it before this registration is approved."
        )
    if blocking and (not override_reason or "\x00" in override_reason):
        raise ValidationError(
            {"override_reason": "Say why this registration is approved despite its conflicts."}
        )
    deal = _decide(actor, deal, ApprovalStatus.APPROVED, note.strip()[:2000])
    if blocking:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            instance=deal,
            after={
                "conflicts_overridden": len(blocking),
                "override_reason": override_reason,
            },
            partner_id=deal.partner_id,
        )
    protected = deal.protection_expires_at.date().isoformat() if deal.protection_expires_at else "—"
    _notify_partner(deal, f"Deal approved: {deal.customer_name}", f"Protected until {protected}.")
    return deal


@transaction.atomic
def deal_reject(*, actor: Actor, deal: Deal, reason: str) -> Deal:
    reason = (reason or "").strip()
    if not reason or "\x00" in reason:
        raise ValidationError({"reason": "Give the partner a reason for the rejection."})
    deal = _decide(actor, deal, ApprovalStatus.REJECTED, reason[:2000])
    _notify_partner(deal, f"Deal rejected: {deal.customer_name}", reason)
    return deal


@transaction.atomic
def deal_request_info(*, actor: Actor, deal: Deal, message: str) -> Deal:
    message = (message or "").strip()
    if not message or "\x00" in message:
        raise ValidationError({"message": "Say what information you need."})
    deal = _decide(actor, deal, ApprovalStatus.MORE_INFO, message[:2000])
    deal.decided_at = None
    deal.save(update_fields=["decided_at"])
    _notify_partner(deal, f"More information needed: {deal.customer_name}", message)
    return deal


@transaction.atomic
def deal_move_stage(*, actor: Actor, deal: Deal, stage_key: str, lost_reason: str = "") -> Deal:
    """Move a deal to another stage of its program; closing stages set closed_at, lost needs a reason."""
    if actor.is_partner_user:
        if deal.partner_id != actor.partner_id:
            raise PermissionDenied("Not your deal")
        if deal.approval_status != ApprovalStatus.APPROVED:
            raise ValidationError({"stage": "The registration must be approved before it moves on."})
    else:
        actor.require(Perm.PARTNER_EDIT)
    stages = {s.key: s for s in program_stages(program=deal.program)}
    stage = stages.get((stage_key or "").strip())
    if stage is None:
        raise ValidationError({"stage": f"Unknown stage '{stage_key}'. Known: {', '.join(stages)}."})
    lost_reason = (lost_reason or "").strip()[:300]
    if stage.outcome == Outcome.LOST and not lost_reason:
        raise ValidationError({"lost_reason": "Say why the deal was lost."})
    if "\x00" in lost_reason:
        raise ValidationError({"lost_reason": "Contains a NUL character."})
    if stage.pk == deal.stage_id:
        return deal
    now = timezone.now()
    previous = deal.stage
    with audited_change(actor=actor, instance=deal, partner_id=deal.partner_id):
        deal.stage = stage
        deal.stage_changed_at = now
        deal.closed_at = now if stage.outcome != Outcome.OPEN else None
        deal.lost_reason = lost_reason if stage.outcome == Outcome.LOST else ""
        deal.save()
    DealStageChange.objects.create(
        workspace_id=deal.workspace_id,
        deal=deal,
        from_stage=previous,
        to_stage=stage,
        changed_at=now,
        actor_label=actor.label,
        lost_reason=deal.lost_reason,
    )
    return deal


@transaction.atomic
def deal_add_co_seller(*, actor: Actor, deal: Deal, partner_id: int, role: str) -> DealCoSeller:
    if role not in DealCoSeller.Role.values:
        raise ValidationError({"co_sellers": f"Unknown co-sell role '{role}'."})
    if partner_id == deal.partner_id:
        raise ValidationError({"co_sellers": "The registering partner cannot also be its co-seller."})
    with unscoped():
        co_partner = Partner.objects.filter(pk=partner_id, workspace_id=deal.workspace_id).first()
        if co_partner is None:
            raise ValidationError({"co_sellers": "Unknown co-sell partner."})
        if co_partner.archived_at:
            raise ValidationError({"co_sellers": co_partner.archived_message})
        co_seller, _ = DealCoSeller.objects.update_or_create(
            workspace_id=deal.workspace_id, deal=deal, partner_id=partner_id, defaults={"role": role}
        )
    return co_seller


@dataclass(frozen=True)
class Resolution:
    APPROVE_THIS = "approve_this"  # approve conflict.deal, reject conflict.other
    APPROVE_OTHER = "approve_other"  # approve conflict.other, reject conflict.deal
    CO_SELL = "co_sell"  # keep both: the later registration becomes a co-seller of the first-in deal
    DISMISS = "dismiss"  # not the same customer


@transaction.atomic
def conflict_resolve(
    *, actor: Actor, conflict: DealConflict, resolution: str, reason: str = ""
) -> DealConflict:
    """Staff settle a conflict: approve one registration and reject the other with a reason, or co-sell."""
    actor.require(Perm.PARTNER_EDIT)
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor resolves conflicts")
    if conflict.status != ConflictStatus.OPEN:
        raise ValidationError({"resolution": "This conflict is already resolved."})
    if deals_visible(actor=actor, deal_ids=[conflict.deal_id, conflict.other_id]) != {
        conflict.deal_id,
        conflict.other_id,
    }:
        raise PermissionDenied(
            "This conflict involves a registration of a partner you do not own: "
            "ask that partner's owner or an admin to resolve it."
        )
    reason = (reason or "").strip()[:2000]
    with unscoped():
        deal, other = Deal.objects.get(pk=conflict.deal_id), Deal.objects.get(pk=conflict.other_id)
    if resolution in (Resolution.APPROVE_THIS, Resolution.APPROVE_OTHER):
        if not reason:
            raise ValidationError({"reason": "Give the rejected partner a reason."})
        winner, loser = (deal, other) if resolution == Resolution.APPROVE_THIS else (other, deal)
        with unscoped():  # the loser first: a rejected rival no longer blocks the winner's approval
            if loser.approval_status in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO):
                deal_reject(actor=actor, deal=loser, reason=reason)
            if winner.approval_status in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO):
                deal_approve(actor=actor, deal=winner)
        status = ConflictStatus.RESOLVED
    elif resolution == Resolution.CO_SELL:
        first, later = (other, deal) if other.registered_at <= deal.registered_at else (deal, other)
        deal_add_co_seller(
            actor=actor, deal=first, partner_id=later.partner_id, role=DealCoSeller.Role.CO_SELL
        )
        status = ConflictStatus.CO_SELL
    elif resolution == Resolution.DISMISS:
        status = ConflictStatus.DISMISSED
    else:
        raise ValidationError({"resolution": "Choose approve_this, approve_other, co_sell or dismiss."})
    conflict.status = status
    conflict.resolved_at = timezone.now()
    conflict.resolved_by_label = actor.label
    conflict.resolution_note = reason
    conflict.save()
    return conflict


@transaction.atomic
def deals_expire(*, workspace_id: int, now: datetime.datetime | None = None) -> int:
    """Expire approved registrations whose protection window ended without any stage progress."""
    now = now or timezone.now()
    with unscoped():
        stale = Deal.objects.filter(
            workspace_id=workspace_id,
            approval_status=ApprovalStatus.APPROVED,
            protection_expires_at__lt=now,
            stage__order=1,
            stage__outcome=Outcome.OPEN,
        )
        system = Actor.system(workspace_id, label="protection-window expiry")
        count = 0
        for deal in stale.select_related("program"):
            with audited_change(actor=system, instance=deal, partner_id=deal.partner_id):
                deal.approval_status = ApprovalStatus.EXPIRED
                deal.save(update_fields=["approval_status", "updated_at"])
            _notify_partner(
                deal,
                f"Registration expired: {deal.customer_name}",
                "The protection window ended without progress. Register it again if it is live.",
            )
            count += 1
    return count


@transaction.atomic
def stage_update(
    *, actor: Actor, stage: PipelineStage, name: str, win_probability: Any, stall_days: Any
) -> PipelineStage:
    """Rename a stage, set its win probability (open stages) and its stalled-deal threshold."""
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, 80, required=True)
    probability = stage.win_probability
    if stage.outcome == Outcome.OPEN:
        try:
            probability = Decimal(str(win_probability).strip().rstrip("%"))
            if probability > 1:  # typed as a percentage
                probability = probability / 100
            if not probability.is_finite() or not 0 <= probability <= 1:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["win_probability"] = "A probability between 0 and 1 (or 0–100 %)."
    stall: int | None = None
    if stall_days not in (None, ""):
        try:
            stall = int(str(stall_days))
            if not 1 <= stall <= 3650:
                raise ValueError
        except ValueError:
            errors["stall_days"] = "A whole number of days between 1 and 3650, or empty for never."
    if errors:
        raise ValidationError(errors)
    with audited_change(actor=actor, instance=stage):
        stage.name = name
        stage.win_probability = probability.quantize(Decimal("0.0001"))
        stage.stall_days = stall if stage.outcome == Outcome.OPEN else None
        stage.save()
    return stage
