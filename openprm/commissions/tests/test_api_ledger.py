"""The ledger API: filters, keyset pages (no entry twice, none lost), one entry explained in words (rule,
conditions, caps, FX rate), bulk approve / reject (finance only; a reason to reject), why a deal earned
nothing; partner users get nothing."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from openprm.commissions.models import LedgerEntry
from openprm.commissions.tests.ui_fixtures import entry, make_plan
from openprm.core.scoping import unscoped
from openprm.scorecards.tests.conftest import register

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 10, day, 9, 0, tzinfo=datetime.UTC)


def test_filters_and_keyset_pages(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    same = at(5)
    mine = [
        entry(world, world.partner_a, f"{n}.00", plan=plan, when=same if n < 4 else at(n))
        for n in range(1, 8)
    ]
    entry(world, world.partner_b, "9.00", plan=plan, state="approved", when=at(20))
    client = api_for(world.analyst)
    seen: list[str] = []
    url = f"/api/v1/commissions/ledger?partner={world.partner_a.public_id}&limit=2"
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [e["id"] for e in body["items"]]
        url = (
            f"/api/v1/commissions/ledger?partner={world.partner_a.public_id}&limit=2&cursor={body['next_cursor']}"
            if body["next_cursor"]
            else ""
        )
    assert len(seen) == len(set(seen)) == 7  # three entries share a moment: the id breaks the tie
    assert seen == [str(e.public_id) for e in sorted(mine, key=lambda e: (e.occurred_at, e.pk), reverse=True)]
    approved = client.get("/api/v1/commissions/ledger?state=approved").json()["items"]
    assert [e["partner_name"] for e in approved] == ["Globex Referrals"]
    assert client.get("/api/v1/commissions/ledger?period=2026-10&kind=accrual&source=deal").json()["items"]
    assert client.get("/api/v1/commissions/ledger?period=2026-09").json()["items"] == []
    assert (
        client.get(f"/api/v1/commissions/ledger?plan={plan.public_id}&limit=500").json()["next_cursor"]
        is None
    )
    bad = client.get("/api/v1/commissions/ledger?period=2026-13")
    assert bad.status_code == 422 and bad.json()["field"] == "period"
    cursor = client.get("/api/v1/commissions/ledger?cursor=nonsense")
    assert cursor.status_code == 422 and cursor.json()["field"] == "cursor"
    assert client.get("/api/v1/commissions/ledger?state=lost").status_code == 422


def test_the_list_reads_a_fixed_number_of_queries(
    world: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    plan = make_plan(world)
    for n in range(30):
        entry(world, world.partner_a if n % 2 else world.partner_b, "1.00", plan=plan, when=at(1 + n % 28))
    client = api_for(world.analyst)
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/commissions/ledger?limit=30").json()["items"]) == 30


def test_an_entry_explained(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    found = entry(world, world.partner_a, "1000.00", plan=plan)
    body = api_for(world.finance).get(f"/api/v1/commissions/ledger/{found.public_id}").json()
    assert body["amount"] == "1000.00" and body["rate"] == "10.000000"
    text = "\n".join(body["explained"])
    assert "1 EUR = 1.0909090909 USD" in text  # the FX rate used, and its day
    assert "Rule big-deal: not applied (amount gt 20000: was 12000.00)" in text
    assert "Capped per event at 1000 USD: 200.00 USD trimmed." in text
    assert body["explanation"]["chosen"] == ["resale"]


def test_bulk_approve_and_reject(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    a1, a2 = (
        entry(world, world.partner_a, "10.00", plan=plan),
        entry(world, world.partner_a, "20.00", plan=plan),
    )
    paid = entry(world, world.partner_b, "30.00", plan=plan, state="approved")
    for user in (world.analyst, world.manager):
        assert (
            post(
                api_for(user), "/api/v1/commissions/ledger/approve", {"ids": [str(a1.public_id)]}
            ).status_code
            == 403
        )
    finance = api_for(world.finance)
    done = post(
        finance, "/api/v1/commissions/ledger/approve", {"ids": [str(a1.public_id), str(paid.public_id)]}
    )
    assert done.status_code == 200, done.content
    assert done.json()["changed"] == 1  # the approved one is left alone
    no_reason = post(finance, "/api/v1/commissions/ledger/reject", {"ids": [str(a2.public_id)], "reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    rejected = post(
        finance, "/api/v1/commissions/ledger/reject", {"ids": [str(a2.public_id)], "reason": "duplicate deal"}
    )
    assert rejected.json()["changed"] == 1
    with unscoped():
        states = dict(LedgerEntry.objects.filter(pk__in=[a1.pk, a2.pk]).values_list("pk", "state"))
        reason = LedgerEntry.objects.get(pk=a2.pk).rejected_reason
    assert states == {a1.pk: "approved", a2.pk: "rejected"} and reason == "duplicate deal"


def test_why_a_deal_earned_nothing(world: Any, api_for: Any) -> None:
    make_plan(world)
    register(world, world.partner_b, "100.00")
    with unscoped():
        from openprm.deals.models import Deal

        deal = Deal.objects.get(partner=world.partner_b)
    body = api_for(world.analyst).get(f"/api/v1/commissions/ledger/why?source=deal&id={deal.public_id}")
    assert body.status_code == 200, body.content
    assert body.json()["earned"] is False and body.json()["entries"] == []
    assert body.json()["explained"]
    assert (
        api_for(world.analyst)
        .get("/api/v1/commissions/ledger/why?source=deal&id=00000000-0000-0000-0000-000000000000")
        .status_code
        == 404
    )


def test_partner_users_get_nothing(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    theirs = entry(world, world.partner_a, "10.00", plan=plan)
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = api_for(user)
        assert client.get("/api/v1/commissions/ledger").status_code == 404
        assert client.get(f"/api/v1/commissions/ledger/{theirs.public_id}").status_code == 404
        assert (
            post(client, "/api/v1/commissions/ledger/approve", {"ids": [str(theirs.public_id)]}).status_code
            == 404
        )
        assert (
            client.get(f"/api/v1/commissions/ledger/why?source=deal&id={theirs.public_id}").status_code == 404
        )


def test_why_a_won_deal_earned_nothing_names_the_missing_plan(world: Any, api_for: Any) -> None:
    make_plan(world)  # published, but assigned to nobody
    register(world, world.partner_b, "100.00", "closed_won")
    with unscoped():
        from openprm.deals.models import Deal

        deal = Deal.objects.get(partner=world.partner_b)
    body = (
        api_for(world.finance).get(f"/api/v1/commissions/ledger/why?source=deal&id={deal.public_id}").json()
    )
    assert body["earned"] is False
    assert body["explained"][0].startswith("No published plan applied to Globex Referrals on ")


def test_reversals_add_no_queries_to_the_list(world: Any, api_for: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = make_plan(world)
    originals = [entry(world, world.partner_a, "10.00", plan=plan, when=at(1 + n)) for n in range(6)]
    client = api_for(world.analyst)

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/api/v1/commissions/ledger?limit=100").status_code == 200
        return len(seen)

    queries()  # the first request of a client reads its token once more
    before = queries()
    for n, original in enumerate(originals):
        entry(world, world.partner_a, "-5.00", plan=plan, kind="reversal", when=at(10 + n), reverses=original)
    assert queries() == before
    items = client.get("/api/v1/commissions/ledger?kind=reversal").json()["items"]
    assert {i["reverses_id"] for i in items} == {str(o.public_id) for o in originals}


def test_the_earned_filter(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    paid = entry(world, world.partner_a, "10.00", plan=plan)
    nothing = entry(world, world.partner_a, "0.00", plan=plan)
    marker = entry(world, world.partner_a, "0.00", plan=plan, kind="adjustment")  # "nothing to settle"
    client = api_for(world.analyst)

    def ids(query: str) -> set[str]:
        answer = client.get(f"/api/v1/commissions/ledger{query}")
        assert answer.status_code == 200, answer.content
        return {i["id"] for i in answer.json()["items"]}

    assert ids("") == {str(paid.public_id), str(nothing.public_id), str(marker.public_id)}
    assert ids("?earned=nothing") == {str(nothing.public_id)}  # an event that earned nothing, not a marker
    assert ids("?earned=something") == {str(paid.public_id)}
    bad = client.get("/api/v1/commissions/ledger?earned=maybe")
    assert bad.status_code == 422 and bad.json()["field"] == "earned"


def test_a_manual_adjustment(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    url = "/api/v1/commissions/ledger/adjustments"
    body = {
        "partner": str(world.partner_a.public_id),
        "plan": str(plan.public_id),
        "amount": "-150.00",
        "reason": "double-counted deal",
        "occurred_on": "2026-10-15",
    }
    for user in (world.analyst, world.manager):
        assert post(api_for(user), url, body).status_code == 403
    for user in (world.a_admin, world.a_rep, world.b_admin):
        assert post(api_for(user), url, body).status_code == 404
    finance = api_for(world.finance)
    done = post(finance, url, body)
    assert done.status_code == 201, done.content
    made = done.json()
    assert (made["kind"], made["state"], made["amount"], made["currency"]) == (
        "adjustment",
        "pending",
        "-150.00",
        "USD",
    )
    assert made["partner_id"] == str(world.partner_a.public_id) and made["note"] == "double-counted deal"
    assert made["period"] == "2026-10-01" and made["source_kind"] == "manual"
    with unscoped():
        from openprm.core.models import AuditEntry

        assert AuditEntry.objects.filter(object_id=made["id"], action="create").exists()
    for field, change in (
        ("partner", {"partner": "00000000-0000-0000-0000-000000000000"}),
        ("plan", {"plan": "00000000-0000-0000-0000-000000000000"}),
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "lots"}),
        ("amount", {"amount": "1.001"}),
        ("reason", {"reason": "  "}),
        ("occurred_on", {"occurred_on": "2026-02-30"}),
    ):
        bad = post(finance, url, body | change)
        assert bad.status_code == 422 and bad.json()["field"] == field, (change, bad.content)
    assert post(finance, url, body | {"surprise": 1}).status_code == 422


def test_an_adjustment_reaches_no_other_workspace(world: Any, api_for: Any) -> None:
    from openprm.commissions.models import Plan
    from openprm.core.models import Workspace
    from openprm.partners.models import Partner, PartnerType

    plan = make_plan(world)
    with unscoped():
        other = Workspace.objects.create(name="Other", slug="other")
        kind = PartnerType.objects.create(workspace=other, key="reseller", label="Reseller")
        theirs = Partner.objects.create(workspace=other, name="Elsewhere Ltd", type=kind)
        their_plan = Plan.objects.create(workspace=other, name="Theirs", currency="EUR")
    finance = api_for(world.finance)
    url = "/api/v1/commissions/ledger/adjustments"
    body = {"partner": str(theirs.public_id), "plan": str(plan.public_id), "amount": "10", "reason": "x"}
    assert post(finance, url, body).json()["field"] == "partner"
    body = {
        "partner": str(world.partner_a.public_id),
        "plan": str(their_plan.public_id),
        "amount": "10",
        "reason": "x",
    }
    assert post(finance, url, body).json()["field"] == "plan"
    with unscoped():
        assert not LedgerEntry.objects.filter(kind="adjustment").exists()
