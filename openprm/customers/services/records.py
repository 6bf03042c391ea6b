"""Single-object writes of the customers app: accounts, their changes, CSAT answers and usage months.

Staff who may edit partners (admins, partner managers) write; restricted staff only for the partners
they own (the scoped lookups of the callers and of ``_account_partner`` refuse the others); partner users
read only. Every write is atomic and audited under the account's partner.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.customers.services.clean import account_clean, change_clean, csat_clean, usage_clean
from openprm.partners.models import Partner


def require_write(actor: Actor) -> None:
    actor.require(Perm.PARTNER_EDIT)
    if not actor.is_staff:
        raise PermissionDenied("Only staff record customer accounts")


def _check_partner(partner: Partner) -> None:
    if partner.archived_at is not None:
        raise ValidationError({"partner": partner.archived_message})


def _external_id_free(actor: Actor, model: Any, external_id: str | None, exclude_pk: int | None) -> None:
    """Refuse an external id another row of ``model`` in the workspace has (seen or not by the actor)."""
    if not external_id:
        return
    with unscoped():
        clash = model.objects.filter(workspace_id=actor.workspace_id, external_id=external_id)
        if exclude_pk is not None:
            clash = clash.exclude(pk=exclude_pk)
        if clash.exists():
            raise ValidationError({"external_id": f"The external id '{external_id}' is already taken."})


# --- accounts ------------------------------------------------------------------------------------------


@transaction.atomic
def account_create(*, actor: Actor, partner: Partner, data: dict[str, Any]) -> CustomerAccount:
    require_write(actor)
    _check_partner(partner)
    values = account_clean(data=data, current=None)
    _external_id_free(actor, CustomerAccount, values.get("external_id"), None)
    account = CustomerAccount(workspace_id=actor.workspace_id, partner=partner, **values)
    account.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=account,
        after=snapshot(account),
        partner_id=partner.pk,
    )
    return account


def move_account_records(account: CustomerAccount) -> None:
    """Give the account's changes, CSAT answers and usage months its (new) managing partner."""
    for model in (AccountChange, CsatResponse, UsageRecord):
        model.objects.filter(account=account).exclude(partner_id=account.partner_id).update(
            partner_id=account.partner_id
        )


@transaction.atomic
def account_update(
    *, actor: Actor, account: CustomerAccount, data: dict[str, Any], partner: Partner | None = None
) -> CustomerAccount:
    """Change an account; ``partner`` moves it (with its records) to another managing partner."""
    require_write(actor)
    values = account_clean(data=data, current=account)
    if "external_id" in values:
        _external_id_free(actor, CustomerAccount, values["external_id"], account.pk)
    moved = partner is not None and partner.pk != account.partner_id
    if partner is not None and moved:
        _check_partner(partner)
        values["partner"] = partner
    with audited_change(actor=actor, instance=account, partner_id=account.partner_id):
        apply_values(account, values)
        account.save()
    if moved:
        move_account_records(account)
    return account


@transaction.atomic
def account_delete(*, actor: Actor, account: CustomerAccount) -> None:
    """Delete an account with its changes, CSAT answers and usage months."""
    require_write(actor)
    audited_delete(actor=actor, instance=account, partner_id=account.partner_id)


# --- account changes -----------------------------------------------------------------------------------


@transaction.atomic
def change_create(*, actor: Actor, account: CustomerAccount, data: dict[str, Any]) -> AccountChange:
    require_write(actor)
    values = change_clean(data=data, current=None)
    _external_id_free(actor, AccountChange, values.get("external_id"), None)
    change = AccountChange(
        workspace_id=actor.workspace_id, partner_id=account.partner_id, account=account, **values
    )
    change.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=change,
        after=snapshot(change),
        partner_id=account.partner_id,
    )
    return change


@transaction.atomic
def change_update(*, actor: Actor, change: AccountChange, data: dict[str, Any]) -> AccountChange:
    require_write(actor)
    values = change_clean(data=data, current=change)
    if "external_id" in values:
        _external_id_free(actor, AccountChange, values["external_id"], change.pk)
    with audited_change(actor=actor, instance=change, partner_id=change.partner_id):
        apply_values(change, values)
        change.save()
    return change


@transaction.atomic
def change_delete(*, actor: Actor, change: AccountChange) -> None:
    require_write(actor)
    audited_delete(actor=actor, instance=change, partner_id=change.partner_id)


# --- CSAT answers --------------------------------------------------------------------------------------


@transaction.atomic
def csat_create(*, actor: Actor, account: CustomerAccount | None, data: dict[str, Any]) -> CsatResponse:
    """Record an answer: about a partner-managed ``account``, or (none) from the direct channel."""
    require_write(actor)
    if account is None and actor.owned_only:
        raise PermissionDenied("Staff restricted to their own partners record answers of their accounts")
    values = csat_clean(data=data, current=None, has_account=account is not None)
    _external_id_free(actor, CsatResponse, values.get("external_id"), None)
    answer = CsatResponse(
        workspace_id=actor.workspace_id,
        account=account,
        partner_id=account.partner_id if account else None,
        **values,
    )
    answer.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=answer,
        after=snapshot(answer),
        partner_id=answer.partner_id,
    )
    return answer


@transaction.atomic
def csat_update(*, actor: Actor, answer: CsatResponse, data: dict[str, Any]) -> CsatResponse:
    require_write(actor)
    values = csat_clean(data=data, current=answer, has_account=answer.account_id is not None)
    if "external_id" in values:
        _external_id_free(actor, CsatResponse, values["external_id"], answer.pk)
    with audited_change(actor=actor, instance=answer, partner_id=answer.partner_id):
        apply_values(answer, values)
        answer.save()
    return answer


@transaction.atomic
def csat_delete(*, actor: Actor, answer: CsatResponse) -> None:
    require_write(actor)
    audited_delete(actor=actor, instance=answer, partner_id=answer.partner_id)


# --- usage ---------------------------------------------------------------------------------------------


@transaction.atomic
def usage_record(*, actor: Actor, account: CustomerAccount, data: dict[str, Any]) -> tuple[UsageRecord, bool]:
    """Set the account's usage of a month (the month's record is created or replaced); returns the record
    and whether it was created."""
    require_write(actor)
    values = usage_clean(data=data, current=None)
    current = UsageRecord.objects.filter(account=account, month=values["month"]).first()
    if current is None:
        record = UsageRecord(
            workspace_id=actor.workspace_id, partner_id=account.partner_id, account=account, **values
        )
        record.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            instance=record,
            after=snapshot(record),
            partner_id=account.partner_id,
        )
        return record, True
    with audited_change(actor=actor, instance=current, partner_id=current.partner_id):
        apply_values(current, values)
        current.save()
    return current, False


@transaction.atomic
def usage_update(*, actor: Actor, record: UsageRecord, data: dict[str, Any]) -> UsageRecord:
    require_write(actor)
    values = usage_clean(data=data, current=record)
    month = values.get("month")
    if (
        month is not None
        and month != record.month
        and UsageRecord.objects.filter(account_id=record.account_id, month=month).exists()
    ):
        raise ValidationError({"month": f"The account already has usage for {values['month']:%Y-%m}."})
    with audited_change(actor=actor, instance=record, partner_id=record.partner_id):
        apply_values(record, values)
        record.save()
    return record


@transaction.atomic
def usage_delete(*, actor: Actor, record: UsageRecord) -> None:
    require_write(actor)
    audited_delete(actor=actor, instance=record, partner_id=record.partner_id)
