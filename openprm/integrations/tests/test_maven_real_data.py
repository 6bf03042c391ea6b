"""Real data: the Maven Analytics "CRM Sales Opportunities" pipeline (8,800 opportunities, 30 agents).

The file is imported through the deal importer with a small mapping, then each partner's win rate, won
revenue, average won deal size and median time to close, as OUR selector computes them, are compared
with an independent pandas computation straight from the CSV.

Mapping (decisions for the gaps of this dataset):

* ``sales_agent`` → partner (the 30 agents of the pipeline are created first, external id = name);
* ``account`` → customer; a blank account (1,425 open deals) becomes the customer "Unknown account";
* ``deal_stage`` via a stage map: Prospecting → registered, Engaging → qualified, Won → closed_won,
  Lost → closed_lost;
* ``engage_date`` → registered_at; the 500 Prospecting rows have none, so they are registered on the
  dataset's last date (2017-12-31: they were still being prospected when the extract was taken);
* ``close_date`` → closed_at (won/lost only); ``close_value`` → amount (blank on open deals → 0), USD;
* ``product`` → one line item from a catalog built from products.csv; the pipeline's ``GTXPro`` is the
  catalog's ``GTX Pro`` (the importer compares product names without spaces and punctuation).

Dates are midnight UTC, so a time to close is a whole number of days in both computations.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Count

from openprm.core.scoping import scope, unscoped
from openprm.deals.models import Deal, DealLineItem, Product
from openprm.deals.selectors import deal_metrics
from openprm.integrations.formats.deals import DEAL_COLUMNS
from openprm.integrations.services.deals import deals_import
from openprm.partners.models import Partner
from openprm.testing import make_partner

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "maven-crm-sales-opportunities"
UNKNOWN_ACCOUNT = "Unknown account"
STAGE_MAP = {"prospecting": "registered", "engaging": "qualified", "won": "closed_won", "lost": "closed_lost"}


@pytest.fixture
def maven() -> Path:
    if not (DATA / "sales_pipeline.csv").is_file() or not (DATA / "products.csv").is_file():
        pytest.skip("shared data not found: ../shared/data/maven-crm-sales-opportunities")
    return DATA


def canonical_csv(pipeline: Path) -> bytes:
    """The pipeline as a canonical deals CSV (the mapping of the module docstring)."""
    with pipeline.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    last_day = max(day for row in rows for day in (row["engage_date"], row["close_date"]) if day)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DEAL_COLUMNS)
    for row in rows:
        closed = row["deal_stage"] in ("Won", "Lost")
        writer.writerow(
            [
                row["opportunity_id"],
                row["sales_agent"],
                row["account"] or UNKNOWN_ACCOUNT,
                "",
                row["close_value"],
                "USD",
                row["deal_stage"],
                "sourced",
                row["engage_date"] or last_day,
                "",
                row["close_date"] if closed else "",
                row["product"],
            ]
        )
    return out.getvalue().encode()


def test_maven_pipeline_metrics_match_pandas(world, maven):
    pd = pytest.importorskip("pandas")
    system = world.system
    pipeline = pd.read_csv(maven / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    agents = sorted(pipeline["sales_agent"].unique())
    assert len(agents) == 30
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
    assert (result.created, result.rejected, result.refused) == (8800, 0, False), result.errors[:5]

    with unscoped():
        stages = dict(
            Deal.objects.filter(workspace=world.workspace, partner__in=partners.values())
            .values_list("stage__key")
            .annotate(n=Count("id"))
        )
        gtx_pro = DealLineItem.objects.filter(product__name="GTX Pro").count()
        unknown = Deal.objects.filter(customer_name=UNKNOWN_ACCOUNT).count()
    assert stages == {"closed_won": 4238, "closed_lost": 2473, "qualified": 1589, "registered": 500}
    assert gtx_pro == (pipeline["product"] == "GTXPro").sum() == 1480
    assert unknown == pipeline["account"].isna().sum() == 1425

    # The independent computation, per agent, from the CSV alone.
    closed = pipeline[pipeline["deal_stage"].isin(["Won", "Lost"])]
    won = pipeline[pipeline["deal_stage"] == "Won"].assign(
        days=lambda frame: (frame["close_date"] - frame["engage_date"]).dt.days
    )
    expected = pd.DataFrame(
        {
            "win_rate": closed.groupby("sales_agent")["deal_stage"].apply(lambda s: (s == "Won").mean()),
            "won_revenue": won.groupby("sales_agent")["close_value"].sum(),
            "avg_won": won.groupby("sales_agent")["close_value"].mean(),
            "median_days": won.groupby("sales_agent")["days"].median(),
        }
    )
    assert len(expected) == 30

    checked = 0
    with scope(system.access_scope()):
        for agent, partner in partners.items():
            summary = deal_metrics(actor=system, partner=Partner.objects.get(pk=partner.pk)).summary
            want = expected.loc[agent]
            # Ratios are rounded to 4 places and money to cents by our metrics: compare within that.
            assert summary.win_rate is not None
            assert abs(float(summary.win_rate) - want["win_rate"]) <= 0.00005, agent
            assert summary.revenue_split.total == Decimal(int(want["won_revenue"])), agent
            assert summary.average_won_deal_size is not None
            assert abs(float(summary.average_won_deal_size) - want["avg_won"]) <= 0.005, agent
            assert summary.time_to_close.median == pytest.approx(want["median_days"], abs=1e-9), agent
            assert summary.time_to_close.count == len(won[won["sales_agent"] == agent]), agent
            checked += 1
    assert checked == 30
