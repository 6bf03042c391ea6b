"""The ledger pages: filters, keyset pages, bulk approve / reject from the list (finance; a reason to
reject), an entry explained in words, the "why nothing" lookup; analysts and managers read without the
actions; partner users get 404."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from openprm.commissions.models import LedgerEntry
from openprm.commissions.tests.ui_fixtures import entry, make_plan
from openprm.core.scoping import unscoped
from openprm.scorecards.tests.conftest import register

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 10, day, 9, 0, tzinfo=datetime.UTC)


def test_the_list_filters_and_pages_by_keyset(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    for n in range(1, 56):
        entry(world, world.partner_a, f"{n}.00", plan=plan, when=at(1 + n % 28))
    entry(world, world.partner_b, "999.00", plan=plan, state="approved", when=at(28))
    client = client_for(world.analyst)
    first = client.get("/commissions/ledger/").content.decode()
    assert first.count('id="entry-') == 50 and 'id="older"' in first
    assert 'name="ids"' not in first  # analysts read only
    older = first.split('id="older"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/commissions/ledger/{older}").content.decode()
    assert second.count('id="entry-') == 6 and "← Newest" in second
    only_b = client.get(
        f"/commissions/ledger/?partner={world.partner_b.public_id}&state=approved"
    ).content.decode()
    assert only_b.count('id="entry-') == 1 and "999.00 USD" in only_b
    bad = client.get("/commissions/ledger/?period=2026-13&cursor=x").content.decode()
    assert "YYYY-MM" in bad
    assert "Not a cursor" in client.get("/commissions/ledger/?cursor=nonsense").content.decode()


def test_list_query_count_does_not_grow(
    world: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    plan = make_plan(world)
    client = client_for(world.finance)
    for n in range(40):
        entry(world, world.partner_a if n % 2 else world.partner_b, "1.00", plan=plan, when=at(1 + n % 28))
    with django_assert_max_num_queries(14):
        assert client.get("/commissions/ledger/").status_code == 200


def test_finance_approves_and_rejects_in_bulk(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    one, two = (
        entry(world, world.partner_a, "10.00", plan=plan),
        entry(world, world.partner_b, "20.00", plan=plan),
    )
    for user in (world.analyst, world.manager):
        assert (
            client_for(user)
            .post("/commissions/ledger/", {"action": "approve", "ids": [str(one.public_id)]})
            .status_code
            == 404
        )
    client = client_for(world.finance)
    page = client.get("/commissions/ledger/").content.decode()
    assert 'name="ids"' in page and "Approve ticked" in page
    approved = client.post(
        "/commissions/ledger/", {"action": "approve", "ids": [str(one.public_id)]}, follow=True
    )
    assert "1 entry approved." in approved.content.decode()
    no_reason = client.post(
        "/commissions/ledger/", {"action": "reject", "ids": [str(two.public_id)]}, follow=True
    )
    assert "Say why" in no_reason.content.decode()
    client.post(
        f"/commissions/ledger/{two.public_id}/",
        {"action": "reject", "ids": [str(two.public_id)], "reason": "test deal"},
    )
    with unscoped():
        states = dict(LedgerEntry.objects.filter(pk__in=[one.pk, two.pk]).values_list("pk", "state"))
    assert states == {one.pk: "approved", two.pk: "rejected"}


def test_an_entry_and_why_nothing(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    found = entry(world, world.partner_a, "1000.00", plan=plan)
    client = client_for(world.manager)
    page = client.get(f"/commissions/ledger/{found.public_id}/").content.decode()
    assert "1 EUR = 1.0909090909 USD" in page and "Capped per event at 1000 USD: 200.00 USD trimmed." in page
    assert "Rule big-deal: not applied (amount gt 20000: was 12000.00)." in page
    assert 'id="entry-actions"' not in page  # managers read only
    register(world, world.partner_b, "100.00")
    with unscoped():
        from openprm.deals.models import Deal

        deal = Deal.objects.get(partner=world.partner_b)
    why = client.get(f"/commissions/ledger/why/?source=deal&id={deal.public_id}").content.decode()
    assert "It earned nothing." in why and "still open" in why
    missing = client.get("/commissions/ledger/why/?source=deal&id=00000000-0000-0000-0000-000000000000")
    assert "No deal with this id" in missing.content.decode()


def test_partner_users_get_404(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    theirs = entry(world, world.partner_a, "10.00", plan=plan)
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = client_for(user)
        assert client.get("/commissions/ledger/").status_code == 404
        assert client.get(f"/commissions/ledger/{theirs.public_id}/").status_code == 404
        assert client.get("/commissions/ledger/why/").status_code == 404
        assert (
            client.post(
                "/commissions/ledger/", {"action": "approve", "ids": [str(theirs.public_id)]}
            ).status_code
            == 404
        )


def test_the_earned_filter_on_the_page(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    paid = entry(world, world.partner_a, "10.00", plan=plan)
    nothing = entry(world, world.partner_a, "0.00", plan=plan)
    client = client_for(world.analyst)
    shown = client.get("/commissions/ledger/?earned=nothing").content.decode()
    assert f'id="entry-{nothing.public_id}"' in shown and f'id="entry-{paid.public_id}"' not in shown
    assert '<option value="nothing" selected>' in shown
    shown = client.get("/commissions/ledger/?earned=something").content.decode()
    assert f'id="entry-{paid.public_id}"' in shown and f'id="entry-{nothing.public_id}"' not in shown
    assert (
        "earned: One of: nothing, something." in client.get("/commissions/ledger/?earned=x").content.decode()
    )


def test_a_manual_adjustment_on_the_page(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    finance = client_for(world.finance)
    ledger = finance.get("/commissions/ledger/").content.decode()
    assert 'id="new-adjustment"' in ledger
    form = finance.get(f"/commissions/ledger/adjustments/new/?partner={world.partner_b.public_id}")
    assert (
        form.status_code == 200 and f'value="{world.partner_b.public_id}" selected' in form.content.decode()
    )
    data = {"partner": str(world.partner_b.public_id), "plan": str(plan.public_id), "amount": "75.50"}
    missing = finance.post("/commissions/ledger/adjustments/new/", data | {"reason": " "}).content.decode()
    assert "Say why" in missing
    zero = finance.post("/commissions/ledger/adjustments/new/", data | {"amount": "0", "reason": "x"})
    assert "Not zero" in zero.content.decode()
    done = finance.post("/commissions/ledger/adjustments/new/", data | {"reason": "late registration bonus"})
    assert done.status_code == 302
    with unscoped():
        made = LedgerEntry.objects.get(kind="adjustment")
    assert (made.partner_id, str(made.amount), made.note) == (
        world.partner_b.pk,
        "75.50",
        "late registration bonus",
    )
    assert done["Location"] == f"/commissions/ledger/{made.public_id}/"
    analyst = client_for(world.analyst)
    assert 'id="new-adjustment"' not in analyst.get("/commissions/ledger/").content.decode()
    assert analyst.get("/commissions/ledger/adjustments/new/").status_code == 404
    for user in (world.a_admin, world.b_admin):
        assert client_for(user).get("/commissions/ledger/adjustments/new/").status_code == 404
        assert (
            client_for(user).post("/commissions/ledger/adjustments/new/", data | {"reason": "x"}).status_code
            == 404
        )
    with unscoped():
        assert LedgerEntry.objects.filter(kind="adjustment").count() == 1


def test_the_rate_column_says_what_paid_an_entry_without_one_rate(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    line = {"rule": "resale", "kind": "accrual", "amount": "5532.50"}
    split = {"lines": [{**line, "detail": "marginal: 50000 at 10%, 3550 at 15%"}]}
    tiers = entry(world, world.partner_a, "5532.50", plan=plan, rate=None, explanation=split)
    flat = entry(world, world.partner_a, "500.00", plan=plan, rate=None, rule_key="bounty")
    rated = entry(world, world.partner_a, "120.00", plan=plan, rate=12)
    client = client_for(world.analyst)
    page = client.get("/commissions/ledger/").content.decode()

    def cell(found: LedgerEntry) -> str:
        row = page.split(f'id="entry-{found.public_id}"', 1)[1].split("</tr>", 1)[0]
        return row.rsplit('<td class="cm-num">', 2)[1].split("</td>", 1)[0]

    assert (cell(tiers), cell(flat), cell(rated)) == ("volume tiers", "flat", "12%")
    detail = client.get(f"/commissions/ledger/{tiers.public_id}/").content.decode()
    assert "<dt>Rate</dt><dd>volume tiers</dd>" in detail
