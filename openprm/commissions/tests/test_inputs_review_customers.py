"""The same customer's later sales re-checked when an earlier sale changes (``inputs.later_sales``): by
index reads (customer keys read first, never an OR of subqueries over every conversion), and a first
purchase retyped counts as leaving its customer."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openprm.activity.models import Conversion
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import T0, convert, publish, total
from openprm.commissions.tests.test_corrections_engine import edit
from openprm.commissions.tests.test_inputs_changes import NEW_CUSTOMERS
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.timedelta(days=1)


def _age(*objs: Conversion) -> datetime.datetime:
    """Make these rows look written a day ago; the moment a catch-up reads changes after."""
    moment = timezone.now()
    with unscoped():
        for o in objs:
            Conversion.objects.filter(pk=o.pk).update(updated_at=moment - DAY)
    return moment - datetime.timedelta(seconds=1)


def test_late_first_purchase_rechecks_later_sale_by_index_reads(world):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    sale = convert(world, "1000", at=T0 + 10 * DAY, customer="cust-1")
    accrual.accrue(workspace_id=ws)
    assert total(source_id=sale.pk) == D("300.00")  # a new customer's
    since = _age(sale)
    convert(world, "500", at=T0, customer="cust-1")  # an earlier purchase arrives late
    with CaptureQueriesContext(connection) as seen:
        accrual.accrue(workspace_id=ws, changed_after=since)
    assert total(source_id=sale.pk) == D("100.00")  # no longer a new customer's sale
    statements = [q["sql"] for q in seen.captured_queries]
    # the customers' sales are read by their keys (an index each), never an OR of subqueries
    assert not [
        s for s in statements if "customer_external_id" in s and 'customer_email_hash" IN (SELECT' in s
    ]
    assert not [
        s
        for s in statements
        if "commissions_ledgerentry" in s and "activity_conversion" in s and "customer" in s
    ]


@pytest.mark.parametrize("run", ["catch_up", "ids"])
def test_first_purchase_retyped_leaves_its_customer(world, run):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    early = convert(world, "500", at=T0, customer="cust-2")
    later = convert(world, "1000", at=T0 + 10 * DAY, customer="cust-2")
    accrual.accrue(workspace_id=ws)
    assert total(source_id=later.pk) == D("100.00")
    since = _age(early, later)
    edit(Conversion, early, kind="signup")  # no longer a purchase: the later sale is the first
    if run == "ids":
        accrual.accrue(workspace_id=ws, conversion_ids=[early.pk])  # the after-commit run
    else:
        accrual.accrue(workspace_id=ws, changed_after=since)  # the catch-up
    assert total(source_id=later.pk) == D("300.00")


@pytest.mark.parametrize("run", ["catch_up", "ids"])
def test_first_purchase_given_another_customer_id_leaves_its_customer(world, run):
    publish(world, NEW_CUSTOMERS)
    ws = world.workspace.pk
    early = convert(world, "500", at=T0, customer="cust-3")
    later = convert(world, "1000", at=T0 + 10 * DAY, customer="cust-3")
    accrual.accrue(workspace_id=ws)
    assert total(source_id=later.pk) == D("100.00")
    since = _age(early, later)
    edit(Conversion, early, customer_external_id="cust-OTHER")  # the old customer's first is the later
    if run == "ids":
        accrual.accrue(workspace_id=ws, conversion_ids=[early.pk])
    else:
        accrual.accrue(workspace_id=ws, changed_after=since)
    assert total(source_id=later.pk) == D("300.00")
    assert total(source_id=early.pk) == D("150.00")  # still the first of its (new) customer
