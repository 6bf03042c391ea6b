"""The portal's Commissions pages: a partner user sees their own balances by state, the upcoming payout (and
why it is carried forward), their statements (PDF, CSV) and payments, and every commission explained in
words — never another partner's rows or statements (404, whatever the URL says), never a ledger note or an
internal tag; partner admins keep the payout details (masked), other partner users may not (403); staff
get 404 (the portal is the partners' area); the page's queries do not grow with the entries."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.commissions.models import PayoutDetails, PayoutItem, PayoutRun, Statement
from openprm.commissions.tests.payout_fixtures import IBAN_A, bank_details, entry, make_plan
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db

LEDGER_NOTE = "INTERNAL-LEDGER-NOTE-5c1e"
TAG = "INTERNAL-TAG-COMM-77aa"
B_AMOUNT = "98,765.43"  # partner B's commission, distinctive so that any leak is found
B_RULE = "globex-secret-rule"


@pytest.fixture
def books(world: Any) -> dict[str, Any]:
    """A: a pending commission (hold ends in 10 days), approved ones (one converted from EUR and trimmed by
    a cap), a paid one with its payout and statement, a clawback, an event that earned nothing (a tag
    condition failed). B: an approved commission and a statement of its own."""
    a, b, ws = world.partner_a, world.partner_b, world.workspace
    plan = make_plan(world, min_payout="500.00")
    today = timezone.now().date()
    entry(
        world,
        a,
        "120.00",
        plan=plan,
        state="pending",
        days_ago=20,
        rate=Decimal(10),
        hold_until=today + datetime.timedelta(days=10),
        note=LEDGER_NOTE,
    )
    entry(
        world,
        a,
        "200.00",
        plan=plan,
        rate=Decimal(10),
        base_amount=Decimal("1850.00"),
        base_currency="EUR",
        fx_rate=Decimal("1.0810810811"),
        fx_date=today - datetime.timedelta(days=40),
        caps=[{"cap": "per_event", "limit": "200", "trimmed": "15.00"}],
        explanation={"lines": [{"rule": "sales-10", "detail": "marginal: 2000 at 10%"}]},
    )
    paid = entry(world, a, "75.00", plan=plan, rate=Decimal(10), days_ago=70)
    entry(world, a, "-15.00", plan=plan, kind="clawback", rate=Decimal(10), days_ago=5, reverses=paid)
    entry(
        world,
        a,
        "0.00",
        plan=plan,
        rule_key="",
        rate=None,
        days_ago=3,
        source_event="signup",
        explanation={
            "event": "signup",
            "rules": [
                {"rule": "signup-bounty", "ok": False, "why": [f"partner.tags contains '{TAG}': was []"]},
                {"rule": "big-deals", "ok": False, "why": ["amount gte 10000: was 5000"]},
            ],
        },
    )
    entry(world, b, "98765.43", plan=plan, rule_key=B_RULE, rate=Decimal(10))
    with unscoped():
        run = PayoutRun.objects.create(
            workspace=ws, currency="USD", cutoff=today - datetime.timedelta(days=31), status="paid"
        )
        item = PayoutItem.objects.create(
            workspace=ws,
            run=run,
            partner=a,
            amount=Decimal("75.00"),
            currency="USD",
            status="paid",
            reference="BATCH-2026-11",
            paid_at=timezone.now() - datetime.timedelta(days=30),
            details_display="IBAN DE•• •••• 3000",
        )
        from openprm.commissions.models import LedgerEntry

        LedgerEntry.objects.filter(pk=paid.pk).update(state="paid", paid_item=item, paid_at=item.paid_at)
        statement_a = Statement.objects.create(
            workspace=ws,
            partner=a,
            period_start=today - datetime.timedelta(days=90),
            period_end=today - datetime.timedelta(days=30),
            currency="USD",
            earned=Decimal("75.00"),
            paid=Decimal("75.00"),
            payout_item=item,
        )
        statement_b = Statement.objects.create(
            workspace=ws,
            partner=b,
            period_start=today - datetime.timedelta(days=90),
            period_end=today - datetime.timedelta(days=30),
            currency="USD",
            earned=Decimal("98765.43"),
        )
    return {"plan": plan, "statement_a": statement_a, "statement_b": statement_b, "paid": paid}


def test_partner_sees_own_balances_payout_and_explained_commissions(world, books, client_for):
    page = client_for(world.a_rep).get(reverse("portal:commissions"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="balance-pending-USD"' in text and "120.00" in text
    # approved: 200 + the 0.00 event − 15 clawback
    assert "185.00" in text and "75.00" in text and "-15.00" in text
    assert "below the USD 500.00 minimum, carried forward" in text
    assert "Trimmed by 15.00 USD: the per-event cap is 200.00 USD." in text
    assert "converted at 1.0810810811 USD per EUR" in text and "Rate 10% (marginal: 2000 at 10%)." in text
    assert "Earned nothing." in text and "needs amount is at least 10000 (it was 5000)" in text
    assert "a partner-group condition was not met" in text
    assert "BATCH-2026-11" in text and "IBAN DE•• •••• 3000" in text
    for leak in (LEDGER_NOTE, TAG, B_AMOUNT, B_RULE, "Globex"):
        assert leak not in text, leak


def test_refunds_overrides_and_manual_adjustments_in_words(world, books, client_for):
    plan, paid = books["plan"], books["paid"]
    entry(
        world,
        world.partner_a,
        "-22.50",
        plan=plan,
        kind="reversal",
        state="pending",
        rate=Decimal(10),
        base_amount=Decimal("-225.00"),
        days_ago=1,
        note="refund of 30.00% of the sale",
        explanation={"reverses": str(paid.public_id), "detail": "refund of 30.00% of the sale"},
    )
    entry(
        world,
        world.partner_a,
        "0.60",
        plan=plan,
        kind="override",
        rate=Decimal(5),
        days_ago=1,
        base_amount=Decimal("12.00"),
        explanation={
            "override": 1,
            "of_partner": world.partner_b.pk,
            "detail": "5% of a level-1 sub-partner's 12.00",
        },
    )
    entry(
        world,
        world.partner_a,
        "50.00",
        plan=plan,
        kind="adjustment",
        source_kind="manual",
        rate=None,
        rule_key="",
        days_ago=1,
        note=LEDGER_NOTE,
        explanation={"detail": LEDGER_NOTE, "by": "finance@vendor.test"},
    )
    text = client_for(world.a_admin).get(reverse("portal:commissions")).content.decode()
    assert "Refund: commission reversed" in text and "Rate 10% (refund of 30.00% of the sale)." in text
    assert "Override on a sub-partner&#x27;s commission" in text
    assert "5% of a level-1 sub-partner&#x27;s 12.00." in text
    assert "A manual adjustment by our finance team" in text
    for leak in (LEDGER_NOTE, "finance@vendor.test", "Globex"):
        assert leak not in text, leak


def test_state_filter_and_other_partner(world, books, client_for):
    text = client_for(world.a_admin).get(reverse("portal:commissions"), {"state": "pending"}).content.decode()
    assert "120.00" in text and "pending until" in text and "marginal: 2000 at 10%" not in text
    b_page = client_for(world.b_admin).get(reverse("portal:commissions"), {"partner": world.partner_a.pk})
    b_text = b_page.content.decode()
    assert B_AMOUNT in b_text and "BATCH-2026-11" not in b_text and "120.00" not in b_text


def test_statement_downloads_are_the_partners_own(world, books, client_for):
    a, b = client_for(world.a_rep), client_for(world.b_admin)
    own, other = books["statement_a"].public_id, books["statement_b"].public_id
    pdf = a.get(reverse("portal:commission_statement", args=[own, "pdf"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    csv = a.get(reverse("portal:commission_statement", args=[own, "csv"]))
    assert csv.status_code == 200 and b"75.00" in csv.content and LEDGER_NOTE.encode() not in csv.content
    for fmt in ("pdf", "csv"):
        assert a.get(reverse("portal:commission_statement", args=[other, fmt])).status_code == 404
        assert b.get(reverse("portal:commission_statement", args=[own, fmt])).status_code == 404
    assert a.get(reverse("portal:commission_statement", args=[own, "html"])).status_code == 404
    assert b.get(reverse("portal:commission_statement", args=[other, "csv"])).status_code == 200
    listed = a.get(reverse("portal:commissions")).content.decode()
    assert str(own) in listed and str(other) not in listed


def test_staff_get_404(world, books, client_for):
    for user in (world.admin, world.finance):
        client = client_for(user)
        assert client.get(reverse("portal:commissions")).status_code == 404
        assert client.get(reverse("portal:payout_details")).status_code == 404
        url = reverse("portal:commission_statement", args=[books["statement_a"].public_id, "pdf"])
        assert client.get(url).status_code == 404


def test_partner_admin_keeps_payout_details_masked(world, books, client_for):
    url = reverse("portal:payout_details")
    assert client_for(world.a_rep).get(url).status_code == 403
    assert client_for(world.a_rep).post(url, {"method": "paypal"}).status_code == 403
    admin = client_for(world.a_admin)
    assert admin.get(url).status_code == 200
    bad = admin.post(url, {"method": "bank", "currency": "EUR", "holder_name": "Acme", "iban": "DE00123"})
    assert bad.status_code == 200 and "Not a valid IBAN" in bad.content.decode()
    saved = admin.post(
        url,
        {
            "method": "bank",
            "currency": "EUR",
            "holder_name": "Acme GmbH",
            "iban": IBAN_A,
            "tax_id": "DE999888777",
        },
    )
    assert saved.status_code == 302 and saved.url == reverse("portal:commissions")
    shown = admin.get(url).content.decode() + admin.get(reverse("portal:commissions")).content.decode()
    assert "DE•• •••• 3000" in shown
    assert IBAN_A not in shown and "DE999888777" not in shown
    with unscoped():
        details = PayoutDetails.objects.get(partner=world.partner_a)
        assert IBAN_A not in details.secret and details.updated_by_id == world.a_admin.pk
    b_text = client_for(world.b_admin).get(url).content.decode()
    assert "3000" not in b_text and "Acme GmbH" not in b_text


def test_no_details_and_due_messages(world, client_for):
    plan = make_plan(world, min_payout="50.00")
    entry(world, world.partner_a, "80.00", plan=plan, rate=Decimal(10))
    text = client_for(world.a_admin).get(reverse("portal:commissions")).content.decode()
    assert "payout details missing" in text and "add your payout details" in text
    bank_details(world, world.partner_a)
    text = client_for(world.a_admin).get(reverse("portal:commissions")).content.decode()
    assert 'data-status="due"' in text and "Expected with the payout after" in text
    rep_text = client_for(world.a_rep).get(reverse("portal:commissions")).content.decode()
    assert "Paid to:" not in rep_text  # payout details are the partner admins'


def test_page_queries_do_not_grow_with_entries(world, books, client_for):
    client = client_for(world.a_rep)
    url = reverse("portal:commissions")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    plan = books["plan"]
    for _ in range(15):
        entry(world, world.partner_a, "10.00", plan=plan, rate=Decimal(10))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


RATE_RULES = {
    "rules": [
        {
            "key": "volume",
            "label": "Reseller volume",
            "event": ["deal_won"],
            "conditions": {"all": [{"field": "partner.tags", "op": "contains", "value": TAG}]},
            "reward": {
                "type": "tiered",
                "period": "quarter",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
            },
        },
        {
            "key": "quarter-bonus",
            "event": ["deal_won"],
            "reward": {"type": "threshold", "threshold": 100000, "period": "quarter", "amount": 1000},
        },
    ],
    "overrides": {"levels": [5]},
}


def test_rate_now_and_what_raises_it(world, client_for):
    from openprm.commissions.services import plans as plan_services
    from openprm.core.scoping import scope

    system, today = world.system, timezone.now().date()
    with scope(system.access_scope()):
        plan = plan_services.plan_create(actor=system, name="Resellers 2026", currency="USD", hold_days=30)
        version = plan_services.version_create_draft(
            actor=system, plan=plan, rules=RATE_RULES, effective_from=today - datetime.timedelta(days=200)
        )
        plan_services.version_publish(actor=system, version=version)
        plan_services.assignment_create(
            actor=system,
            plan=plan,
            level="partner",
            target_id=world.partner_a.pk,
            starts_on=today - datetime.timedelta(days=200),
        )
    # 37,600 USD of matched volume this quarter: 30,000 USD and 7,000 EUR at 1.08
    entry(
        world,
        world.partner_a,
        "3000.00",
        plan=plan,
        rule_key="volume",
        days_ago=0,
        base_amount=Decimal("30000"),
        source_event="deal_won",
    )
    entry(
        world,
        world.partner_a,
        "756.00",
        plan=plan,
        rule_key="volume",
        days_ago=0,
        base_amount=Decimal("7000"),
        source_event="deal_won",
        base_currency="EUR",
        fx_rate=Decimal("1.08"),
    )
    for base, ccy, fx in (("30000", "USD", "1"), ("7000", "EUR", "1.08")):  # the bonus rule's own rows
        entry(
            world,
            world.partner_a,
            "0.00",
            plan=plan,
            kind="bonus",
            rule_key="quarter-bonus",
            rate=None,
            days_ago=0,
            base_amount=Decimal(base),
            source_event="deal_won",
            base_currency=ccy,
            fx_rate=Decimal(fx),
        )
    text = client_for(world.a_rep).get(reverse("portal:commissions")).content.decode()
    assert "Resellers 2026, version 1" in text and "30-day holding period" in text
    assert "now 10%" in text
    assert "Earn 15% after 50,000.00 USD this quarter — 12,440.00 USD to go." in text
    assert "Bonus of 1,000.00 USD at 100,000.00 USD this quarter — 62,440.00 USD to go." in text
    assert "You earn 5% of the commissions of partners you recruited." in text
    assert TAG not in text and "partner group" in text
    b_text = client_for(world.b_admin).get(reverse("portal:commissions")).content.decode()
    assert "No commission plan applies to you today" in b_text and "Resellers 2026" not in b_text
