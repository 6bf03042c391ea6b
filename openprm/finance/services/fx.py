"""Writes of exchange rates (``FxRate``): a list upsert (an ECB file import, a manual entry) and delete.

Only staff allowed to manage payouts (``Perm.PAYOUT_MANAGE``: admins and finance) write rates. A list is
written all or nothing: any bad item — an unknown-looking code, a rate that is not a positive number with
at most 14 decimal places, a pair given twice for a day, or a rate that differs from the one stored for
that day and pair while ``overwrite`` is off — refuses the list, naming every problem with the item's
position. Re-writing the same rates changes nothing (``unchanged``); with ``overwrite`` a changed rate
replaces the stored one. Every created, replaced or deleted rate has its own audit entry (before/after).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.audit import audited_delete, diff, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.core.tasks import enqueue_after_commit
from openprm.finance.models import FxRate, FxSource

CODE = re.compile(r"^[A-Z]{3}$")
MAX_INTEGER_DIGITS = 14
MAX_PLACES = 14


def require_fx_writer(actor: Actor) -> None:
    """Only staff who manage payouts (admins, finance) change exchange rates."""
    if not actor.is_staff or not actor.can(Perm.PAYOUT_MANAGE):
        raise PermissionDenied("Only admins and finance staff change exchange rates")


def clean_currency(value: Any) -> str:
    """An ISO 4217-shaped code (three letters, any case in; upper case out)."""
    code = str(value or "").strip().upper()
    if not CODE.match(code):
        raise ValueError(f"“{str(value or '')[:20]}” is not a currency code (three letters, e.g. USD).")
    return code


def clean_rate(value: Any) -> Decimal:
    """A positive number with at most 14 decimal places and 14 digits before the point."""
    text = str(value if value is not None else "").strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{text[:30]}” is not a number (write it like 1.0823).") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError("A rate is a positive number.")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_PLACES:
        raise ValueError(f"At most {MAX_PLACES} decimal places.")
    if rate.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"At most {MAX_INTEGER_DIGITS} digits before the decimal point.")
    return rate


def clean_day(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"“{text[:30]}” is not a date (YYYY-MM-DD).") from None


@dataclass(frozen=True)
class FxItem:
    """One rate to write: ``1 base = rate quote`` on ``day`` (values as given: cleaned by the service)."""

    day: Any
    base: Any
    quote: Any
    rate: Any


@dataclass(frozen=True)
class FxError:
    index: int  # position in the list given to fx_rates_upsert
    field: str  # day, base, quote or rate
    message: str


@dataclass
class FxUpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[FxError] = field(default_factory=list)  # when any: nothing was written
    rates: list[FxRate] = field(default_factory=list)  # the rows written or found, in item order


Key = tuple[datetime.date, str, str]


def _clean(index: int, item: FxItem, errors: list[FxError]) -> tuple[Key, Decimal] | None:
    values: dict[str, Any] = {}
    for name, cleaner in (("day", clean_day), ("base", clean_currency), ("quote", clean_currency)):
        try:
            values[name] = cleaner(getattr(item, name))
        except ValueError as exc:
            errors.append(FxError(index, name, str(exc)))
    try:
        values["rate"] = clean_rate(item.rate)
    except ValueError as exc:
        errors.append(FxError(index, "rate", str(exc)))
    if "base" in values and values["base"] == values.get("quote"):
        errors.append(FxError(index, "quote", "The quote currency is the base currency."))
        return None
    if len(values) < 4:
        return None
    return (values["day"], values["base"], values["quote"]), values["rate"]


@dataclass(frozen=True)
class Stored:
    """A stored rate, as the check reads it (plain values: no model instance per row)."""

    id: int
    rate: Decimal


@dataclass(frozen=True)
class Planned:
    """What writing one item does: create it (``stored`` None), or replace ``stored`` with ``rate``."""

    index: int  # position in the list checked
    key: Key
    rate: Decimal
    stored: Stored | None


@dataclass
class FxCheck:
    """The one check of a list against the stored rates: the writes it plans, the items already stored
    as given (``unchanged``, by index) and the errors (any: nothing may be written)."""

    planned: list[Planned] = field(default_factory=list)
    unchanged: dict[int, Stored] = field(default_factory=dict)
    errors: list[FxError] = field(default_factory=list)


def _existing(actor: Actor, keys: Sequence[Key]) -> dict[Key, Stored]:
    """The stored rates of these days and pairs (one query over the days' range, plain values)."""
    if not keys:
        return {}
    wanted = set(keys)
    days = [key[0] for key in keys]
    with unscoped():
        rows = FxRate.objects.filter(
            workspace_id=actor.workspace_id, day__gte=min(days), day__lte=max(days)
        ).values_list("id", "day", "base", "quote", "rate")
        return {key: Stored(pk, rate) for pk, *parts, rate in rows if (key := tuple(parts)) in wanted}  # type: ignore[misc]


def fx_rates_check(*, actor: Actor, items: Sequence[FxItem], overwrite: bool = False) -> FxCheck:
    """Clean ``items`` and compare them with the stored rates, once (see the module doc); writes nothing."""
    require_fx_writer(actor)
    check = FxCheck()
    cleaned: list[tuple[int, Key, Decimal]] = []
    for index, item in enumerate(items):
        found = _clean(index, item, check.errors)
        if found is not None:
            cleaned.append((index, *found))
    existing = _existing(actor, [key for _, key, _ in cleaned])
    seen: dict[Key, int] = {}
    for index, key, rate in cleaned:
        day, base, quote = key
        if key in seen:
            message = f"{base}→{quote} of {day.isoformat()} is given twice (item {seen[key] + 1})."
            check.errors.append(FxError(index, "quote", message))
            continue
        seen[key] = index
        current = existing.get(key)
        if current is None:
            check.planned.append(Planned(index, key, rate, None))
        elif current.rate == rate:
            check.unchanged[index] = current
        elif not overwrite:
            message = (
                f"{base}→{quote} of {day.isoformat()} is stored as {rate_text(current.rate)}; this "
                f"says {rate:f}. To change it, choose to replace stored rates (overwrite)."
            )
            check.errors.append(FxError(index, "rate", message))
        else:
            check.planned.append(Planned(index, key, rate, current))
    check.errors.sort(key=lambda e: e.index)
    return check


def rate_text(rate: Decimal) -> str:
    text = f"{rate:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fx_rates_upsert(
    *,
    actor: Actor,
    items: Sequence[FxItem],
    source: str,
    overwrite: bool = False,
    dry_run: bool = False,
) -> FxUpsertResult:
    """Write ``items`` (see the module doc): all of them or none; ``dry_run`` only counts. Every rate
    written has its own audit entry (a file import writes one per import: ``services.bulk``)."""
    if source not in FxSource.values:
        raise ValueError(f"Unknown rate source {source!r}")
    check = fx_rates_check(actor=actor, items=items, overwrite=overwrite)
    result = FxUpsertResult(errors=check.errors)
    if check.errors:
        return result
    ids = [p.stored.id for p in check.planned if p.stored] + [s.id for s in check.unchanged.values()]
    with unscoped():
        stored = FxRate.objects.in_bulk(ids) if ids else {}
    creates: list[FxRate] = []
    updates: list[tuple[FxRate, dict[str, Any]]] = []
    rows: dict[int, FxRate] = {index: stored[s.id] for index, s in check.unchanged.items()}
    for plan in check.planned:
        if plan.stored is None:
            day, base, quote = plan.key
            row = FxRate(
                workspace_id=actor.workspace_id,
                day=day,
                base=base,
                quote=quote,
                rate=plan.rate,
                source=source,
            )
            row.created_by_id = actor.user_id
            creates.append(row)
        else:
            row = stored[plan.stored.id]
            before = snapshot(row)
            row.rate, row.source = plan.rate, source
            updates.append((row, before))
        rows[plan.index] = row
    result.rates = [rows[index] for index in sorted(rows)]
    result.created, result.updated, result.unchanged = len(creates), len(updates), len(check.unchanged)
    if not dry_run and (creates or updates):
        _write(actor, creates, updates)
    return result


COMMISSIONS_JOB = "openprm.commissions.tasks.accrue_recent"  # a higher layer: named, not imported


def rates_changed(workspace_id: int) -> None:
    """After commit, the commissions accrual retries the sources that waited for a rate."""
    enqueue_after_commit(COMMISSIONS_JOB, workspace_id=workspace_id, coalesce=5.0)


@transaction.atomic
def _write(actor: Actor, creates: list[FxRate], updates: list[tuple[FxRate, dict[str, Any]]]) -> None:
    with unscoped():
        FxRate.objects.bulk_create(creates, batch_size=2000)
        now = timezone.now()
        for row, _ in updates:
            row.updated_at = now
        if updates:
            FxRate.objects.bulk_update(
                [row for row, _ in updates], ["rate", "source", "updated_at"], batch_size=2000
            )
    entries = [_entry(actor, AuditEntry.Action.CREATE, row, {}) for row in creates] + [
        _entry(actor, AuditEntry.Action.UPDATE, row, before) for row, before in updates
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=2000)
    rates_changed(actor.workspace_id)


def _entry(actor: Actor, action: str, row: FxRate, before: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=action,
        object_type=row._meta.label_lower,
        object_id=row.public_id,
        object_repr=str(row)[:300],
        changes=diff(before, snapshot(row)),
    )


def fx_rate_enter(
    *, actor: Actor, day: Any, base: Any, quote: Any, rate: Any, overwrite: bool = False
) -> FxRate:
    """A manual rate (the page's form, the API): a ValidationError naming the field when it is bad or —
    unless ``overwrite`` — differs from the rate stored for the day and pair; the same rate again is a
    no-op."""
    done = fx_rates_upsert(
        actor=actor,
        items=[FxItem(day=day, base=base, quote=quote, rate=rate)],
        source=FxSource.MANUAL,
        overwrite=overwrite,
    )
    if done.errors:
        raise ValidationError({error.field: error.message for error in done.errors})
    return done.rates[0]


@transaction.atomic
def fx_rate_delete(*, actor: Actor, instance: FxRate) -> None:
    require_fx_writer(actor)
    audited_delete(actor=actor, instance=instance)


__all__ = [
    "FxCheck",
    "FxError",
    "FxItem",
    "FxUpsertResult",
    "Planned",
    "Stored",
    "clean_currency",
    "clean_day",
    "clean_rate",
    "fx_rate_delete",
    "fx_rate_enter",
    "fx_rates_check",
    "fx_rates_upsert",
    "require_fx_writer",
]
