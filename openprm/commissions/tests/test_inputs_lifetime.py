"""The partner's lifetime amount re-checked where a run's reads end: a date-range run (``accrue_range``)
whose late sale lifts a later event outside the range, and a late sale waiting for its exchange rate whose
later events are re-checked once the rate arrives."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.models import AccrualState
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import entries, publish, total
from openprm.commissions.tests.test_lifetime_accrual import LOYALTY, at, rate
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db
D = Decimal


def sale(world, amount: str, when: datetime.datetime, currency: str = "USD") -> Conversion:
    with unscoped():
        return Conversion.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            kind="purchase",
            occurred_at=when,
            amount=D(amount),
            currency=currency,
            idempotency_key=f"s-{amount}-{when:%m%d}-{currency}",
        )


def test_a_range_run_re_checks_the_later_events_outside_its_range(world):
    publish(world, LOYALTY)
    ws = world.workspace.pk
    sale(world, "90000.00", at(3, 2))
    april = sale(world, "20000.00", at(4, 5))  # lifetime 90,000: no extra
    accrual.accrue(workspace_id=ws)
    assert total() == D("11000.00")
    sale(world, "15000.00", at(3, 20))  # arrives late
    accrual.accrue_range(workspace_id=ws, start=at(3, 1, 0), end=at(4, 1, 0))  # March only
    assert total(source_id=april.pk) == D("2400.00")  # 10% + the extra 2% of 20,000
    assert total() == D("12900.00")


def test_a_late_sale_waiting_for_its_rate_re_checks_the_later_events_once_it_arrives(world):
    publish(world, LOYALTY)
    ws = world.workspace.pk
    sale(world, "90000.00", at(3, 2))
    april = sale(world, "20000.00", at(4, 5))
    accrual.accrue(workspace_id=ws)
    assert total() == D("11000.00")
    late = sale(world, "15000.00", at(3, 20), currency="GBP")  # no GBP rate on its day yet
    accrual.accrue(workspace_id=ws, conversion_ids=[late.pk])
    assert entries(source_id=late.pk) == []
    assert total(source_id=april.pk) == D("2000.00")
    accrual.accrue_catch_up(workspace_id=ws)  # still no rate: it waits
    assert entries(source_id=late.pk) == [] and total(source_id=april.pk) == D("2000.00")
    with unscoped():  # written long before the next catch-up's window: only the waiting list finds it
        old = timezone.now() - datetime.timedelta(days=1)
        Conversion.objects.filter(pk__in=[late.pk, april.pk]).update(updated_at=old)
        AccrualState.objects.filter(workspace_id=ws).update(deals_changed_after=timezone.now())
    rate(world, at(3, 20), "GBP", "1.3")  # 19,500: 109,500 before April 5
    accrual.accrue_catch_up(workspace_id=ws)
    assert total(source_id=late.pk) == D("1950.00")
    assert total(source_id=april.pk) == D("2400.00")
