"""The lifetime amount's properties: for any sales and refunds, every event reads the sum of the sales of
the days before its own net of the refunds of those days; the accrual reads it in a number of queries that
does not grow with the events; without a rule testing it, nothing is read."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.commissions.models import PlanVersion
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import PERCENT_20, convert, entries, publish
from openprm.commissions.tests.test_lifetime_accrual import LOYALTY, at
from openprm.core.scoping import unscoped
from openprm.testing import World, make_partner

pytestmark = pytest.mark.django_db
D = Decimal
DAY0 = at(3, 1)
MARK = 'ABS("ACTIVITY_CONVERSION"."AMOUNT")'  # in the lifetime totals' refunds query only


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=9),  # the sale's day
            st.decimals(min_value=D("1"), max_value=D("90000"), places=2),
            st.one_of(
                st.none(), st.tuples(st.integers(min_value=0, max_value=4), st.sampled_from([3, 2, 1]))
            ),
        ),
        min_size=1,
        max_size=7,
    )
)
def test_every_event_reads_the_sales_of_the_days_before_net_of_their_refunds(
    world: World, sales: list[tuple[int, Decimal, tuple[int, int] | None]]
) -> None:
    with unscoped():
        if not PlanVersion.objects.exists():
            publish(world, LOYALTY)
        partner = make_partner(
            world.system, f"Example {uuid.uuid4().hex[:8]}", tiers={"Partner Program": "Silver"}
        )
    flows: list[tuple[int, Decimal]] = []  # (day it happened, signed amount)
    events: dict[int, int] = {}  # conversion id → its day
    for i, (day, amount, refund) in enumerate(sales):
        when = DAY0 + datetime.timedelta(days=day, minutes=i)
        sale = convert(world, str(amount), partner=partner, at=when, key=f"{partner.pk}-{i}")
        events[sale.pk] = day
        flows.append((day, amount))
        if refund is not None:
            after, part = refund
            back = (amount / part).quantize(D("0.01"))
            convert(
                world,
                str(back),
                kind="refund",
                refund_of=sale,
                partner=partner,
                at=when + datetime.timedelta(days=after),
                key=f"{partner.pk}-{i}-r",
            )
            flows.append((day + after, -back))
    accrual.accrue(workspace_id=world.workspace.pk)
    for sale_id, day in events.items():
        expected = sum((amount for when, amount in flows if when < day), D(0))
        [read] = {
            e.explanation["lifetime_amount"]
            for e in entries(source_id=sale_id, kind__in=["accrual", "bonus"])
        }
        assert read == f"{expected:.2f}"
        extra = [e.amount for e in entries(source_id=sale_id, rule_key="loyalty")]
        assert bool(extra) == (expected > 100000)


def _accrue_counting(world: World, first: int, days: int) -> tuple[int, str]:
    """Sales of both partners on ``days`` days from ``first``, accrued: (queries, their SQL)."""
    for i in range(first, first + days):
        for partner in (world.partner_a, world.partner_b):
            convert(world, "30000.00", partner=partner, at=DAY0 + datetime.timedelta(days=i, hours=i % 5))
    with CaptureQueriesContext(connection) as queries:
        accrual.accrue(workspace_id=world.workspace.pk)
    return len(queries.captured_queries), " ".join(q["sql"] for q in queries.captured_queries).upper()


def test_the_accrual_reads_the_totals_in_queries_that_do_not_grow_with_the_events(world: World) -> None:
    publish(world, LOYALTY)
    _accrue_counting(world, 0, 1)  # the first run also creates the workspace's accrual state
    few, sql = _accrue_counting(world, 1, 1)
    many, _ = _accrue_counting(world, 2, 25)  # 50 events more
    assert many == few
    assert MARK in sql  # the refunds' grouped query
    last = entries(partner=world.partner_b)[-1]
    assert last.explanation["lifetime_amount"] == "780000.00"  # 26 days of 30,000 before the 27th
    assert last.amount == D("600.00") and last.rule_key == "loyalty"


def test_without_a_rule_testing_it_nothing_is_read_and_nothing_recorded(world: World) -> None:
    publish(world, PERCENT_20)
    _, sql = _accrue_counting(world, 0, 2)
    assert MARK not in sql
    assert all("lifetime_amount" not in e.explanation for e in entries())
