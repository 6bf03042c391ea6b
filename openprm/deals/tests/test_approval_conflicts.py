"""Approving a registration with open conflicts is refused with a clear message, unless the conflicts are
resolved first or the approver overrides them with a reason (audited, shown in the deal history)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import ApprovalStatus, Deal, DealConflict
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


def register(user: Any, name: str, domain: str, amount: str = "20000") -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor, data={"customer_name": name, "customer_domain": domain, "amount": amount}
        )
    return deal


def fresh(deal: Deal) -> Deal:
    with unscoped():
        return Deal.objects.select_related("stage").get(pk=deal.pk)


@pytest.fixture
def rivals(world: Any) -> tuple[Deal, Deal]:
    first = register(world.a_admin, "ACME Inc.", "www.acme.com", "48000")
    second = register(world.b_admin, "Acme Corp", "acme.com", "31337")
    return first, second


def test_service_refuses_approval_with_open_conflicts(world: Any, rivals: tuple[Deal, Deal]) -> None:
    first, second = rivals
    actor = actor_for(world.manager)
    for deal, rival_partner in ((first, "Globex Referrals"), (second, "Acme Resellers")):
        with scope(actor.access_scope()), pytest.raises(services.OpenConflicts) as refused:
            services.deal_approve(actor=actor, deal=deal)
        assert "1 open conflict" in refused.value.summary and rival_partner in refused.value.summary
        assert fresh(deal).approval_status == ApprovalStatus.SUBMITTED
    with scope(actor.access_scope()), pytest.raises(ValidationError) as no_reason:
        services.deal_approve(actor=actor, deal=first, override_conflicts=True, override_reason="  ")
    assert "override_reason" in no_reason.value.message_dict


def test_api_answers_409_listing_the_conflicts(world: Any, rivals: tuple[Deal, Deal], api_for: Any) -> None:
    first, second = rivals
    staff = api_for(world.manager)
    response = staff.post(f"{API}/deals/{first.public_id}/approve", data={}, content_type="application/json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "open_conflicts" and body["field"] == "override_conflicts"
    assert "Globex Referrals" in body["message"] and "override_conflicts" in body["message"]
    with unscoped():
        conflict = DealConflict.objects.get()
    assert [e["field"] for e in body["errors"]] == [f"conflicts.{conflict.public_id}"]
    assert "Acme Corp" in body["errors"][0]["message"] and "31,337.00" in body["errors"][0]["message"]
    assert fresh(first).approval_status == ApprovalStatus.SUBMITTED
    # override without a reason: 422 naming the field
    response = staff.post(
        f"{API}/deals/{first.public_id}/approve",
        data={"override_conflicts": True},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["field"] == "override_reason"
    # override with a reason: approved, audited, and the conflict stays open for the other registration
    response = staff.post(
        f"{API}/deals/{first.public_id}/approve",
        data={"override_conflicts": True, "override_reason": "Joint bid agreed by both partners"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["approval_status"] == "approved"
    with unscoped():
        entries = AuditEntry.objects.filter(object_id=first.public_id, changes__has_key="override_reason")
        [entry] = entries
    assert entry.changes["override_reason"]["after"] == "Joint bid agreed by both partners"
    assert entry.actor_label == actor_for(world.manager).label
    # the rival still may not be approved silently
    response = staff.post(f"{API}/deals/{second.public_id}/approve", data={}, content_type="application/json")
    assert response.status_code == 409


def test_resolving_the_conflict_first_lets_the_approval_through(
    world: Any, rivals: tuple[Deal, Deal], api_for: Any
) -> None:
    first, second = rivals
    staff = api_for(world.manager)
    with unscoped():
        conflict = DealConflict.objects.get()
    response = staff.post(
        f"{API}/conflicts/{conflict.public_id}/resolve",
        data={"resolution": "co_sell"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    for deal in (first, second):
        response = staff.post(
            f"{API}/deals/{deal.public_id}/approve", data={}, content_type="application/json"
        )
        assert response.status_code == 200, response.content


def test_rejected_rival_no_longer_blocks(world: Any, rivals: tuple[Deal, Deal], api_for: Any) -> None:
    first, second = rivals
    actor = actor_for(world.manager)
    with scope(actor.access_scope()):
        services.deal_reject(actor=actor, deal=second, reason="Duplicate")
        services.deal_approve(actor=actor, deal=first)
    assert fresh(first).approval_status == ApprovalStatus.APPROVED


def test_resolve_approve_this_still_approves_the_winner(world: Any, rivals: tuple[Deal, Deal]) -> None:
    first, second = rivals
    actor = actor_for(world.manager)
    with unscoped():
        conflict = DealConflict.objects.get()
    with scope(actor.access_scope()):
        services.conflict_resolve(
            actor=actor, conflict=conflict, resolution="approve_other", reason="A first"
        )
    assert fresh(first).approval_status == ApprovalStatus.APPROVED
    assert fresh(second).approval_status == ApprovalStatus.REJECTED


def test_deal_page_shows_the_refusal_and_offers_an_override(
    world: Any, rivals: tuple[Deal, Deal], client_for: Any
) -> None:
    first, _ = rivals
    client = client_for(world.manager)
    url = reverse("deals:approve", args=[first.public_id])
    page = client.post(url, {"note": ""}, follow=True)
    html = page.content.decode()
    assert "1 open conflict" in html and "Globex Referrals" in html
    assert 'name="override_conflicts"' in html and 'name="override_reason"' in html
    assert fresh(first).approval_status == ApprovalStatus.SUBMITTED
    page = client.post(url, {"note": "", "override_conflicts": "on", "override_reason": ""}, follow=True)
    assert "Say why this registration is approved despite its conflicts." in page.content.decode()
    assert fresh(first).approval_status == ApprovalStatus.SUBMITTED
    page = client.post(
        url, {"note": "", "override_conflicts": "on", "override_reason": "Joint bid agreed"}, follow=True
    )
    assert fresh(first).approval_status == ApprovalStatus.APPROVED
    history = page.content.decode()
    history = history[history.index('id="history"') :]
    assert "approved despite 1 open conflict" in history and "Joint bid agreed" in history
