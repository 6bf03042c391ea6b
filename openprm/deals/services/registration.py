"""Writes for deal registration: register (idempotent per partner key), edit, and the cleaning both apply
to their input (customer, contact, money, line items). Keyword-only, atomic, audited; a registration is
indexed by customer and checked for conflicts with other partners' deals (``services.conflicts``)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, snapshot
from openprm.core.domains import normalize_domain
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_money, clean_text, quantize_money
from openprm.deals import matching
from openprm.deals.models import (
    ApprovalStatus,
    Deal,
    DealLineItem,
    DealSource,
    DealStageChange,
    PipelineStage,
    Product,
)
from openprm.deals.rollups import deals_tracked
from openprm.deals.services.approval import UNDECIDED
from openprm.deals.services.conflicts import conflicts_detect, deal_index
from openprm.deals.services.resolution import deal_add_co_seller
from openprm.deals.services.stages import add_business_days, program_stages
from openprm.partners.models import Partner, Program

Line = tuple[Product | None, str, Decimal, Decimal]  # (catalog product, name, quantity, unit price)


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


# --- cleaning -----------------------------------------------------------------------------------------


def _clean_customer(errors: dict[str, str], data: DealInput, out: dict[str, Any], *, creating: bool) -> None:
    """Customer name and domain, with the keys conflict matching indexes them by."""
    if creating or "customer_name" in data:
        out["customer_name"] = clean_text(
            errors, "customer_name", data.get("customer_name"), 200, required=True
        )
        out["customer_key"] = matching.customer_key(out["customer_name"])
    if "customer_domain" in data:
        raw = clean_text(errors, "customer_domain", data["customer_domain"], 253)
        domain = normalize_domain(raw) if raw else ""
        if raw and not domain and "customer_domain" not in errors:
            errors["customer_domain"] = f"'{raw}' is not a valid domain name."
        out["customer_domain"] = domain
        out["customer_domain_root"] = matching.domain_root(domain)[:100] if domain else ""


def _clean_contact(errors: dict[str, str], data: DealInput, out: dict[str, Any]) -> None:
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


def _clean_value(
    errors: dict[str, str], data: DealInput, out: dict[str, Any], *, creating: bool, workspace_currency: str
) -> None:
    """Amount, currency and expected close date."""
    if creating or "amount" in data:
        out["amount"] = clean_money(errors, "amount", data.get("amount"))
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


def _clean_details(errors: dict[str, str], data: DealInput, out: dict[str, Any]) -> None:
    """Description, title, source, external id, owner and free-form properties."""
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


def _clean(data: DealInput, *, creating: bool, workspace_currency: str) -> dict[str, Any]:
    """The deal's field values from ``data`` (only the keys given, unless ``creating``); one
    ValidationError names every bad field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    _clean_customer(errors, data, out, creating=creating)
    _clean_contact(errors, data, out)
    _clean_value(errors, data, out, creating=creating, workspace_currency=workspace_currency)
    _clean_details(errors, data, out)
    if "line_items" in data:
        out["line_items"] = _clean_lines(errors, data["line_items"] or [])
    if errors:
        raise ValidationError(errors)
    return out


def _clean_lines(errors: dict[str, str], lines: list[LineInput]) -> list[Line]:
    """Line items (at most 100): a catalog product's list price is the default unit price."""
    products = {p.name.lower(): p for p in Product.objects.filter(is_active=True)}
    cleaned = []
    for index, line in enumerate(lines[:100]):
        where = f"line_items.{index}"
        name = clean_text(errors, f"{where}.product", line.get("product"), 200, required=True)
        product = products.get(name.lower()) or products.get(name.lower().replace(" ", ""))
        quantity = clean_money(errors, f"{where}.quantity", line.get("quantity", 1))
        price_raw = line.get("unit_price")
        price = clean_money(errors, f"{where}.unit_price", price_raw, required=product is None)
        if price is None and product is not None:
            price = product.list_price
        if quantity is not None and quantity <= 0:
            errors[f"{where}.quantity"] = "Must be more than 0."
        if quantity is not None and price is not None:
            cleaned.append((product, product.name if product else name, quantity, price))
    return cleaned


def _save_lines(deal: Deal, lines: list[Line]) -> None:
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


# --- register -----------------------------------------------------------------------------------------


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


def _require_free_external_id(actor: Actor, external_id: str | None) -> None:
    if not external_id:
        return
    with unscoped():
        taken = Deal.objects.filter(workspace_id=actor.workspace_id, external_id=external_id).exists()
    if taken:
        raise ValidationError({"external_id": "Another deal already has this external id."})


def _new_deal(
    actor: Actor,
    partner: Partner,
    program: Program,
    stage: PipelineStage,
    values: dict[str, Any],
    key: str | None,
) -> Deal:
    """The unsaved deal: in the program's first stage, its approval due in the program's SLA."""
    now = timezone.now()
    return Deal(
        workspace_id=actor.workspace_id,
        partner=partner,
        program=program,
        registered_by_id=actor.user_id,
        idempotency_key=key or None,
        stage=stage,
        stage_changed_at=now,
        registered_at=now,
        approval_due_at=add_business_days(now, program.approval_sla_days),
        **values,
    )


@transaction.atomic
def deal_register(*, actor: Actor, data: DealInput, idempotency_key: str | None = None) -> tuple[Deal, bool]:
    """Register a deal; returns (deal, created). A repeated idempotency key returns the first deal."""
    _require_register(actor)
    partner = _partner_for(actor, data)
    if idempotency_key:
        existing = _deal_with_key(actor, partner, idempotency_key)
        if existing is not None:
            return existing, False
    currency = Workspace.objects.get(pk=actor.workspace_id).currency
    values = _clean(data, creating=True, workspace_currency=currency)
    close = values.get("expected_close_date")
    if actor.is_partner_user and close is not None and close < timezone.localdate():
        raise ValidationError({"expected_close_date": "The expected close date is in the past."})
    lines = values.pop("line_items", [])
    program = _program_for(partner, data)
    first_stage = program_stages(program=program)[0]
    deal = _new_deal(actor, partner, program, first_stage, values, idempotency_key)
    if not deal.amount and lines:
        deal.amount = quantize_money(sum((q * p for _, _, q, p in lines), Decimal("0")))
    _require_free_external_id(actor, deal.external_id)
    with deals_tracked(actor.workspace_id) as tracked:  # the new deal's rollup contributions
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
        tracked.add(deal.pk)
        _save_lines(deal, lines)
        for partner_id, role in data.get("co_sellers", []):
            deal_add_co_seller(actor=actor, deal=deal, partner_id=partner_id, role=role)
        DealStageChange.objects.create(
            workspace_id=actor.workspace_id,
            deal=deal,
            to_stage=first_stage,
            changed_at=deal.registered_at,
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


# --- update -------------------------------------------------------------------------------------------


@transaction.atomic
def deal_update(*, actor: Actor, deal: Deal, data: DealInput) -> Deal:
    """Edit a deal. Partners may edit while it awaits a decision; answering an info request resubmits it."""
    if actor.is_partner_user:
        if deal.partner_id != actor.partner_id:
            raise PermissionDenied("Not your deal")
        if deal.approval_status not in UNDECIDED:
            raise ValidationError({"approval_status": "A decided registration can no longer be edited."})
        data = {k: v for k, v in data.items() if k not in {"owner_id", "partner_id", "external_id"}}  # type: ignore[assignment]
    else:
        actor.require(Perm.PARTNER_EDIT)
    values = _clean(data, creating=False, workspace_currency=deal.currency)
    lines = values.pop("line_items", None)
    with (
        deals_tracked(deal.workspace_id, [deal.pk]),
        audited_change(actor=actor, instance=deal, partner_id=deal.partner_id),
    ):
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
