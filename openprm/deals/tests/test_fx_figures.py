"""Deal figures in other currencies: a workspace reporting in EUR with deals in USD. The metric figures
(``GET /api/v1/metrics/series``, and every page through the same engine) convert each day's USD sums at
that day's rate of the FX table (1 EUR = ``rate`` USD, the ECB's layout), the pipeline at the rate of the
period's end; days no rate converts (none, or only one older than 7 days) stay counted apart and say so
(``deals.other_currency``, ``read.unconverted``) — never a silent 0.00. A partner user still sees only
their own partner's figures."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.rollups import read
from openprm.deals.services.bulk import DealBulkWriter, DealCreate
from openprm.deals.services.conflicts import deal_customer
from openprm.finance.models import FxRate
from openprm.metrics import figures
from openprm.partners.models import Program
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

API = "/api/v1/metrics/series"
NOVEMBER = "2026-11"
UTC = datetime.UTC


def nov(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, 12, 0, tzinfo=UTC)


def rates(workspace_id: int) -> None:
    """1 EUR = 1.25 USD on the 10th (1 USD = 0.80 EUR), 1.6 on the 20th (0.625), 1.28 on the 27th
    (0.78125); nothing before the 10th."""
    with unscoped():
        for day, rate in ((10, "1.25"), (20, "1.6"), (27, "1.28")):
            FxRate.objects.create(
                workspace_id=workspace_id,
                day=datetime.date(2026, 11, day),
                base="EUR",
                quote="USD",
                rate=Decimal(rate),
                source="manual",
            )


def make_deals(world: Any, specs: list[tuple[Any, ...]] | None = None, first: int = 0) -> None:
    """Partner A: won EUR 1,000.00 (3rd), won USD 1,000.00 (10th), won USD 333.33 (20th), won USD 500.00
    (5th: no rate yet), open USD 300.00 registered the 10th; partner B: won USD 100.00 (10th)."""
    with unscoped():
        program = Program.objects.get(is_default=True)
        stages = {s.key: s.pk for s in services.program_stages(program=program)}
    open_key = next(k for k in stages if not k.startswith("closed"))
    specs = specs or [  # partner, currency, amount, day (closed if won), won[, registration day]
        (world.partner_a, "EUR", "1000.00", 3, True),
        (world.partner_a, "USD", "1000.00", 10, True),
        (world.partner_a, "USD", "333.33", 20, True),
        (world.partner_a, "USD", "500.00", 5, True),
        (world.partner_a, "USD", "300.00", 10, False),
        (world.partner_b, "USD", "100.00", 10, True),
    ]
    creates = []
    for n, (partner, currency, amount, day, won, *registered) in enumerate(specs, start=first):
        customer = deal_customer(f"Fx {n}", f"fx{n}.example")
        assert customer is not None
        at, on = nov(day), nov(registered[0] if registered else day)
        creates.append(
            DealCreate(
                values={
                    "partner_id": partner.pk,
                    "program_id": program.pk,
                    "external_id": f"FX-{n}",
                    "title": "",
                    "customer_name": f"Fx {n}",
                    "customer_key": customer.key,
                    "customer_domain": customer.domain,
                    "customer_domain_root": customer.root,
                    "contact_name": "",
                    "contact_email": "",
                    "amount": Decimal(amount),
                    "currency": currency,
                    "expected_close_date": None,
                    "source": "sourced",
                    "stage_id": stages["closed_won" if won else open_key],
                    "stage_changed_at": at,
                    "approval_status": "approved",
                    "approval_due_at": None,
                    "decided_at": None,
                    "protection_expires_at": None,
                    "registered_at": on,
                    "approved_at": on,
                    "closed_at": at if won else None,
                    "lost_reason": "",
                    "properties": {},
                }
            )
        )
    staff = actor_for(world.manager)
    with scope(staff.access_scope()), transaction.atomic():
        DealBulkWriter(actor=staff).write(creates=creates, updates=[])


@pytest.fixture
def eur(world: Any) -> Any:
    Workspace.objects.filter(pk=world.workspace.pk).update(currency="EUR")
    make_deals(world)
    return world


def series(api: Any, metrics: str, partner: Any = None) -> dict[str, Any]:
    query = {"metrics": metrics, "period": NOVEMBER}
    if partner is not None:
        query["partners"] = str(partner.public_id)
    answer = api.get(API, query)
    assert answer.status_code == 200, answer.content[:300]
    return {
        row["partner"] or "total": {k: v[0]["value"] for k, v in row["values"].items()}
        for row in answer.json()["rows"]
    }


def test_usd_deals_convert_at_each_days_rate_into_the_eur_figures(eur: Any, api_for: Any) -> None:
    rates(eur.workspace.pk)
    found = series(api_for(eur.manager), "won_revenue,won_count,pipeline_value", eur.partner_a)
    a = found[str(eur.partner_a.public_id)]
    # 1,000.00 EUR + 1,000.00 USD × 0.80 + 333.33 USD × 0.625 (208.33125 → 208.33); the 5th's 500 USD apart
    assert a["won_revenue"] == "2008.33"
    assert a["won_count"] == 3
    assert a["pipeline_value"] == "234.38"  # 300.00 USD at the 30th's rate: the 27th's, 0.78125
    assert found["total"]["won_revenue"] == "2088.33"  # and partner B's 100.00 USD × 0.80


def test_days_without_a_rate_are_counted_apart_and_named(eur: Any) -> None:
    rates(eur.workspace.pk)
    a, b = eur.partner_a.pk, eur.partner_b.pk
    names = ["deals.won.amount", "deals.registered", "deals.registered.amount", read.OTHER_CURRENCY]
    start, end = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)
    got = read.metric_inputs(eur.workspace.pk, partner_ids=[a, b], start=start, end=end, names=names)
    assert got[a]["deals.won.amount"] == Decimal("2008.33")
    assert got[a]["deals.registered"] == 4  # the 5th's registration is not converted
    assert got[a]["deals.registered.amount"] == Decimal("2248.33")  # + the open 300.00 USD × 0.80
    assert got[a][read.OTHER_CURRENCY] == 1
    assert got[0][read.OTHER_CURRENCY] == 1
    apart = read.unconverted(eur.workspace.pk, partner_ids=[a, b], start=start, end=end)
    assert [(u.currency, u.deals, sorted(u.days)) for u in apart] == [
        ("USD", 1, [datetime.date(2026, 11, 5)])
    ]
    # the pipeline at a day's end converts at the latest rate of the 7 days before: on 4 December the
    # 27th's, on the 5th none (8 days old), and the open deal is left out rather than read as 0.00 EUR
    for at, amount in ((datetime.date(2026, 12, 4), Decimal("234.38")), (datetime.date(2026, 12, 5), None)):
        stock = read.metric_inputs(
            eur.workspace.pk, partner_ids=[a], start=at, end=at, names=["pipeline.open.amount"]
        )
        assert stock.get(a, {}).get("pipeline.open.amount") == amount


def test_without_any_rate_nothing_converts_and_the_deals_are_counted_apart(eur: Any, api_for: Any) -> None:
    a = eur.partner_a.pk
    found = series(api_for(eur.manager), "won_revenue,pipeline_value", eur.partner_a)
    assert found[str(eur.partner_a.public_id)]["won_revenue"] == "1000.00"  # the EUR deal alone
    start, end = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)
    got = read.metric_inputs(
        eur.workspace.pk, partner_ids=[a], start=start, end=end, names=[read.OTHER_CURRENCY]
    )
    assert got[a][read.OTHER_CURRENCY] == 4
    apart = read.unconverted(eur.workspace.pk, partner_ids=[a], start=start, end=end)
    assert [(u.currency, u.deals) for u in apart] == [("USD", 4)]


def test_a_partner_user_sees_only_their_own_converted_figures(eur: Any, api_for: Any) -> None:
    rates(eur.workspace.pk)
    found = series(api_for(eur.b_admin), "won_revenue")
    assert found["total"]["won_revenue"] == "80.00"  # partner B's 100.00 USD × 0.80, not A's
    assert series(api_for(eur.a_admin), "won_revenue")["total"]["won_revenue"] == "2008.33"
    assert (
        api_for(eur.b_admin)
        .get(API, {"metrics": "won_revenue", "partners": str(eur.partner_a.public_id)})
        .status_code
        == 404
    )


def test_the_pipeline_of_a_period_ending_later_converts_at_todays_rate(eur: Any) -> None:
    """This year's pipeline "at the end of December" is today's: converted at today's rate (no rate of a
    later day exists), not left out."""
    today = datetime.datetime.now(UTC).date()
    with unscoped():
        FxRate.objects.create(
            workspace_id=eur.workspace.pk,
            day=today,
            base="EUR",
            quote="USD",
            rate=Decimal("1.25"),
            source="manual",
        )
    a, later = eur.partner_a.pk, today + datetime.timedelta(days=30)
    got = read.metric_inputs(
        eur.workspace.pk, partner_ids=[a], start=later, end=later, names=["pipeline.open.amount"]
    )
    assert got[a]["pipeline.open.amount"] == Decimal("240.00")  # 300.00 USD × 0.80


def test_the_figures_say_what_they_leave_out(eur: Any) -> None:
    from openprm.metrics.display import unconverted_note
    from openprm.metrics.periods import parse_period

    def left_out(user: Any) -> list[Any]:
        actor = actor_for(user)
        with scope(actor.access_scope()):
            return figures.unconverted_deals(actor=actor, period=parse_period(NOVEMBER))

    rates(eur.workspace.pk)
    staff = left_out(eur.manager)
    assert unconverted_note(staff, currency="EUR", rates_url="/finance/fx-rates/") == (
        "1 deal in USD not converted: no USD→EUR rate for 2026-11-05; import rates at /finance/fx-rates/"
    )
    assert unconverted_note(staff, currency="EUR", rates_url=None) == (
        "1 deal in USD not included yet (no exchange rate for 2026-11-05)."
    )
    # partner B's deals all convert: nothing to say to them, and nothing of partner A's
    assert left_out(eur.b_admin) == []
    assert len(left_out(eur.a_admin)) == 1


def test_won_deals_converted_count_in_the_median_days_to_close(eur: Any) -> None:
    """Partner B's USD deals won on days a rate converts: 0 days (the 10th) and 10 days (registered the
    10th, won the 20th): median 5 — not None, as when only its EUR deals (none) counted."""
    rates(eur.workspace.pk)
    make_deals(eur, [(eur.partner_b, "USD", "50.00", 20, True, 10)], first=100)
    b = eur.partner_b.pk
    start, end = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)
    got = read.metric_inputs(eur.workspace.pk, partner_ids=[b], start=start, end=end, names=[read.MEDIAN])
    assert got[b][read.MEDIAN] == 5.0
    assert got[0][read.MEDIAN] == 5.0
