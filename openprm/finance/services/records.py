"""Writes of the finance records: create, update, delete one record, and upsert a list (a CSV import).

The four kinds (costs, invoices, sell-through lines, company revenue) share one shape, so each is a
``Kind``: its model, its natural key (what a re-import matches on) and its cleaner. Only staff with the
admin or finance role write; restricted staff write only for the partners they own (the partner must be
in the actor's scope). Every write is audited; ``records_upsert`` applies a whole list or, when any item
is bad, nothing, reporting every problem with the item's position.

Cleaners take text (a CSV cell) or typed values (the API): dates as ISO ``YYYY-MM-DD``, months as
``YYYY-MM`` or any date of the month (stored as the first day), amounts through ``core.validation``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, audited_delete, diff, snapshot
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_money, clean_text
from openprm.finance.models import CompanyRevenue, CostCategory, Invoice, PartnerCost, SellThroughLine
from openprm.partners.models import Partner

WRITER_ROLES = frozenset({Role.ADMIN, Role.FINANCE})
MAX_UNITS = 2_000_000_000
TRUE = frozenset({"true", "yes", "1", "y"})
FALSE = frozenset({"false", "no", "0", "n", ""})


def require_writer(actor: Actor) -> None:
    """Only staff with the admin or finance role change financial records."""
    if not actor.is_staff or actor.role not in WRITER_ROLES:
        raise PermissionDenied("Only admins and finance staff change financial records")


@dataclass
class Context:
    """What cleaning a batch needs once: the workspace currency and the partners the actor may write for."""

    currency: str
    partners: dict[int, Partner] = field(default_factory=dict)
    by_ref: dict[str, int] = field(default_factory=dict)  # external id, then lower-cased name → id

    @classmethod
    def load(cls, actor: Actor, *, with_partners: bool) -> Context:
        currency = Workspace.objects.get(pk=actor.workspace_id).currency
        ctx = cls(currency=currency)
        if with_partners:
            found = Partner.objects.only("id", "name", "external_id", "archived_at", "public_id")
            ctx.partners = {p.pk: p for p in found}
            for p in ctx.partners.values():
                ctx.by_ref.setdefault(p.name.lower(), p.pk)
            for p in ctx.partners.values():
                if p.external_id:
                    ctx.by_ref[p.external_id] = p.pk
        return ctx


# --- field cleaners: record a message under the field's name in ``errors`` and return the value ---------


def clean_date(
    errors: dict[str, str], key: str, value: Any, *, required: bool = True
) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            errors[key] = "This field is required."
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        errors[key] = f"'{text[:40]}' is not a date (YYYY-MM-DD)."
        return None


def clean_month(errors: dict[str, str], key: str, value: Any) -> datetime.date | None:
    """A month as its first day, from ``YYYY-MM`` or any date of the month."""
    if isinstance(value, datetime.date):
        return value.replace(day=1)
    text = "" if value is None else str(value).strip()
    if len(text) == 7:
        text += "-01"
    day = clean_date(errors, key, text)
    if key in errors and text:
        errors[key] = f"'{str(value).strip()[:40]}' is not a month (YYYY-MM)."
    return None if day is None else day.replace(day=1)


def clean_units(errors: dict[str, str], key: str, value: Any) -> int:
    text = "" if value is None else str(value).strip()
    if not text:
        return 0
    try:
        number = int(text) if not isinstance(value, bool) else -1
    except ValueError:
        errors[key] = f"'{text[:40]}' is not a whole number."
        return 0
    if not 0 <= number <= MAX_UNITS:
        errors[key] = f"A whole number between 0 and {MAX_UNITS:,}."
    return number


def clean_bool(errors: dict[str, str], key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in TRUE:
        return True
    if text not in FALSE:
        errors[key] = f"'{text[:40]}' is not true or false."
    return False


def clean_currency(errors: dict[str, str], key: str, value: Any, default: str) -> str:
    code = clean_text(errors, key, value or default, 3).upper()
    if key not in errors and (len(code) != 3 or not code.isalpha()):
        errors[key] = f"'{code}' is not an ISO 4217 currency code (e.g. EUR)."
    return code


def clean_partner(errors: dict[str, str], data: dict[str, Any], ctx: Context, current: Any) -> int | None:
    """The partner id from ``partner_id`` (an id the caller resolved) or ``partner`` (an external id or a
    name, as in a CSV); it must be one the actor may see, and not archived for a new record."""
    if "partner_id" in data:
        found: int | None = data["partner_id"]
    elif "partner" in data:
        ref = clean_text(errors, "partner", data["partner"], 200, required=True)
        if "partner" in errors:
            return None
        found = ctx.by_ref.get(ref)
        if found is None:
            found = ctx.by_ref.get(ref.lower())
        if found is None:
            errors["partner"] = f"Unknown partner '{ref}': no partner has this external id or name."
            return None
    elif current is not None:
        return int(current.partner_id)
    else:
        errors["partner"] = "This field is required."
        return None
    partner = ctx.partners.get(found) if found is not None else None
    if partner is None:
        errors["partner"] = "Unknown partner."
        return None
    if partner.archived_at is not None and (current is None or current.partner_id != partner.pk):
        errors["partner"] = partner.archived_message
    return partner.pk


def _written_currencies(errors: dict[str, str], data: dict[str, Any], expected: str) -> None:
    """A currency written with an amount in a file ("$1,200") must be the one the amount is in."""
    for key, code in (data.get("written_currencies") or {}).items():
        if code != expected and key not in errors:
            errors[key] = f"Written in {code}, but the amount is in {expected}."


def _note(errors: dict[str, str], data: dict[str, Any], out: dict[str, Any], current: Any) -> None:
    if current is None or "note" in data:
        out["note"] = clean_text(errors, "note", data.get("note"), 2000)


def _wants(data: dict[str, Any], current: Any, key: str) -> bool:
    return current is None or key in data


def clean_cost(data: dict[str, Any], current: PartnerCost | None, ctx: Context) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"partner_id": clean_partner(errors, data, ctx, current)}
    if _wants(data, current, "period"):
        out["period"] = clean_month(errors, "period", data.get("period"))
    if _wants(data, current, "category"):
        category = clean_text(errors, "category", data.get("category"), 12, required=True).lower()
        if "category" not in errors and category not in CostCategory.values:
            errors["category"] = f"'{category}' is not one of: {', '.join(CostCategory.values)}."
        out["category"] = category
    if _wants(data, current, "amount"):
        out["amount"] = clean_money(errors, "amount", data.get("amount"))
    _note(errors, data, out, current)
    _written_currencies(errors, data, ctx.currency)
    if errors:
        raise ValidationError(errors)
    return out


def clean_invoice(data: dict[str, Any], current: Invoice | None, ctx: Context) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"partner_id": clean_partner(errors, data, ctx, current)}
    if _wants(data, current, "number"):
        out["number"] = clean_text(errors, "number", data.get("number"), 60, required=True)
    for key in ("issued_on", "due_on"):
        if _wants(data, current, key):
            out[key] = clean_date(errors, key, data.get(key))
    if _wants(data, current, "paid_on"):
        out["paid_on"] = clean_date(errors, "paid_on", data.get("paid_on"), required=False)
    if _wants(data, current, "amount"):
        out["amount"] = clean_money(errors, "amount", data.get("amount"))
    if _wants(data, current, "currency"):
        written = (data.get("written_currencies") or {}).get("amount")
        out["currency"] = clean_currency(errors, "currency", data.get("currency") or written, ctx.currency)
    for key in ("disputed", "corrected"):
        if _wants(data, current, key):
            out[key] = clean_bool(errors, key, data.get(key))
    _note(errors, data, out, current)
    _written_currencies(errors, data, str(out.get("currency") or getattr(current, "currency", ctx.currency)))
    issued = out.get("issued_on", getattr(current, "issued_on", None))
    due = out.get("due_on", getattr(current, "due_on", None))
    if issued and due and due < issued and "due_on" not in errors:
        errors["due_on"] = "The due date is before the issue date."
    if errors:
        raise ValidationError(errors)
    return out


def clean_sellthrough(data: dict[str, Any], current: SellThroughLine | None, ctx: Context) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"partner_id": clean_partner(errors, data, ctx, current)}
    if _wants(data, current, "period"):
        out["period"] = clean_month(errors, "period", data.get("period"))
    if _wants(data, current, "sku"):
        out["sku"] = clean_text(errors, "sku", data.get("sku"), 60, required=True)
    if _wants(data, current, "region"):
        out["region"] = clean_text(errors, "region", data.get("region"), 60)
    for key in ("units_sold", "units_on_hand"):
        if _wants(data, current, key):
            out[key] = clean_units(errors, key, data.get(key))
    for key in ("unit_price", "list_price"):
        if _wants(data, current, key):
            out[key] = clean_money(errors, key, data.get(key))
    _written_currencies(errors, data, ctx.currency)
    if errors:
        raise ValidationError(errors)
    return out


def clean_company_revenue(
    data: dict[str, Any], current: CompanyRevenue | None, ctx: Context
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if _wants(data, current, "period"):
        out["period"] = clean_month(errors, "period", data.get("period"))
    if _wants(data, current, "amount"):
        out["amount"] = clean_money(errors, "amount", data.get("amount"))
    _note(errors, data, out, current)
    _written_currencies(errors, data, ctx.currency)
    if errors:
        raise ValidationError(errors)
    return out


@dataclass(frozen=True)
class Kind:
    """One kind of financial record: its model, natural key and cleaner."""

    name: str  # "costs", "invoices", "sellthrough", "company-revenue"
    model: type[models.Model]
    key_fields: tuple[str, ...]
    clean: Callable[[dict[str, Any], Any, Context], dict[str, Any]]
    partner_owned: bool = True

    def key(self, values: dict[str, Any], current: Any = None) -> tuple[Any, ...]:
        return tuple(values[f] if f in values else getattr(current, f) for f in self.key_fields)

    def describe(self, key: tuple[Any, ...]) -> str:
        return ", ".join(
            f"{f} {v:%Y-%m}" if f == "period" else f"{f} {v}"
            for f, v in zip(self.key_fields, key, strict=True)
            if f != "partner_id"
        )


COSTS = Kind("costs", PartnerCost, ("partner_id", "period", "category"), clean_cost)
INVOICES = Kind("invoices", Invoice, ("number",), clean_invoice)
SELLTHROUGH = Kind(
    "sellthrough", SellThroughLine, ("partner_id", "period", "sku", "region"), clean_sellthrough
)
COMPANY_REVENUE = Kind(
    "company-revenue", CompanyRevenue, ("period",), clean_company_revenue, partner_owned=False
)
KINDS = {kind.name: kind for kind in (COSTS, INVOICES, SELLTHROUGH, COMPANY_REVENUE)}


def _clean(kind: Kind, actor: Actor, data: dict[str, Any], current: Any) -> dict[str, Any]:
    return kind.clean(data, current, Context.load(actor, with_partners=kind.partner_owned))


def _check_unique(kind: Kind, values: dict[str, Any], current: Any) -> None:
    """The natural key is free (looked up across the workspace: a key held out of the actor's sight is
    taken too)."""
    key = kind.key(values, current)
    with unscoped():
        clash = kind.model._default_manager.filter(
            workspace_id=current.workspace_id if current else values["workspace_id"],
            **dict(zip(kind.key_fields, key, strict=True)),
        )
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise ValidationError(
                {kind.key_fields[-1]: f"A record with {kind.describe(key)} already exists."}
            )


def _partner_of(instance: Any) -> int | None:
    return getattr(instance, "partner_id", None)


@transaction.atomic
def record_create(*, actor: Actor, kind: Kind, data: dict[str, Any]) -> Any:
    require_writer(actor)
    values = _clean(kind, actor, data, None)
    values["workspace_id"] = actor.workspace_id
    _check_unique(kind, values, None)
    instance = kind.model(**values)
    instance.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=instance,
        after=snapshot(instance),
        partner_id=_partner_of(instance),
    )
    return instance


@transaction.atomic
def record_update(*, actor: Actor, kind: Kind, instance: Any, data: dict[str, Any]) -> Any:
    require_writer(actor)
    values = _clean(kind, actor, data, instance)
    if any(f in values and values[f] != getattr(instance, f) for f in kind.key_fields):
        _check_unique(kind, values, instance)
    with audited_change(actor=actor, instance=instance, partner_id=_partner_of(instance)):
        apply_values(instance, values)
        instance.save()
    return instance


@transaction.atomic
def record_delete(*, actor: Actor, kind: Kind, instance: Any) -> None:
    require_writer(actor)
    audited_delete(actor=actor, instance=instance, partner_id=_partner_of(instance))


@dataclass(frozen=True)
class ItemError:
    index: int  # position in the list given to records_upsert
    field: str
    message: str


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ItemError] = field(default_factory=list)  # when any: nothing was written


def _existing(kind: Kind, actor: Actor, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
    """The records with these natural keys, across the workspace (one query per 500 keys)."""
    found: dict[tuple[Any, ...], Any] = {}
    with unscoped():
        for chunk in range(0, len(keys), 500):
            condition = Q()
            for key in keys[chunk : chunk + 500]:
                condition |= Q(**dict(zip(kind.key_fields, key, strict=True)))
            rows = kind.model._default_manager.filter(condition, workspace_id=actor.workspace_id)
            for row in rows:
                found[kind.key(snapshot_key(kind, row))] = row
    return found


def snapshot_key(kind: Kind, row: Any) -> dict[str, Any]:
    return {f: getattr(row, f) for f in kind.key_fields}


def records_upsert(
    *, actor: Actor, kind: Kind, items: Sequence[dict[str, Any]], dry_run: bool = False
) -> UpsertResult:
    """Create the records whose natural keys are new and update the others (only the fields an item
    gives: a file without a ``note`` column keeps the notes): all of them or — when any item is bad or
    repeats a key — none, with every problem reported. ``dry_run`` only counts."""
    require_writer(actor)
    ctx = Context.load(actor, with_partners=kind.partner_owned)
    result = UpsertResult()
    cleaned: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        try:
            cleaned.append((index, kind.clean(item, None, ctx)))
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                result.errors.append(ItemError(index, name, " ".join(messages)))
    existing = _existing(kind, actor, [kind.key(values) for _, values in cleaned])
    seen: dict[tuple[Any, ...], int] = {}
    plan: list[tuple[Any, dict[str, Any]]] = []
    for index, values in cleaned:
        key = kind.key(values)
        if key in seen:
            message = f"{kind.describe(key)} is given twice (item {seen[key] + 1})."
            result.errors.append(ItemError(index, kind.key_fields[-1], message))
            continue
        seen[key] = index
        current = existing.get(key)
        if current is not None and kind.partner_owned and current.partner_id not in ctx.partners:
            result.errors.append(ItemError(index, kind.key_fields[-1], f"{kind.describe(key)} is taken."))
            continue
        plan.append((current, values))
    if result.errors:
        result.errors.sort(key=lambda e: e.index)
        return result
    creates: list[Any] = []
    updates: list[tuple[Any, dict[str, Any]]] = []
    for current, values in plan:
        if current is None:
            creates.append(kind.model(workspace_id=actor.workspace_id, **values))
            continue
        before = snapshot(current)
        given = {"partner_id" if name == "partner" else name for name in items[seen[kind.key(values)]]}
        apply_values(current, {name: value for name, value in values.items() if name in given})
        after = snapshot(current)
        if after == before:
            result.unchanged += 1
        else:
            updates.append((current, before))
    result.created, result.updated = len(creates), len(updates)
    if dry_run or not (creates or updates):
        return result
    with transaction.atomic():
        _write(kind, actor, creates, updates)
    return result


def _write(kind: Kind, actor: Actor, creates: list[Any], updates: list[tuple[Any, dict[str, Any]]]) -> None:
    """Insert and update in bulk, with one audit entry per record, as the single-record services do."""
    fields = [
        f.name
        for f in kind.model._meta.concrete_fields
        if f.name not in ("id", "public_id", "workspace", "created_at")
    ]
    kind.model._default_manager.bulk_create(creates, batch_size=1000)
    now = timezone.now()
    for instance, _ in updates:
        instance.updated_at = now
    if updates:
        kind.model._default_manager.bulk_update([u[0] for u in updates], fields, batch_size=1000)
    entries = [
        _entry(actor, AuditEntry.Action.CREATE, instance, {}, snapshot(instance)) for instance in creates
    ] + [
        _entry(actor, AuditEntry.Action.UPDATE, instance, before, snapshot(instance))
        for instance, before in updates
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=1000)


def _entry(
    actor: Actor, action: str, instance: Any, before: dict[str, Any], after: dict[str, Any]
) -> AuditEntry:
    return AuditEntry(
        workspace_id=actor.workspace_id,
        partner_id=_partner_of(instance),
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=action,
        object_type=instance._meta.label_lower,
        object_id=instance.public_id,
        object_repr=str(instance)[:300],
        changes=diff(before, after),
    )
