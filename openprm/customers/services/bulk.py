"""Batch writes of the customers app (the CSV imports, the demo): a list of items, all written or — when
any item is bad — none, with every problem reported by the item's position. The same rules, audit
entries and partner moves as the single-object services of ``records``.

Items use the services' field names plus references by external id: ``partner_external_id`` (accounts),
``account_external_id`` (changes, CSAT answers, usage). Accounts, changes and CSAT answers are matched by
their ``external_id`` (required here: re-importing a file changes nothing); usage months by account and
month. A key present in an item sets the field, blank clears an optional one; an absent key leaves it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, diff, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.customers.services.clean import (
    account_clean,
    change_clean,
    clean_date,
    csat_clean,
    first_of_month,
    usage_clean,
)
from openprm.customers.services.records import move_account_records, require_write
from openprm.partners.models import Partner

M = TypeVar("M", bound=models.Model)
Item = dict[str, Any]


@dataclass(frozen=True)
class ItemError:
    index: int  # position in the list of items
    field: str
    message: str


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ItemError] | None = None  # set (and nothing written) when any item is bad
    actions: list[str] = field(default_factory=list)  # per item: create, update, unchanged or reject


@dataclass
class _Planned:
    index: int
    current: Any  # the row to update, or None: create
    values: dict[str, Any]


class _Batch:
    """Collects the plan and the errors of one list of items."""

    def __init__(self, count: int) -> None:
        self.plan: list[_Planned] = []
        self.errors: list[ItemError] = []
        self.bad: set[int] = set()
        self.count = count

    def error(self, index: int, key: str, message: str) -> None:
        self.errors.append(ItemError(index, key, message))
        self.bad.add(index)

    def invalid(self, index: int, exc: ValidationError) -> None:
        for key, messages in exc.message_dict.items():
            self.error(index, key, " ".join(messages))


def _text(item: Item, key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value).strip()


def _require_import(actor: Actor) -> None:
    require_write(actor)
    actor.require(Perm.PARTNER_IMPORT)


def _by_external_id(actor: Actor, model: type[M], ids: set[str]) -> tuple[dict[str, M], set[str]]:
    """The rows of ``model`` the actor may see with these external ids, and the ids taken by rows it may
    not see (restricted staff: another owner's partner)."""
    visible = {row.external_id: row for row in model._default_manager.filter(external_id__in=ids)}  # type: ignore[attr-defined]
    with unscoped():
        taken = set(
            model._default_manager.filter(workspace_id=actor.workspace_id, external_id__in=ids).values_list(
                "external_id", flat=True
            )
        )
    return visible, taken - set(visible)


def _accounts_by_ref(items: Sequence[Item]) -> dict[str, CustomerAccount]:
    refs = {_text(item, "account_external_id") for item in items} - {""}
    queryset = CustomerAccount.objects.select_related("partner").filter(external_id__in=refs)
    return {account.external_id or "": account for account in queryset}


def _finish(actor: Actor, model: type[models.Model], batch: _Batch, dry_run: bool) -> UpsertResult:
    """Write the plan (unless dry run): creates in bulk with their audit entries, updates one by one."""
    result = UpsertResult(actions=["reject"] * batch.count)
    if batch.errors:  # nothing is written; the good items still say what they would do
        result.errors = batch.errors
        dry_run = True
    creates: list[models.Model] = []
    entries: list[AuditEntry] = []
    with transaction.atomic():
        for planned in batch.plan:
            if planned.current is None:
                result.created += 1
                result.actions[planned.index] = "create"
                instance = model(workspace_id=actor.workspace_id, **planned.values)
                creates.append(instance)
                entries.append(_create_entry(actor, instance))
                continue
            current = planned.current
            before = snapshot(current)
            moved = isinstance(current, CustomerAccount) and (
                "partner" in planned.values and planned.values["partner"].pk != current.partner_id
            )
            apply_values(current, planned.values)
            after = snapshot(current)
            if after == before:
                result.unchanged += 1
                result.actions[planned.index] = "unchanged"
                continue
            result.updated += 1
            result.actions[planned.index] = "update"
            if not dry_run:
                current.save()
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.UPDATE,
                    instance=current,
                    before=before,
                    after=after,
                    partner_id=current.partner_id,
                )
                if moved:
                    move_account_records(current)
        if not dry_run and creates:
            model._default_manager.bulk_create(creates, batch_size=1000)
            AuditEntry.objects.bulk_create(entries, batch_size=1000)
    if result.errors:
        result.created = result.updated = result.unchanged = 0
    return result


def _create_entry(actor: Actor, instance: models.Model) -> AuditEntry:
    return AuditEntry(
        workspace_id=actor.workspace_id,
        partner_id=getattr(instance, "partner_id", None),
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=AuditEntry.Action.CREATE,
        object_type=instance._meta.label_lower,
        object_id=instance.public_id,  # type: ignore[attr-defined]
        object_repr=str(instance)[:300],
        changes=diff({}, snapshot(instance)),
    )


def _keyed(
    actor: Actor,
    model: type[M],
    items: Sequence[Item],
    batch: _Batch,
    plan_item: Callable[[int, Item, M | None], None],
) -> None:
    """Plan items matched by their required ``external_id``."""
    ids = {_text(item, "external_id") for item in items} - {""}
    found, hidden = _by_external_id(actor, model, ids)
    for index, item in enumerate(items):
        external_id = _text(item, "external_id")
        if not external_id:
            batch.error(index, "external_id", "This field is required (it makes re-imports safe).")
            continue
        if len(external_id) > 100:
            batch.error(index, "external_id", f"At most 100 characters (got {len(external_id)}).")
            continue
        if external_id in hidden:
            batch.error(index, "external_id", f"'{external_id}' belongs to a record you may not change.")
            continue
        plan_item(index, item, found.get(external_id))


def accounts_upsert(*, actor: Actor, items: Sequence[Item], dry_run: bool = False) -> UpsertResult:
    _require_import(actor)
    batch = _Batch(len(items))
    refs = {_text(item, "partner_external_id") for item in items} - {""}
    partners = {p.external_id: p for p in Partner.objects.filter(external_id__in=refs)}

    def plan_item(index: int, item: Item, current: CustomerAccount | None) -> None:
        partner = None
        ref = _text(item, "partner_external_id")
        if ref:
            partner = partners.get(ref)
            if partner is None:
                batch.error(index, "partner_external_id", f"No partner with the external id '{ref}'.")
        elif current is None or "partner_external_id" in item:
            batch.error(index, "partner_external_id", "This field is required.")
        if (
            partner is not None
            and partner.archived_at is not None
            and partner.pk != getattr(current, "partner_id", None)
        ):
            batch.error(index, "partner_external_id", partner.archived_message)
        try:
            values = account_clean(data=item, current=current)
        except ValidationError as exc:
            batch.invalid(index, exc)
            return
        if index in batch.bad:
            return
        if partner is not None:
            values["partner"] = partner
        batch.plan.append(_Planned(index, current, values))

    _keyed(actor, CustomerAccount, items, batch, plan_item)
    return _finish(actor, CustomerAccount, batch, dry_run)


def _account_of(
    batch: _Batch, accounts: dict[str, CustomerAccount], index: int, item: Item, required: bool
) -> CustomerAccount | None:
    ref = _text(item, "account_external_id")
    if not ref:
        if required:
            batch.error(index, "account_external_id", "This field is required.")
        return None
    account = accounts.get(ref)
    if account is None:
        batch.error(index, "account_external_id", f"No customer account with the external id '{ref}'.")
    return account


def changes_upsert(*, actor: Actor, items: Sequence[Item], dry_run: bool = False) -> UpsertResult:
    _require_import(actor)
    batch = _Batch(len(items))
    accounts = _accounts_by_ref(items)

    def plan_item(index: int, item: Item, current: AccountChange | None) -> None:
        account = _account_of(batch, accounts, index, item, current is None or "account_external_id" in item)
        try:
            values = change_clean(data=item, current=current)
        except ValidationError as exc:
            batch.invalid(index, exc)
            return
        if index in batch.bad:
            return
        if account is not None:
            values.update(account=account, partner=account.partner)
        batch.plan.append(_Planned(index, current, values))

    _keyed(actor, AccountChange, items, batch, plan_item)
    return _finish(actor, AccountChange, batch, dry_run)


def csat_upsert(*, actor: Actor, items: Sequence[Item], dry_run: bool = False) -> UpsertResult:
    """CSAT answers: with an ``account_external_id`` a partner-channel answer about that account, without
    one a direct-channel answer (the baseline; restricted staff may not write those)."""
    _require_import(actor)
    batch = _Batch(len(items))
    accounts = _accounts_by_ref(items)

    def plan_item(index: int, item: Item, current: CsatResponse | None) -> None:
        account = _account_of(batch, accounts, index, item, False)
        has_account = (
            bool(_text(item, "account_external_id"))
            if (current is None or "account_external_id" in item)
            else current.account_id is not None
        )
        if not has_account and actor.owned_only:
            batch.error(
                index, "account_external_id", "Staff restricted to their own partners name an account."
            )
        try:
            values = csat_clean(data=item, current=current, has_account=has_account)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                batch.error(index, "account_external_id" if key == "account" else key, " ".join(messages))
            return
        if index in batch.bad:
            return
        if current is None or "account_external_id" in item:
            values.update(account=account, partner=account.partner if account else None)
        batch.plan.append(_Planned(index, current, values))

    _keyed(actor, CsatResponse, items, batch, plan_item)
    return _finish(actor, CsatResponse, batch, dry_run)


def usage_upsert(*, actor: Actor, items: Sequence[Item], dry_run: bool = False) -> UpsertResult:
    """Usage months, matched by account and month: a month given again replaces its figures."""
    _require_import(actor)
    batch = _Batch(len(items))
    accounts = _accounts_by_ref(items)
    months = set()
    for item in items:
        month = clean_date({}, "month", item.get("month"), required=True)
        if month is not None:
            months.add(first_of_month(month))
    existing = {
        (record.account_id, record.month): record
        for record in UsageRecord.objects.filter(
            account_id__in=[a.pk for a in accounts.values()], month__in=months
        )
    }
    for index, item in enumerate(items):
        account = _account_of(batch, accounts, index, item, True)
        month = clean_date({}, "month", item.get("month"), required=True)
        current = existing.get((account.pk, first_of_month(month))) if account and month else None
        try:
            values = usage_clean(data={**item, "month": item.get("month")}, current=current)
        except ValidationError as exc:
            batch.invalid(index, exc)
            continue
        if index in batch.bad or account is None:
            continue
        values.update(account=account, partner=account.partner)
        batch.plan.append(_Planned(index, current, values))
    return _finish(actor, UsageRecord, batch, dry_run)


__all__ = [
    "ItemError",
    "UpsertResult",
    "accounts_upsert",
    "changes_upsert",
    "csat_upsert",
    "usage_upsert",
]
