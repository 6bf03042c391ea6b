"""Staff restricted to the partners they own (partner managers with "own partners only") and conflicts:
a conflict with another owner's deal shows only that a conflict exists, and cannot be resolved by them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import ApprovalStatus, ConflictStatus, Deal, DealConflict
from openprm.partners.models import Partner
from openprm.testing import actor_for, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def register(user: Any, name: str, domain: str, amount: str) -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor, data={"customer_name": name, "customer_domain": domain, "amount": amount}
        )
    return deal


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(API + url, data=body, content_type="application/json")


@pytest.fixture
def owners(world: Any) -> dict[str, Any]:
    """Anna owns partner A, Ben owns partner B; both are managers restricted to their own partners.
    A registers ACME first (48,000), then B registers Acme Corp (31,337): one conflict, B's deal → A's."""
    anna = make_user(world.workspace, "anna@vendor.test", Role.MANAGER, owned_only=True)
    ben = make_user(world.workspace, "ben@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        Partner.objects.filter(pk=world.partner_a.pk).update(owner=anna)
        Partner.objects.filter(pk=world.partner_b.pk).update(owner=ben)
    a_deal = register(world.a_admin, "ACME Inc.", "www.acme.com", "48000")
    b_deal = register(world.b_admin, "Acme Corp", "acme.com", "31337")
    with unscoped():
        conflict = DealConflict.objects.get()
    assert (conflict.deal_id, conflict.other_id) == (b_deal.pk, a_deal.pk)
    return {"anna": anna, "ben": ben, "a_deal": a_deal, "b_deal": b_deal, "conflict": conflict}


def fresh(deal: Deal) -> Deal:
    with unscoped():
        return Deal.objects.get(pk=deal.pk)


def test_restricted_manager_cannot_resolve_a_conflict_with_another_owners_deal(
    world: Any, owners: dict[str, Any], api_for: Any
) -> None:
    ben = api_for(owners["ben"])
    url = f"/conflicts/{owners['conflict'].public_id}/resolve"
    for body in (
        {"resolution": "approve_this", "reason": "Ben's partner first"},
        {"resolution": "approve_other", "reason": "x"},
        {"resolution": "co_sell"},
        {"resolution": "dismiss"},
    ):
        response = post(ben, url, body)
        assert response.status_code == 403, response.content
        assert "owner or an admin" in response.json()["message"]
    assert fresh(owners["a_deal"]).approval_status == ApprovalStatus.SUBMITTED
    assert fresh(owners["b_deal"]).approval_status == ApprovalStatus.SUBMITTED
    with unscoped():
        assert DealConflict.objects.get().status == ConflictStatus.OPEN
    # An unrestricted manager may (and the rejected partner is A's)
    response = post(api_for(world.manager), url, {"resolution": "approve_this", "reason": "B first"})
    assert response.status_code == 200, response.content
    assert fresh(owners["a_deal"]).approval_status == ApprovalStatus.REJECTED


def test_conflict_list_hides_the_other_owners_deal(world: Any, owners: dict[str, Any], api_for: Any) -> None:
    for path in ("/conflicts", f"/deals/{owners['b_deal'].public_id}/conflicts"):
        response = api_for(owners["ben"]).get(API + path)
        assert response.status_code == 200, response.content
        [item] = response.json()["items"]
        assert item["deal"]["visible"] is True
        assert item["deal"]["customer_name"] == "Acme Corp"
        hidden = item["other"]
        assert hidden["visible"] is False
        assert hidden == {
            "visible": False,
            "public_id": None,
            "partner": None,
            "customer_name": None,
            "customer_domain": None,
            "amount": None,
            "currency": None,
            "stage": None,
            "approval_status": None,
            "registered_at": None,
        }
        text = response.content.decode()
        for secret in ("Acme Resellers", "ACME Inc.", "48000", str(owners["a_deal"].public_id)):
            assert secret not in text
        assert item["reasons"] == []  # the reasons name the other partner and its customer
        assert item["first_in"] is None
    # An unrestricted manager sees both sides
    [item] = api_for(world.manager).get(API + "/conflicts").json()["items"]
    assert item["other"]["visible"] is True and item["other"]["partner"]["name"] == "Acme Resellers"


def test_deal_page_of_a_restricted_manager_masks_the_other_side(
    world: Any, owners: dict[str, Any], client_for: Any
) -> None:
    for user, own, secret_words in (
        (owners["ben"], owners["b_deal"], ("Acme Resellers", "ACME Inc.", "48,000")),
        (owners["anna"], owners["a_deal"], ("Globex Referrals", "Acme Corp", "31,337")),
    ):
        page = client_for(user).get(reverse("deals:detail", args=[own.public_id]))
        assert page.status_code == 200
        html = page.content.decode()
        box = html[html.index('id="conflicts"') : html.index('id="line-items"')]
        assert "a registration you cannot see" in box
        assert "ask its owner or an admin" in box
        for word in secret_words:
            assert word not in box
        assert 'value="approve_this"' not in box  # no resolve buttons


def test_restricted_manager_cannot_override_a_conflict_they_cannot_see(
    world: Any, owners: dict[str, Any], api_for: Any, client_for: Any
) -> None:
    url = f"{API}/deals/{owners['b_deal'].public_id}/approve"
    ben = api_for(owners["ben"])
    refused = ben.post(url, data={}, content_type="application/json")
    assert refused.status_code == 409
    assert "Acme Resellers" not in refused.content.decode() and "ACME" not in refused.content.decode()
    assert "partner you do not own" in refused.json()["errors"][0]["message"]
    body = {"override_conflicts": True, "override_reason": "mine"}
    response = ben.post(url, data=body, content_type="application/json")
    assert response.status_code == 403 and "owner or an admin" in response.json()["message"]
    assert fresh(owners["b_deal"]).approval_status == ApprovalStatus.SUBMITTED
    page = client_for(owners["ben"]).get(reverse("deals:detail", args=[owners["b_deal"].public_id])).text
    assert 'id="override-hidden"' in page and 'name="override_conflicts"' not in page


def test_the_owner_of_the_first_registered_deal_sees_the_conflict_too_masked(
    world: Any, owners: dict[str, Any], api_for: Any
) -> None:
    """The conflict row hangs off B's (later) deal; Anna owns A's deal on its other side."""
    anna = api_for(owners["anna"])
    listed = anna.get(f"{API}/conflicts").json()["items"]
    assert len(listed) == 1 and listed[0]["public_id"] == str(owners["conflict"].public_id)
    sides = {side["visible"]: side for side in (listed[0]["deal"], listed[0]["other"])}
    assert sides[True]["public_id"] == str(owners["a_deal"].public_id)
    assert sides[False]["partner"] is None and "31337" not in str(listed[0])
    on_deal = anna.get(f"{API}/deals/{owners['a_deal'].public_id}/conflicts").json()["items"]
    assert [c["public_id"] for c in on_deal] == [str(owners["conflict"].public_id)]
    # a manager owning neither side sees nothing
    carl = make_user(world.workspace, "carl@vendor.test", Role.MANAGER, owned_only=True)
    assert api_for(carl).get(f"{API}/conflicts").json()["items"] == []
