"""The database refuses edits of a ledger entry's amounts, backward state moves, and changes to a
published plan version (triggers on both databases, deletes included)."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from openprm.commissions.models import LedgerEntry, Plan, PlanVersion
from openprm.core.scoping import unscoped
from openprm.testing import World


def _entry(world: World) -> LedgerEntry:
    return LedgerEntry.objects.create(
        workspace=world.workspace,
        partner=world.partner_a,
        kind="accrual",
        source_kind="manual",
        idempotency_key="guard-1",
        occurred_at=timezone.now(),
        period=datetime.date(2026, 1, 1),
        base_amount=Decimal("100.00"),
        base_currency="USD",
        amount=Decimal("10.00"),
        currency="USD",
    )


def _refused(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseError), transaction.atomic():
        fn()


@pytest.mark.django_db
def test_ledger_amounts_are_fixed_and_states_move_forward(world: World) -> None:
    with unscoped():
        entry = _entry(world)
        rows = LedgerEntry.objects.filter(pk=entry.pk)
        _refused(lambda: rows.update(amount=Decimal("11.00")))
        _refused(lambda: rows.update(explanation={"edited": True}))
        _refused(lambda: rows.update(state="paid"))  # pending → paid skips approval
        rows.update(state="approved", approved_at=timezone.now())
        _refused(lambda: rows.update(state="pending"))
        rows.update(state="paid", paid_at=timezone.now())
        _refused(lambda: rows.update(rejected_reason="late"))
        entry.refresh_from_db()
        assert (entry.amount, entry.state) == (Decimal("10.00"), "paid")
        _refused(lambda: rows.delete())
        _refused(lambda: rows._raw_delete(connection.alias))
        assert rows.exists()


@pytest.mark.django_db
def test_published_version_is_never_changed(world: World) -> None:
    with unscoped():
        plan = Plan.objects.create(workspace=world.workspace, name="Resale")
        version = PlanVersion.objects.create(
            workspace=world.workspace, plan=plan, number=1, effective_from=datetime.date(2026, 1, 1)
        )
        rows = PlanVersion.objects.filter(pk=version.pk)
        rows.update(rules={"rules": []})  # a draft is edited freely
        rows.update(status="published", published_at=timezone.now())
        _refused(lambda: rows.update(rules={"rules": [{"key": "x"}]}))
        _refused(lambda: rows.update(effective_from=datetime.date(2025, 1, 1)))
        _refused(lambda: rows._raw_delete(connection.alias))
        assert rows.exists()


@pytest.mark.django_db
def test_approval_columns_change_only_with_the_state_and_a_reserved_entry_is_never_rejected(
    world: World,
) -> None:
    from openprm.commissions.models import PayoutItem, PayoutRun

    with unscoped():
        entry = _entry(world)
        rows = LedgerEntry.objects.filter(pk=entry.pk)
        rows.update(state="approved", approved_at=timezone.now())
        _refused(lambda: rows.update(approved_at=timezone.now() - datetime.timedelta(days=9)))
        _refused(lambda: rows.update(approved_by_id=world.finance.pk))
        run = PayoutRun.objects.create(
            workspace=world.workspace, currency="USD", cutoff=datetime.date(2026, 2, 1)
        )
        item = PayoutItem.objects.create(
            workspace=world.workspace, run=run, partner=world.partner_a, amount=Decimal("10"), currency="USD"
        )
        rows.update(paid_item=item)
        _refused(lambda: rows.update(state="rejected", rejected_at=timezone.now()))
        assert rows.get().state == "approved"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_test_flush_still_empties_the_ledger(world: World) -> None:
    with unscoped():
        _entry(world)  # the flush after this test deletes it through the test-only bypass


@pytest.mark.django_db
def test_the_fx_rate_is_stored_as_used_and_the_guards_survive_the_column_change(world: World) -> None:
    with unscoped():
        entry = _entry(world)
        rows = LedgerEntry.objects.filter(pk=entry.pk)
        rate = Decimal("0.91234567890123")
        other = LedgerEntry.objects.create(
            **{
                f.attname: getattr(entry, f.attname)
                for f in LedgerEntry._meta.concrete_fields
                if f.attname != "id"
            }
            | {"public_id": uuid.uuid4(), "idempotency_key": "guard-2", "fx_rate": rate}
        )
        other.refresh_from_db()
        assert other.fx_rate == rate
        _refused(lambda: rows.update(amount=Decimal("11.00")))
        _refused(lambda: rows._raw_delete(connection.alias))
