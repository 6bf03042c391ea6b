"""The catalog's formulas through the engine, against an independent pandas computation from the raw rows:
costs, invoices, sell-through, company revenue, customer accounts, CSAT, usage and agreements generated at
random, deals written through the services (per partner and for the set); and the deal formulas on the
real Maven CRM pipeline (../shared/data; skipped when absent, failing under CI=true)."""

from __future__ import annotations

import datetime
import io
import os
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.deals.services.registration import deal_register
from openprm.deals.services.stages import deal_move_stage
from openprm.finance.models import CompanyRevenue, CostCategory, Invoice, PartnerCost, SellThroughLine
from openprm.metrics import figures
from openprm.metrics.periods import Period
from openprm.metrics.services import parameter_add
from openprm.partners.models import Agreement, AgreementStatus
from openprm.testing import actor_for, make_partner

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.django_db

FOUR = Decimal("0.0001")
CENT = Decimal("0.01")


def q(value: float | Decimal, places: Decimal = FOUR) -> Decimal:
    return Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)


def ratio(a: float, b: float) -> Decimal | None:
    return None if b <= 0 else q(Decimal(str(a)) / Decimal(str(b)))


def today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def month_starts(first: datetime.date, count: int) -> list[datetime.date]:
    out, day = [], first.replace(day=1)
    for _ in range(count):
        out.append(day)
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return out


def day_in(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randint(0, (end - start).days))


@pytest.fixture
def generated(world: Any) -> dict[str, Any]:
    """Random inputs around this quarter for four partners; the raw rows as pandas frames."""
    rng = random.Random(11)
    system = world.system
    extra = [make_partner(system, f"Partner {n}", external_id=f"P-{n}") for n in (3, 4)]
    partners = [world.partner_a, world.partner_b, *extra]
    period = Period.quarter_of(today())
    months = month_starts(period.start - datetime.timedelta(days=62), 7)  # two before, the quarter, two after
    span = (months[0], months[-1] + datetime.timedelta(days=27))
    currency = Workspace.objects.get(pk=world.workspace.pk).currency
    rows: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("cost", "inv", "st", "acc", "chg", "csat", "use")
    }
    with unscoped():
        for n, partner in enumerate(partners):
            partner.start_date = datetime.date(2023, 1, 1) + datetime.timedelta(days=97 * n)
            partner.save(update_fields=["start_date"])
            for month in months:
                for category in CostCategory.values:
                    if rng.random() < 0.6:
                        amount = q(rng.uniform(10, 900), CENT)
                        PartnerCost.objects.create(
                            workspace=world.workspace,
                            partner=partner,
                            period=month,
                            category=category,
                            amount=amount,
                        )
                        rows["cost"].append({"p": partner.pk, "month": month, "amount": amount})
            for i in range(25):
                issued = day_in(rng, *span)
                due = issued + datetime.timedelta(days=30)
                paid = None if rng.random() < 0.3 else due + datetime.timedelta(days=rng.randint(-20, 25))
                disputed, corrected = rng.random() < 0.3, rng.random() < 0.2
                Invoice.objects.create(
                    workspace=world.workspace,
                    partner=partner,
                    number=f"{partner.pk}-{i}",
                    issued_on=issued,
                    due_on=due,
                    amount=Decimal("100.00"),
                    currency=currency,
                    paid_on=paid,
                    disputed=disputed,
                    corrected=corrected,
                )
                rows["inv"].append(
                    {
                        "p": partner.pk,
                        "issued": issued,
                        "due": due,
                        "paid": paid,
                        "disputed": disputed,
                        "corrected": corrected,
                    }
                )
            if n < 3:  # three distributors, one not
                for month in months:
                    for sku in ("S1", "S2"):
                        line = {
                            "p": partner.pk,
                            "month": month,
                            "sold": rng.randint(0, 80),
                            "on_hand": rng.randint(0, 120),
                            "price": q(rng.uniform(80, 110), CENT),
                            "list": Decimal("100.00"),
                        }
                        SellThroughLine.objects.create(
                            workspace=world.workspace,
                            partner=partner,
                            period=month,
                            sku=sku,
                            region=rng.choice(["EMEA", "NA"]),
                            units_sold=line["sold"],
                            units_on_hand=line["on_hand"],
                            unit_price=line["price"],
                            list_price=line["list"],
                        )
                        rows["st"].append(line)
            for i in range(12):
                started = day_in(rng, months[0] - datetime.timedelta(days=300), months[-1])
                ended = (
                    None
                    if rng.random() < 0.6
                    else day_in(rng, started, months[-1] + datetime.timedelta(days=60))
                )
                account = CustomerAccount.objects.create(
                    workspace=world.workspace,
                    partner=partner,
                    name=f"A{partner.pk}-{i}",
                    started_on=started,
                    ended_on=ended,
                )
                rows["acc"].append({"p": partner.pk, "id": account.pk, "started": started, "ended": ended})
                for j in range(rng.randint(0, 3)):
                    kind = rng.choice(["renewal", "upsell", "cross_sell", "downgrade"])
                    on = day_in(rng, *span)
                    AccountChange.objects.create(
                        workspace=world.workspace,
                        partner=partner,
                        account=account,
                        kind=kind,
                        occurred_on=on,
                        amount=10,
                    )
                    rows["chg"].append({"p": partner.pk, "id": account.pk, "kind": kind, "on": on})
                for j in range(rng.randint(0, 2)):
                    score, on = rng.randint(1, 5), day_in(rng, *span)
                    CsatResponse.objects.create(
                        workspace=world.workspace,
                        partner=partner,
                        account=account,
                        channel="partner",
                        score=score,
                        answered_on=on,
                    )
                    rows["csat"].append({"p": partner.pk, "score": score, "on": on})
                for month in months:
                    if rng.random() < 0.5:
                        used, available = rng.randint(0, 10), 10
                        UsageRecord.objects.create(
                            workspace=world.workspace,
                            partner=partner,
                            account=account,
                            month=month,
                            active_users=rng.randint(1, 50),
                            features_used=used,
                            features_available=available,
                        )
                        rows["use"].append(
                            {"p": partner.pk, "month": month, "used": used, "available": available}
                        )
        for i in range(20):
            score, on = rng.randint(1, 5), day_in(rng, *span)
            CsatResponse.objects.create(
                workspace=world.workspace, channel="direct", score=score, answered_on=on
            )
            rows["csat"].append({"p": 0, "score": score, "on": on})
        revenue = Decimal(0)
        for month in months:
            amount = q(rng.uniform(50_000, 90_000), CENT)
            CompanyRevenue.objects.create(workspace=world.workspace, period=month, amount=amount)
            if period.start <= month <= period.end:
                revenue += amount
        Agreement.objects.create(
            workspace=world.workspace,
            partner=partners[0],
            title="Live",
            status=AgreementStatus.ACTIVE,
            start_date=period.start,
            end_date=period.end + datetime.timedelta(days=400),
        )
        Agreement.objects.create(
            workspace=world.workspace,
            partner=partners[1],
            title="Lapsed",
            status=AgreementStatus.ACTIVE,
            start_date=datetime.date(2020, 1, 1),
            end_date=period.start,
        )
    won: dict[int, list[Decimal]] = {p.pk: [] for p in partners}
    with scope(system.access_scope()):
        for partner in partners[:3]:
            for k in range(rng.randint(1, 3)):
                amount = q(rng.uniform(500, 5000), CENT)
                deal, _ = deal_register(
                    actor=system,
                    data={
                        "partner_id": partner.pk,
                        "customer_name": f"C{partner.pk}-{k}",
                        "amount": str(amount),
                    },
                )
                deal_move_stage(actor=system, deal=deal, stage_key="closed_won")
                won[partner.pk].append(amount)
        parameter_add(
            actor=system,
            key="partnership_cost_per_year",
            value="1200",
            effective_from=datetime.date(2020, 1, 1),
        )
    frames = {k: pd.DataFrame(v) for k, v in rows.items()}
    return {
        "world": world,
        "partners": partners,
        "period": period,
        "frames": frames,
        "won": won,
        "revenue": revenue,
    }


KEYS = [
    "partnership_costs", "margin_contribution", "cac_per_partner", "cost_per_partner_dollar", "pltv",
    "payment_timeliness", "invoice_accuracy", "disputes_resolved", "company_revenue_share",
    "sell_through_rate", "inventory_turnover", "pricing_compliance", "units_sold",
    "retention", "upsell_rate", "customer_accounts", "csat_partner", "csat_direct", "csat_vs_direct",
    "feature_adoption", "contract_compliance", "nps", "churn_risk", "tier_progression",
]  # fmt: skip


def expected(g: dict[str, Any], ids: list[int]) -> dict[str, Any]:
    """Every metric of KEYS for the partners ``ids`` together, from the raw rows alone."""
    f, period = g["frames"], g["period"]
    start, end, now = period.start, period.end, today()
    cost = f["cost"][f["cost"]["p"].isin(ids)]
    costs = Decimal(sum(cost[(cost["month"] >= start) & (cost["month"] <= end)]["amount"], Decimal(0)))
    won_amounts = [a for p in ids for a in g["won"][p]]
    won, won_n = sum(won_amounts, Decimal(0)), len(won_amounts)
    inv = f["inv"][f["inv"]["p"].isin(ids)]
    due = inv[(inv["due"] >= start) & (inv["due"] <= end)]
    paid = due["paid"].notna()
    on_time = int((paid & (due["paid"] <= due["due"])).sum())
    late = int((paid & (due["paid"] > due["due"]) & (due["paid"] <= end)).sum())
    unpaid = (~paid) | (due["paid"].apply(lambda d: d is not None and not pd.isna(d) and d > end))
    overdue = int((unpaid & (due["due"] < now)).sum())
    issued = inv[(inv["issued"] >= start) & (inv["issued"] <= end)]
    disputed = issued[issued["disputed"]]
    st = f["st"][f["st"]["p"].isin(ids)]
    st = st[(st["month"] >= start) & (st["month"] <= end)]
    sold = int(st["sold"].sum())
    by_month = st.groupby(["p", "month"])["on_hand"].sum().reset_index()
    last_stock = (
        int(by_month.sort_values("month").groupby("p").tail(1)["on_hand"].sum()) if len(by_month) else 0
    )
    avg_stock = by_month.groupby("p")["on_hand"].mean().sum() if len(by_month) else 0
    compliant = int((st["price"] >= st["list"] * Decimal("0.95")).sum())
    acc = f["acc"][f["acc"]["p"].isin(ids)]
    not_ended_by_start = acc["ended"].apply(lambda d: d is None or pd.isna(d) or d >= start)
    not_ended_by_end = acc["ended"].apply(lambda d: d is None or pd.isna(d) or d > end)
    at_start = acc[(acc["started"] < start) & not_ended_by_start]
    retained = int((at_start["ended"].apply(lambda d: d is None or pd.isna(d) or d > end)).sum())
    new = int(((acc["started"] >= start) & (acc["started"] <= end) & not_ended_by_start).sum())
    active_end = int(((acc["started"] <= end) & not_ended_by_start & not_ended_by_end).sum())
    chg = f["chg"][f["chg"]["p"].isin(ids)]
    upsold = chg[chg["kind"].isin(["upsell", "cross_sell"]) & (chg["on"] >= start) & (chg["on"] <= end)][
        "id"
    ].nunique()
    csat = f["csat"][(f["csat"]["on"] >= start) & (f["csat"]["on"] <= end)]
    mine, direct = csat[csat["p"].isin(ids)], csat[csat["p"] == 0]
    mean_mine = q(Decimal(int(mine["score"].sum())) / len(mine), CENT) if len(mine) else None
    mean_direct = q(Decimal(int(direct["score"].sum())) / len(direct), CENT) if len(direct) else None
    use = f["use"][f["use"]["p"].isin(ids)]
    use = use[(use["month"] >= start) & (use["month"] <= end)]
    tenure_days = {p.pk: (end - p.start_date).days + 1 for p in g["partners"] if p.pk in ids}
    pltv = sum(
        (
            q(
                sum(g["won"][p], Decimal(0))
                - Decimal(sum(cost[(cost["p"] == p) & (cost["month"] <= end)]["amount"], Decimal(0)))
                - Decimal(days) / Decimal("365.25") * 1200,
                CENT,
            )
            for p, days in tenure_days.items()
        ),
        Decimal(0),
    )
    compliant_partners = [p for p in ids if p == g["partners"][0].pk]
    return {
        "partnership_costs": q(costs, CENT),
        "margin_contribution": q(won - costs, CENT),
        "cac_per_partner": None if not won_n else q(costs / won_n, CENT),
        "cost_per_partner_dollar": None if not won else q(costs / won, CENT),
        "pltv": pltv,
        "payment_timeliness": ratio(on_time, on_time + late + overdue),
        "invoice_accuracy": ratio(int((~issued["disputed"] & ~issued["corrected"]).sum()), len(issued)),
        "disputes_resolved": ratio(int(disputed["corrected"].sum()), len(disputed)),
        "company_revenue_share": ratio(float(won), float(g["revenue"])),
        "sell_through_rate": ratio(sold, sold + last_stock),
        "inventory_turnover": None if not avg_stock else q(Decimal(sold) / Decimal(str(avg_stock)), CENT),
        "pricing_compliance": ratio(compliant, len(st)),
        "units_sold": sold,
        "retention": ratio(retained, len(at_start)),
        "upsell_rate": ratio(upsold, len(at_start) + new),
        "customer_accounts": active_end,
        "csat_partner": mean_mine,
        "csat_direct": mean_direct,
        "csat_vs_direct": None if mean_mine is None or mean_direct is None else mean_mine - mean_direct,
        "feature_adoption": ratio(int(use["used"].sum()), int(use["available"].sum())),
        "contract_compliance": q(Decimal(len(compliant_partners)) / len(ids))
        if len(ids) > 1
        else Decimal(len(compliant_partners)),
    }


def close_enough(got: Any, want: Any, key: str) -> None:
    if want is None or got is None:
        assert got is want, (key, got, want)
    else:
        assert abs(Decimal(str(got)) - Decimal(str(want))) <= Decimal("0.0001"), (key, got, want)


def test_financial_health_and_vertical_formulas_match_pandas(generated: dict[str, Any]) -> None:
    world = generated["world"]
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        table = figures.metric_table(actor=actor, keys=KEYS, period=generated["period"])
    ids = [p.pk for p in generated["partners"]]
    checked = 0
    for partner_id in ids:
        want = expected(generated, [partner_id])
        for key, value in want.items():
            close_enough(table.value(partner_id, key).value, value, f"{key} of {partner_id}")
            checked += 1
    total = expected(generated, ids)
    assert all(v is not None for v in total.values()), total  # the data exercises every formula
    for key, value in total.items():
        if key == "contract_compliance":
            value = Decimal(1) / len(ids)  # the mean of the partners' 0/1
        close_enough(table.total(key).value, value, f"{key} total")
        checked += 1
    assert checked == 5 * len(total)
    for key in ("nps", "churn_risk"):
        assert table.total(key).value is None and table.total(key).missing.startswith("no data: needs"), key
    assert table.total("churn_risk").missing == "no data: needs a churn model (not built yet)"


def test_costs_are_never_given_to_partner_users(generated: dict[str, Any]) -> None:
    partner = actor_for(generated["world"].a_admin)
    with scope(partner.access_scope()):
        table = figures.metric_table(
            actor=partner, keys=["retention", "csat_vs_direct"], period=generated["period"]
        )
        assert table.partner_ids == (generated["world"].partner_a.pk,)
        for key in ("pltv", "partnership_costs", "cac_per_partner", "company_revenue_share"):
            with pytest.raises(figures.StaffOnlyMetricError):
                figures.metric_table(actor=partner, keys=[key], period=generated["period"])


# --------------------------------------------------------------------------------------------- Maven data

MAVEN = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "maven-crm-sales-opportunities"
STAGE_MAP = {"prospecting": "registered", "engaging": "qualified", "won": "closed_won", "lost": "closed_lost"}


@pytest.fixture
def maven() -> Path:
    if not (MAVEN / "sales_pipeline.csv").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("shared data missing under CI: ../shared/data/maven-crm-sales-opportunities")
        pytest.skip("shared data not found: ../shared/data/maven-crm-sales-opportunities")
    return MAVEN


def test_deal_formulas_match_pandas_on_the_maven_pipeline(world: Any, maven: Path) -> None:
    from openprm.deals.models import Product
    from openprm.integrations.services.deals import deals_import
    from openprm.integrations.tests.test_maven_real_data import canonical_csv

    system = world.system
    pipeline = pd.read_csv(maven / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    agents = sorted(pipeline["sales_agent"].unique())
    partners = {name: make_partner(system, name, external_id=name) for name in agents}
    with unscoped():
        for product in pd.read_csv(maven / "products.csv").itertuples():
            Product.objects.create(
                workspace=world.workspace, name=product.product, list_price=Decimal(str(product.sales_price))
            )
    with scope(system.access_scope()):
        result = deals_import(
            actor=system, stream=io.BytesIO(canonical_csv(maven / "sales_pipeline.csv")), stage_map=STAGE_MAP
        )
    assert result.created == len(pipeline)
    pipeline["days"] = (pipeline["close_date"] - pipeline["engage_date"]).dt.days
    actor = actor_for(world.admin)
    keys = [
        "won_revenue",
        "won_count",
        "lost_count",
        "win_rate",
        "average_won_deal_size",
        "time_to_close_days",
    ]
    ids = [p.pk for p in partners.values()]
    checked = 0
    for quarter in (1, 2, 3, 4):
        period = Period.quarter(2017, quarter)
        start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
        closed = pipeline[(pipeline["close_date"] >= start) & (pipeline["close_date"] <= end)]
        with scope(actor.access_scope()):
            table = figures.metric_table(actor=actor, keys=keys, period=period, partners=ids)
        for agent, partner in [(None, None), *partners.items()]:
            rows = closed if agent is None else closed[closed["sales_agent"] == agent]
            won, lost = rows[rows["deal_stage"] == "Won"], rows[rows["deal_stage"] == "Lost"]
            got = table.total if partner is None else (lambda k, pk=partner.pk: table.value(pk, k))
            assert got("won_revenue").value == q(won["close_value"].sum(), CENT), (agent, quarter)
            assert got("won_count").value == len(won) and got("lost_count").value == len(lost), (
                agent,
                quarter,
            )
            close_enough(got("win_rate").value, ratio(len(won), len(won) + len(lost)), "win_rate")
            size = None if not len(won) else q(Decimal(str(won["close_value"].sum())) / len(won), CENT)
            close_enough(got("average_won_deal_size").value, size, "average_won_deal_size")
            days = None if not len(won) else q(Decimal(int(won["days"].sum())) / len(won), Decimal("0.1"))
            close_enough(got("time_to_close_days").value, days, "time_to_close_days")
            checked += 1
    assert checked == 4 * 31
