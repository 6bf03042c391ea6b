"""The staff deal page: each conflict once, history in words for people (raw diff behind "Details"),
and a warning when the line items disagree with the deal amount (also said by the API)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import Deal, DealConflict
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def register(user: Any, name: str, domain: str, amount: str = "20000", **data: Any) -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor,
            data={"customer_name": name, "customer_domain": domain, "amount": amount, **data},
            idempotency_key=data.pop("key", None),
        )
    return deal


def section(html: str, start: str, end: str | None = None) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin) if end else len(html)]


def visible_text(html: str) -> str:
    """The page as people see it before opening any "Details" disclosure."""
    html = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_a_conflict_stored_in_both_directions_is_listed_once(world: Any, client_for: Any) -> None:
    first = register(world.a_admin, "ACME Inc.", "www.acme.com")
    second = register(world.b_admin, "Acme Corp", "acme.com")
    # editing the first deal re-checks it: the pair keeps its one row
    manager = actor_for(world.manager)
    with scope(manager.access_scope()):
        services.deal_update(actor=manager, deal=first, data={"customer_name": "ACME Incorporated"})
    with unscoped():
        assert DealConflict.objects.count() == 1
        # older data holds the pair twice (stored from each side)
        DealConflict.objects.create(
            workspace_id=first.workspace_id, deal=first, other=second, score="0.9", reasons=["same"]
        )
    for deal in (first, second):
        html = client_for(world.manager).get(reverse("deals:detail", args=[deal.public_id])).text
        box = section(html, 'id="conflicts"', 'id="line-items"')
        assert box.count('class="conflict"') == 1, box
        assert "1 open" in box


def test_history_reads_as_sentences_with_the_raw_diff_on_demand(world: Any, client_for: Any) -> None:
    deal = register(world.a_admin, "Initech", "initech.example", "12000", key="retry-key-123")
    manager = actor_for(world.manager)
    with scope(manager.access_scope()):
        services.deal_approve(actor=manager, deal=deal, note="Welcome")
        services.deal_move_stage(actor=manager, deal=deal, stage_key="qualified")
        services.deal_update(actor=manager, deal=deal, data={"amount": "15000.5"})
    html = client_for(world.manager).get(reverse("deals:detail", args=[deal.public_id])).text
    history = section(html, 'id="history"')
    shown = visible_text(history)
    assert "Manager approved the registration" in shown
    assert "Manager moved the deal to Qualified" in shown
    assert "Stage: Registered → Qualified" in shown
    assert "Amount: USD 12,000.00 → USD 15,000.50" in shown
    assert "Admin registered the deal" in shown
    assert "Approval: Submitted → Approved" in shown
    for internal in ("idempotency_key", "retry-key-123", "customer_key", "customer_domain_root", "initech ("):
        assert internal not in shown, internal
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", shown), "microsecond timestamps"
    assert f"({deal.partner_id})" not in shown  # no database ids
    # the raw field diff is still there, behind a disclosure
    assert history.count("<details") == 4 and "<summary>Details</summary>" in history
    raw = section(history, "<details")
    assert "idempotency_key" in raw and "retry-key-123" in raw
    # the HTMX pager renders the same rows
    fragment = client_for(world.manager).get(reverse("deals:history", args=[deal.public_id])).text
    assert "Manager approved the registration" in fragment


def test_line_items_that_disagree_with_the_amount_are_flagged(
    world: Any, client_for: Any, api_for: Any
) -> None:
    lines = [{"product": "Widget", "quantity": "2", "unit_price": "1000"}]
    off = register(world.a_admin, "Initech", "initech.example", "5000", line_items=lines)
    even = register(world.a_admin, "Hooli", "hooli.example", "2000", line_items=lines)
    bare = register(world.a_admin, "Umbrella", "umbrella.example", "700")
    page = client_for(world.manager).get(reverse("deals:detail", args=[off.public_id])).text
    warning = section(page, 'id="amount-mismatch"', "</p>")
    assert "USD 2,000.00" in warning and "USD 5,000.00" in warning
    for deal in (even, bare):
        page = client_for(world.manager).get(reverse("deals:detail", args=[deal.public_id])).text
        assert 'id="amount-mismatch"' not in page
    for user in (world.manager, world.a_admin):  # staff and the partner's own API
        api = api_for(user)
        body = api.get(f"/api/v1/deals/{off.public_id}").json()
        assert (body["line_items_total"], body["amount_mismatch"]) == ("2000.00", True)
        body = api.get(f"/api/v1/deals/{even.public_id}").json()
        assert (body["line_items_total"], body["amount_mismatch"]) == ("2000.00", False)
        body = api.get(f"/api/v1/deals/{bare.public_id}").json()
        assert (body["line_items_total"], body["amount_mismatch"]) == (None, False)
