"""Statements: totals (brought forward, earned net of reversals, paid, carried forward), every line
explained (rule, base, rate, FX rate and date, caps), the PDF's text and the CSV, the self-billing
layout with both parties' details, and a partner only ever reaching their own."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from openprm.commissions.models import Statement
from openprm.commissions.selectors import statements as selectors
from openprm.commissions.services import statements as services
from openprm.commissions.tests.payout_fixtures import bank_details, entry, make_plan
from openprm.core.scoping import scope, unscoped
from openprm.reports.tests.conftest import pdf_text
from openprm.testing import World, actor_for

pytestmark = pytest.mark.django_db


def _month_ago() -> datetime.date:
    return (timezone.now() - datetime.timedelta(days=40)).date()


def _lines_and_statement(world: World) -> Statement:
    plan = make_plan(world, min_payout="0")
    entry(world, world.partner_a, "250.00", plan=plan, days_ago=400)  # brought forward
    entry(
        world,
        world.partner_a,
        "108.50",
        plan=plan,
        base_amount=Decimal("1000.00"),
        base_currency="EUR",
        fx_rate=Decimal("1.0850000000"),
        fx_date=_month_ago(),
        rate=Decimal("10"),
        rule_key="eu-resale-10",
        caps=[{"cap": "per_period", "limit": "5000.00", "trimmed": "0.00"}],
        explanation={"summary": "Purchase by a new customer matched 'EU resale 10%'"},
    )
    entry(
        world,
        world.partner_a,
        "-40.00",
        plan=plan,
        kind="reversal",
        rate=None,
        explanation={"summary": "Partial refund of 40%"},
    )
    entry(world, world.partner_a, "999.00", plan=plan, state="rejected", rate=None)  # never counted
    entry(world, world.partner_b, "77.00", plan=plan)  # another partner's
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        made = services.statements_generate(actor=actor, month=_month_ago())
    assert {s.partner_id for s in made} == {world.partner_a.pk, world.partner_b.pk}
    return next(s for s in made if s.partner_id == world.partner_a.pk)


def test_totals_and_lines_explained(world: World) -> None:
    statement = _lines_and_statement(world)
    assert (statement.opening, statement.earned, statement.paid, statement.closing) == (
        Decimal("250.00"),
        Decimal("68.50"),
        Decimal("0.00"),
        Decimal("318.50"),
    )
    with unscoped():
        lines = selectors.statement_lines(statement)
    assert [line.amount for line in lines] == [Decimal("108.50"), Decimal("-40.00")]
    explained = lines[0].explained
    for part in (
        "base 1,000.00 EUR",
        "rate 10%",
        "FX EUR→USD 1.085",
        "per period cap 5000.00",
        "EU resale 10%",
    ):
        assert part in explained
    assert "rule eu-resale-10" in lines[0].what


def test_the_pdf_and_csv_show_names_and_figures(world: World) -> None:
    statement = _lines_and_statement(world)
    actor = actor_for(world.a_admin)
    with scope(actor.access_scope()):
        pdf = selectors.statement_render(actor=actor, public_id=statement.public_id, fmt="pdf")
        sheet = selectors.statement_render(actor=actor, public_id=statement.public_id, fmt="csv")
    assert pdf.mimetype == "application/pdf" and pdf.filename.endswith(".pdf")
    text = pdf_text(pdf.content)
    for part in (
        "Commission statement",
        "Acme Resellers",
        "250.00",
        "108.50",
        "-40.00",
        "318.50",
        "FX EUR→USD",
        "1.085",
    ):
        assert part in text, part
    assert "Globex" not in text and "999.00" not in text
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0][0] == "date" and rows[1][1] == "opening balance" and rows[1][-2] == "250.00"
    assert rows[-1][1:2] == ["closing balance"] and rows[-1][-2] == "318.50"
    assert any("eu-resale-10" in r[2] and r[-2] == "108.50" for r in rows)


def test_self_billing_invoice_names_the_partner_tax_id_and_the_vendor(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PRM_VENDOR_ADDRESS = "1 Vendor Way\\n10115 Berlin"
    settings.PRM_VENDOR_TAX_ID = "DE999999999"
    bank_details(world, world.partner_a, self_billing=True)
    statement = _lines_and_statement(world)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        text = pdf_text(selectors.statement_render(actor=actor, public_id=statement.public_id).content)
    for part in (
        "Self-billing invoice",
        "SB-",
        "DE123456789",
        "DE999999999",
        "10115 Berlin",
        "Acme Resellers",
    ):
        assert part in text, part


def test_a_partner_only_reaches_their_own_statements(world: World) -> None:
    statement = _lines_and_statement(world)
    actor = actor_for(world.b_admin)
    with scope(actor.access_scope()):
        assert [s.partner_id for s in selectors.statement_list(actor=actor)] == [world.partner_b.pk]
        with pytest.raises(ObjectDoesNotExist):
            selectors.statement_render(actor=actor, public_id=statement.public_id, fmt="csv")


def test_generating_again_updates_the_totals(world: World) -> None:
    statement = _lines_and_statement(world)
    entry(
        world,
        world.partner_a,
        "10.00",
        plan=make_plan(world, name="Late", min_payout="0"),
        days_ago=(timezone.now().date() - statement.period_start).days,
    )
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        services.statements_generate(
            actor=actor, month=statement.period_start, partner_ids=[world.partner_a.pk]
        )
    with unscoped():
        statement.refresh_from_db()
        assert statement.earned == Decimal("78.50")
        assert Statement.objects.filter(partner=world.partner_a).count() == 1


def test_a_line_without_one_rate_says_what_paid_it(world: World) -> None:
    """A marginal tier split across brackets has no single rate: "volume tiers", not "flat reward"."""
    plan = make_plan(world, min_payout="0")

    def lines_of(rule: str, detail: str) -> dict[str, object]:
        return {"lines": [{"rule": rule, "kind": "accrual", "amount": "1.00", "detail": detail}]}

    entry(world, world.partner_a, "5532.50", plan=plan, rate=None, rule_key="resale",
          explanation=lines_of("resale", "marginal: 50000 at 10%, 3550 at 15%"))  # fmt: skip
    entry(world, world.partner_a, "500.00", plan=plan, rate=None, rule_key="bounty",
          explanation=lines_of("bounty", "flat 500"))  # fmt: skip
    entry(world, world.partner_a, "1000.00", plan=plan, rate=None, rule_key="q", kind="bonus",
          explanation=lines_of("q", "amount reached 150000 this quarter"))  # fmt: skip
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        (statement,) = services.statements_generate(actor=actor, month=_month_ago())
    with unscoped():
        explained = {line.amount: line.explained for line in selectors.statement_lines(statement)}
    assert "volume tiers" in explained[Decimal("5532.50")] and "flat" not in explained[Decimal("5532.50")]
    assert "flat reward" in explained[Decimal("500.00")]
    assert "bonus" in explained[Decimal("1000.00")] and "flat" not in explained[Decimal("1000.00")]
