"""Deal figures in other currencies, after review: the note names the open deals a missing rate leaves
out of the pipeline (it said nothing and the pipeline read 0.00), the deal pages' pipeline is the metric
engine's (each partner's stage converted and rounded, in both), and a partner rep's figures convert as
everyone else's (they were all "another currency"). A EUR workspace with USD deals, as in
``test_fx_figures``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal
from openprm.deals.rollups import read
from openprm.deals.rollups.summary import deal_totals
from openprm.deals.tests.test_fx_figures import make_deals, rates
from openprm.finance.models import FxRate

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime.now(datetime.UTC).date()
NOVEMBER = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))


@pytest.fixture
def eur(world: Any) -> Any:
    """``test_fx_figures``' deals: partner A won EUR 1,000.00 (3rd), USD 1,000.00 (10th), USD 333.33
    (20th), USD 500.00 (5th), open USD 300.00 (10th); partner B won USD 100.00 (10th)."""
    Workspace.objects.filter(pk=world.workspace.pk).update(currency="EUR")
    make_deals(world)
    return world


def usd_rate(workspace_id: int, day: datetime.date, rate: str) -> None:
    with unscoped():
        FxRate.objects.create(
            workspace_id=workspace_id, day=day, base="EUR", quote="USD", rate=Decimal(rate), source="manual"
        )


def test_the_open_deals_no_rate_converts_at_the_periods_end_are_named(eur: Any) -> None:
    """Rates on the 10th and 20th only: the pipeline at the end of November (rate of the 30th: the 20th's
    is 10 days old, past the 7 allowed) leaves partner A's open USD 300.00 out — said, not a silent 0."""
    usd_rate(eur.workspace.pk, datetime.date(2026, 11, 10), "1.25")
    usd_rate(eur.workspace.pk, datetime.date(2026, 11, 20), "1.6")
    a = eur.partner_a.pk
    found = read.metric_inputs(
        eur.workspace.pk, partner_ids=[a], start=NOVEMBER[0], end=NOVEMBER[1], names=["pipeline.open.amount"]
    )
    assert found.get(a, {}).get("pipeline.open.amount", 0) == 0
    (usd,) = read.unconverted(eur.workspace.pk, partner_ids=[a], start=NOVEMBER[0], end=NOVEMBER[1])
    assert (usd.currency, usd.open_deals) == ("USD", 1)
    assert datetime.date(2026, 11, 30) in usd.days
    assert usd.deals == 1  # the win of the 5th, before any rate
    # partner B has no open deal: nothing of its pipeline is left out
    b = eur.partner_b.pk
    assert read.unconverted(eur.workspace.pk, partner_ids=[b], start=NOVEMBER[0], end=NOVEMBER[1]) == []


def test_the_open_deals_converted_at_the_periods_end_are_not_named(eur: Any) -> None:
    rates(eur.workspace.pk)  # the 27th's rate covers the 30th
    a = eur.partner_a.pk
    (usd,) = read.unconverted(eur.workspace.pk, partner_ids=[a], start=NOVEMBER[0], end=NOVEMBER[1])
    assert usd.open_deals == 0
    assert usd.days == {datetime.date(2026, 11, 5)}


def test_the_deal_pages_pipeline_is_the_sum_of_the_engines_per_partner(eur: Any) -> None:
    """Open USD: A 300.00 + 1.00, B 1.00 at 1 EUR = 1.6 USD. Per partner: 188.13 + 0.63 = 188.76; the
    partners together were converted once (302.00 / 1.6 = 188.75) on the deal pages."""
    make_deals(
        eur, [(eur.partner_b, "USD", "1.00", 10, False), (eur.partner_a, "USD", "1.00", 10, False)], first=200
    )
    usd_rate(eur.workspace.pk, TODAY, "1.6")
    a, b = eur.partner_a.pk, eur.partner_b.pk
    names = ["pipeline.open.amount", "pipeline.open.weighted"]
    engine = read.metric_inputs(eur.workspace.pk, partner_ids=[a, b], start=TODAY, end=TODAY, names=names)
    assert (engine[a]["pipeline.open.amount"], engine[b]["pipeline.open.amount"]) == (
        Decimal("188.13"),
        Decimal("0.63"),
    )
    assert engine[0]["pipeline.open.amount"] == Decimal("188.76")
    page = deal_totals(eur.workspace.pk, partner_ids=None, on=TODAY)
    assert page.summary.pipeline_value == Decimal("188.76")
    assert page.summary.weighted_pipeline == engine[0]["pipeline.open.weighted"]
    listed = deal_totals(eur.workspace.pk, partner_ids=[a, b], on=TODAY)
    assert listed.summary.pipeline_value == Decimal("188.76")


FIGURES = (
    "currency",
    "pipeline_value",
    "weighted_pipeline",
    "revenue_split",
    "counts",
    "win_rate",
    "time_to_close",
    "other_currency_deals",
)


def test_a_partner_reps_deal_figures_convert_as_their_admins(eur: Any, api_for: Any) -> None:
    """Every deal of partner A registered by its rep: the rep's figures (counted from the deals) are the
    partner admin's (from the rollups): won USD 1,000.00 (10th) + 333.33 (20th) → 800.00 + 208.33, plus
    EUR 1,000.00; the open USD 300.00 at today's 1.25 → 240.00; the win of the 5th (no rate) apart."""
    rates(eur.workspace.pk)
    usd_rate(eur.workspace.pk, TODAY, "1.25")
    with unscoped():
        Deal.objects.filter(partner=eur.partner_a).update(registered_by=eur.a_rep)
    answers = {}
    for who in ("a_rep", "a_admin"):
        answer = api_for(getattr(eur, who)).get("/api/v1/metrics/deals")
        assert answer.status_code == 200, answer.content[:300]
        answers[who] = {k: answer.json().get(k) for k in FIGURES}
    assert answers["a_rep"] == answers["a_admin"]
    assert Decimal(str(answers["a_rep"]["pipeline_value"])) == Decimal("240.00")
    assert Decimal(str(answers["a_rep"]["revenue_split"]["total"])) == Decimal("2008.33")
    assert answers["a_rep"]["other_currency_deals"] == 1


def test_a_reps_deals_without_a_rate_stay_apart(eur: Any, api_for: Any) -> None:
    with unscoped():
        Deal.objects.filter(partner=eur.partner_a).update(registered_by=eur.a_rep)
    answer = api_for(eur.a_rep).get("/api/v1/metrics/deals")
    assert answer.status_code == 200, answer.content[:300]
    body = answer.json()
    assert body["other_currency_deals"] == 4
    assert Decimal(str(body["pipeline_value"])) == Decimal("0")
    assert Decimal(str(body["revenue_split"]["total"])) == Decimal("1000.00")
