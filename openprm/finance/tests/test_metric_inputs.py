"""The finance metric inputs against an independent computation (pandas) over generated rows, for several
periods (a month, a quarter, a mid-month custom range, a year) and partner subsets."""

from __future__ import annotations

import datetime
import importlib
import random
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.scoping import unscoped
from openprm.finance.models import CompanyRevenue, Invoice, PartnerCost, SellThroughLine
from openprm.finance.selectors import TOTAL, input_availability, metric_inputs, sellthrough_by_region
from openprm.finance.selectors.metric_inputs import INPUTS
from openprm.testing import make_partner

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 20)
PERIODS = [
    (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)),
    (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)),
    (datetime.date(2026, 2, 10), datetime.date(2026, 5, 9)),
    (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)),
    (datetime.date(2026, 6, 1), datetime.date(2026, 6, 30)),
]
MONTHS = [datetime.date(2025, m, 1) for m in range(10, 13)] + [datetime.date(2026, m, 1) for m in range(1, 8)]


def _frames(workspace, system) -> tuple[list[int], dict[str, pd.DataFrame]]:  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    partners = [make_partner(system, f"Partner {i}").pk for i in range(6)]
    costs, invoices, lines = [], [], []
    with unscoped():
        for pid in partners[:5]:
            for month in MONTHS:
                for category in ("fees", "enablement", "mdf", "other"):
                    if rng.random() < 0.5:
                        costs.append(
                            PartnerCost(
                                workspace=workspace,
                                partner_id=pid,
                                period=month,
                                category=category,
                                amount=Decimal(rng.randint(100, 500000)) / 100,
                            )
                        )
                for n in range(rng.randint(0, 4)):
                    issued = month + datetime.timedelta(days=rng.randint(0, 27))
                    due = issued + datetime.timedelta(days=rng.choice([14, 30, 45]))
                    paid = rng.choice(
                        [None, due - datetime.timedelta(days=3), due, due + datetime.timedelta(20)]
                    )
                    invoices.append(
                        Invoice(
                            workspace=workspace,
                            partner_id=pid,
                            number=f"INV-{pid}-{month:%Y%m}-{n}",
                            issued_on=issued,
                            due_on=due,
                            paid_on=paid,
                            amount=Decimal(rng.randint(100, 900000)) / 100,
                            currency=rng.choice(["USD", "USD", "USD", "EUR"]),
                            disputed=rng.random() < 0.2,
                            corrected=rng.random() < 0.2,
                        )
                    )
                if pid in partners[:3] and rng.random() < 0.8:
                    for sku in ("A-1", "B-2", "C-3"):
                        for region in ("EMEA", "AMER", ""):
                            if rng.random() < 0.6:
                                list_price = Decimal(rng.randint(1000, 50000)) / 100
                                factor = Decimal(rng.choice(["0.90", "0.95", "0.96", "1.00", "1.10"]))
                                lines.append(
                                    SellThroughLine(
                                        workspace=workspace,
                                        partner_id=pid,
                                        period=month,
                                        sku=sku,
                                        region=region,
                                        units_sold=rng.randint(0, 300),
                                        units_on_hand=rng.randint(0, 900),
                                        unit_price=(list_price * factor).quantize(Decimal("0.01")),
                                        list_price=list_price,
                                    )
                                )
        PartnerCost.objects.bulk_create(costs)
        Invoice.objects.bulk_create(invoices)
        SellThroughLine.objects.bulk_create(lines)
        CompanyRevenue.objects.bulk_create(
            CompanyRevenue(workspace=workspace, period=month, amount=Decimal(1000000 + i))
            for i, month in enumerate(MONTHS)
        )
    frames = {
        "costs": pd.DataFrame(
            [
                {"partner": c.partner_id, "period": c.period, "category": c.category, "amount": c.amount}
                for c in costs
            ]
        ),
        "invoices": pd.DataFrame([vars(i) for i in invoices]).rename(columns={"partner_id": "partner"}),
        "lines": pd.DataFrame([vars(line) for line in lines]).rename(columns={"partner_id": "partner"}),
        "company": pd.DataFrame(
            {"period": MONTHS, "amount": [Decimal(1000000 + i) for i in range(len(MONTHS))]}
        ),
    }
    return partners, frames


def _expected(frames: dict[str, pd.DataFrame], pids: list[int], start, end, tolerance=Decimal("0.05")):  # type: ignore[no-untyped-def]
    """Independent computation over the raw frames: per partner, then the total."""
    out: dict[int, dict[str, object]] = {}

    def put(pid: int, name: str, value: object) -> None:
        out.setdefault(pid, {})[name] = value

    costs = frames["costs"][frames["costs"].partner.isin(pids)]
    in_period = costs[(costs.period >= start) & (costs.period <= end)]
    for pid, group in costs[costs.period <= end].groupby("partner"):
        put(pid, "cost.lifetime", sum(group.amount, Decimal(0)))
        period_rows = in_period[in_period.partner == pid]
        put(pid, "cost.total", sum(period_rows.amount, Decimal(0)))
        for category in ("fees", "enablement", "mdf", "other"):
            put(
                pid, f"cost.{category}", sum(period_rows[period_rows.category == category].amount, Decimal(0))
            )
    inv = frames["invoices"][frames["invoices"].partner.isin(pids)]
    due = inv[(inv.due_on >= start) & (inv.due_on <= end)]
    issued = inv[(inv.issued_on >= start) & (inv.issued_on <= end)]
    for pid in set(due.partner) | set(issued.partner):
        d = due[due.partner == pid]
        paid = d.paid_on.apply(lambda v: v if isinstance(v, datetime.date) else None)
        put(pid, "invoices.due", len(d))
        put(pid, "invoices.paid_on_time", sum(1 for p, u in zip(paid, d.due_on, strict=True) if p and p <= u))
        put(
            pid,
            "invoices.paid_late",
            sum(1 for p, u in zip(paid, d.due_on, strict=True) if p and u < p <= end),
        )
        put(
            pid,
            "invoices.overdue_unpaid",
            sum(1 for p, u in zip(paid, d.due_on, strict=True) if (p is None or p > end) and u < TODAY),
        )
        i = issued[issued.partner == pid]
        put(pid, "invoices.issued", len(i))
        put(pid, "invoices.accurate", int((~i.disputed & ~i.corrected).sum()))
        put(pid, "invoices.disputed", int(i.disputed.sum()))
        put(pid, "invoices.disputes_corrected", int((i.disputed & i.corrected).sum()))
        put(pid, "invoices.amount", sum(i[i.currency == "USD"].amount, Decimal(0)))
    lines = frames["lines"][frames["lines"].partner.isin(pids)]
    lines = lines[(lines.period >= start) & (lines.period <= end)] if len(lines) else lines
    for pid, group in lines.groupby("partner"):
        per_month = group.groupby("period").units_on_hand.sum().sort_index()
        put(pid, "sellthrough.units_sold", int(group.units_sold.sum()))
        put(
            pid,
            "sellthrough.revenue",
            sum((u * p for u, p in zip(group.units_sold, group.unit_price, strict=True)), Decimal(0)),
        )
        put(pid, "sellthrough.lines", len(group))
        floor = [lp * (1 - tolerance) for lp in group.list_price]
        put(
            pid,
            "sellthrough.lines_compliant",
            sum(1 for p, f in zip(group.unit_price, floor, strict=True) if p >= f),
        )
        put(pid, "sellthrough.units_on_hand", int(per_month.iloc[-1]))
        put(pid, "sellthrough.units_on_hand.avg", Decimal(int(per_month.sum())) / len(per_month))
    total: dict[str, object] = {}
    for values in out.values():
        for name, value in values.items():
            total[name] = value if name not in total else total[name] + value  # type: ignore[operator]
    company = frames["company"]
    in_months = company[(company.period >= start) & (company.period <= end)]
    if len(in_months):
        total["company.revenue"] = sum(in_months.amount, Decimal(0))
    out[TOTAL] = total
    return out


def _close(actual: dict[int, dict[str, object]], expected: dict[int, dict[str, object]]) -> None:
    assert set(actual) == set(expected)
    for key, values in expected.items():
        assert set(actual[key]) == set(values), key
        for name, value in values.items():
            got = actual[key][name]
            if isinstance(value, Decimal) and name.endswith(".avg"):
                assert abs(Decimal(got) - value) < Decimal("0.05"), (key, name)  # cents, per partner  # type: ignore[arg-type]
            else:
                assert got == value, (key, name, got, value)


def test_inputs_match_an_independent_computation(workspace, system, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Both ways of reading: an IN list of the asked partners, and (past WIDE_SELECTION, set low here)
    the whole workspace with the others dropped."""
    module = importlib.import_module(
        "openprm.finance.selectors.metric_inputs"
    )  # the package's name is the function

    partners, frames = _frames(workspace, system)
    for pids, wide in ((partners, 50), (partners[1:4], 50), (partners, 2), (partners[1:4], 2)):
        monkeypatch.setattr(module, "WIDE_SELECTION", wide)
        for start, end in PERIODS:
            actual = metric_inputs(
                workspace.pk, partner_ids=pids, start=start, end=end, names=INPUTS, today=TODAY
            )
            _close(actual, _expected(frames, pids, start, end))
    start, end = PERIODS[3]
    stricter = metric_inputs(
        workspace.pk,
        partner_ids=partners,
        start=start,
        end=end,
        names=["sellthrough.lines_compliant"],
        tolerance=Decimal("0"),
        today=TODAY,
    )
    assert (
        stricter[TOTAL]["sellthrough.lines_compliant"]
        == _expected(frames, partners, start, end, Decimal("0"))[TOTAL]["sellthrough.lines_compliant"]
    )
    assert (
        stricter[TOTAL]["sellthrough.lines_compliant"]
        < _expected(frames, partners, start, end)[TOTAL]["sellthrough.lines_compliant"]
    )


def test_one_query_per_family_and_only_the_names_asked(workspace, system) -> None:  # type: ignore[no-untyped-def]
    partners, _ = _frames(workspace, system)
    start, end = PERIODS[3]
    with CaptureQueriesContext(connection) as queries:
        result = metric_inputs(workspace.pk, partner_ids=partners, start=start, end=end, names=["cost.mdf"])
    assert len(queries) == 1
    assert {name for values in result.values() for name in values} == {"cost.mdf"}
    with CaptureQueriesContext(connection) as queries:
        full = metric_inputs(
            workspace.pk, partner_ids=partners, start=start, end=end, names=INPUTS, today=TODAY
        )
    assert len(queries) == 5  # costs, the workspace currency + invoices, sell-through, company revenue
    assert {key: values["cost.mdf"] for key, values in result.items()} == {
        key: values["cost.mdf"] for key, values in full.items() if "cost.mdf" in values
    }  # without cost.lifetime the months before the period are not read: the same figures


def test_availability_per_family(workspace, system) -> None:  # type: ignore[no-untyped-def]
    assert input_availability(workspace.pk) == set()
    partner = make_partner(system, "Solo")
    with unscoped():
        PartnerCost.objects.create(
            workspace=workspace, partner=partner, period=datetime.date(2026, 1, 1), category="fees", amount=1
        )
    found = input_availability(workspace.pk)
    assert "cost.total" in found and "cost.lifetime" in found
    assert not any(name.startswith(("invoices.", "sellthrough.", "company.")) for name in found)


def test_regional_performance(workspace, system) -> None:  # type: ignore[no-untyped-def]
    partners, frames = _frames(workspace, system)
    start, end = PERIODS[1]
    lines = frames["lines"]
    lines = lines[(lines.period >= start) & (lines.period <= end)]
    expected = {
        region: {
            "units": int(group.units_sold.sum()),
            "revenue": sum(
                (u * p for u, p in zip(group.units_sold, group.unit_price, strict=True)), Decimal(0)
            ),
        }
        for region, group in lines.groupby("region")
    }
    assert sellthrough_by_region(workspace.pk, partner_ids=partners, start=start, end=end) == expected
