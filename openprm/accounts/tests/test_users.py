"""Staff users: change role, deactivate, reactivate (page and API); the last admin; the finance role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openprm.accounts.models import Membership
from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.testing import PASSWORD

pytestmark = pytest.mark.django_db
API = "/api/v1"


def membership(user: Any) -> Membership:
    with unscoped():
        return Membership.objects.select_related("user").get(user=user)


def patch(client: Client, user: Any, body: dict[str, Any]) -> Any:
    return client.patch(f"{API}/users/{user.public_id}", data=body, content_type="application/json")


def test_admin_changes_a_role_on_the_users_page_audited(world, client_for):
    admin = client_for(world.admin)
    page = admin.get(reverse("users"))
    assert page.status_code == 200 and "analyst@vendor.test" in page.text and "Deactivate" in page.text
    assert "admin@acme.test" not in page.text  # partner users are managed on the portal's Team page
    target = membership(world.analyst)
    response = admin.post(reverse("user_update", args=[target.public_id]), {"role": "manager"}, follow=True)
    assert response.status_code == 200 and "analyst@vendor.test: Partner manager, active" in response.text
    assert membership(world.analyst).role == "manager"
    with unscoped():
        entry = AuditEntry.objects.filter(object_id=target.public_id).latest("id")
    assert (
        entry.changes["role"] == {"before": "analyst", "after": "manager"}
        and entry.actor_label == "admin@vendor.test"
    )


def test_deactivated_user_cannot_log_in_loses_session_and_tokens_then_is_reactivated(
    world, client_for, api_for
):
    session = client_for(world.manager)
    token = api_for(world.manager)
    assert session.get(reverse("partners:list")).status_code == 200
    assert token.get(f"{API}/me").status_code == 200

    target = membership(world.manager)
    client_for(world.admin).post(reverse("user_update", args=[target.public_id]), {"is_active": "0"})

    assert session.get(reverse("partners:list")).status_code == 302  # the open session ended
    assert token.get(f"{API}/me").status_code == 401
    login = Client().post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD})
    assert login.status_code == 200  # refused: the form is shown again
    page = client_for(world.admin).get(reverse("users"))
    assert "deactivated" in page.text and "Reactivate" in page.text

    client_for(world.admin).post(reverse("user_update", args=[target.public_id]), {"is_active": "1"})
    assert token.get(f"{API}/me").status_code == 200
    again = Client().post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD})
    assert again.status_code == 302
    with unscoped():
        changes = [e.changes for e in AuditEntry.objects.filter(object_id=target.public_id).order_by("id")]
    assert changes[-2]["is_active"] == {"before": True, "after": False}
    assert changes[-1]["user_active"] == {"before": False, "after": True}


def test_last_active_admin_cannot_demote_or_deactivate_themselves(world, client_for, api_for):
    api = api_for(world.admin)
    demote = patch(api, world.admin, {"role": "analyst"})
    assert demote.status_code == 422 and demote.json()["field"] == "role"
    assert "last active admin" in demote.json()["message"]
    off = patch(api, world.admin, {"is_active": False})
    assert off.status_code == 422 and off.json()["field"] == "is_active"
    page = client_for(world.admin).post(
        reverse("user_update", args=[membership(world.admin).public_id]), {"is_active": "0"}, follow=True
    )
    assert "last active admin" in page.text
    assert membership(world.admin).is_active and membership(world.admin).role == "admin"

    # With a second admin, the first may step down.
    assert patch(api, world.manager, {"role": "admin"}).json()["role"] == "admin"
    assert patch(api, world.admin, {"role": "analyst"}).status_code == 200
    assert membership(world.admin).role == "analyst"


def test_users_api_lists_and_updates_staff_only_for_admins(world, api_for):
    api = api_for(world.admin)
    listed = api.get(f"{API}/users").json()
    emails = [u["email"] for u in listed["items"]]
    assert "finance@vendor.test" in emails and "admin@acme.test" not in emails
    assert set(listed["items"][0]) >= {"id", "email", "role", "is_active"}
    assert patch(api, world.a_admin, {"role": "analyst"}).status_code == 404  # partner user: not here
    bad = patch(api, world.analyst, {"role": "partner_rep"})
    assert bad.status_code == 422 and bad.json()["field"] == "role"
    unknown = patch(api, world.analyst, {"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "colour"
    for other in (world.manager, world.finance, world.a_admin):
        assert api_for(other).get(f"{API}/users").status_code == 403
        assert patch(api_for(other), world.analyst, {"is_active": False}).status_code == 403
    assert membership(world.analyst).is_active
    off = patch(api, world.analyst, {"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False


def test_finance_reviews_flagged_conversions_analyst_does_not(world, api_for):
    created = api_for(world.manager).post(
        f"{API}/conversions",
        data={"kind": "purchase", "amount": "100.00", "idempotency_key": "k1", "customer_external_id": "x"},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["status"] == "flagged", created.content
    url = f"{API}/conversions/{created.json()['public_id']}"
    assert api_for(world.analyst).post(f"{url}/reject", content_type="application/json").status_code == 403
    rejected = api_for(world.finance).post(f"{url}/reject", content_type="application/json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
