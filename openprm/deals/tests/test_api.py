"""The deals REST API on the real database: registration (idempotent), approvals, stages, history,
conflicts, metrics, bad input, and two-partner isolation on every endpoint."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import ApprovalStatus, Deal, DealConflict
from openprm.deals.rollups import rollups_rebuild
from openprm.testing import actor_for

API = "/api/v1"
DEAL_KEYS = {
    "public_id",
    "external_id",
    "partner",
    "program",
    "customer_name",
    "customer_domain",
    "contact_name",
    "contact_email",
    "amount",
    "currency",
    "expected_close_date",
    "description",
    "source",
    "title",
    "stage",
    "approval_status",
    "approval_note",
    "approval_due_at",
    "approval_overdue",
    "protection_expires_at",
    "registered_at",
    "approved_at",
    "closed_at",
    "lost_reason",
    "line_items",
    "line_items_total",
    "amount_mismatch",
    "co_sellers",
    "properties",
}
STAFF_DEAL_KEYS = DEAL_KEYS | {"conflicts_open"}


def post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(API + url, data=body, content_type="application/json", headers=headers)


def patch(client: Client, url: str, body: Any) -> Any:
    return client.patch(API + url, data=body, content_type="application/json")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] and body["message"]
    if field is not None:
        assert body["field"] == field, body
    return body


def register(user: Any, **data: Any) -> Deal:
    """A registration made through the service, as `user` (staff must pass partner_id)."""
    actor = actor_for(user)
    payload = {"customer_name": "Initech", "customer_domain": "initech.example", "amount": "12000", **data}
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(actor=actor, data=payload)  # type: ignore[arg-type]
    return deal


def decide(user: Any, deal: Deal, verb: str, **kwargs: Any) -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        return getattr(services, f"deal_{verb}")(actor=actor, deal=deal, **kwargs)  # type: ignore[no-any-return]


def ids(response: Any) -> list[str]:
    return [item["public_id"] for item in ok(response)["items"]]


@dataclass
class Deals:
    a_admin: Deal  # partner A, registered by A's admin
    a_rep: Deal  # partner A, registered by A's rep
    b: Deal  # partner B


@pytest.fixture
def deals(world: Any) -> Deals:
    return Deals(
        a_admin=register(world.a_admin, customer_name="Admin Co", customer_domain="adminco.example"),
        a_rep=register(world.a_rep, customer_name="Rep Co", customer_domain="repco.example"),
        b=register(world.b_admin, customer_name="Bee Co", customer_domain="beeco.example"),
    )


# --- registration ---------------------------------------------------------------------------------------


def test_partner_user_registers_a_deal_for_their_own_partner(world: Any, api_for: Any) -> None:
    body = ok(
        post(
            api_for(world.a_rep),
            "/deals",
            {
                "customer_name": "  Initech  ",
                "customer_domain": "https://www.Initech.example/about",
                "contact_name": "Peter Gibbons",
                "contact_email": "Peter@Initech.example",
                "amount": "1200.5",
                "currency": "eur",
                "expected_close_date": "2031-03-31",
                "description": "TPS report automation",
                "source": "influenced",
                "title": "Initech TPS",
                "line_items": [{"product": "Seats", "quantity": 10, "unit_price": "120.05"}],
                "properties": {"crm_stage": "SQL", "score": 7, "hot": True},
            },
        ),
        201,
    )
    assert set(body) == DEAL_KEYS  # no conflict count for partner users
    assert body["partner"] == {"public_id": str(world.partner_a.public_id), "name": "Acme Resellers"}
    assert body["program"]["name"] == "Partner Program"
    assert body["customer_name"] == "Initech"
    assert body["customer_domain"] == "initech.example"
    assert body["contact_email"] == "peter@initech.example"
    assert (body["amount"], body["currency"]) == ("1200.50", "EUR")
    assert body["expected_close_date"] == "2031-03-31"
    assert body["source"] == "influenced"
    assert body["stage"] == {
        "key": "registered",
        "name": "Registered",
        "outcome": "open",
        "win_probability": 0.1,
    }
    assert body["approval_status"] == "submitted"
    assert body["approval_overdue"] is False
    assert body["approval_due_at"] > body["registered_at"]
    assert body["approved_at"] is body["protection_expires_at"] is body["closed_at"] is None
    assert body["line_items"] == [
        {"product": "Seats", "quantity": "10.00", "unit_price": "120.05", "total": "1200.50"}
    ]
    assert body["co_sellers"] == []
    assert body["properties"] == {"crm_stage": "SQL", "score": 7, "hot": True}
    with unscoped():
        deal = Deal.objects.get(public_id=body["public_id"])
    assert (deal.partner_id, deal.registered_by_id) == (world.partner_a.pk, world.a_rep.pk)
    fetched = ok(api_for(world.a_rep).get(f"{API}/deals/{body['public_id']}"))
    assert fetched == body


def test_staff_register_for_a_partner_with_co_sellers(world: Any, api_for: Any) -> None:
    body = ok(
        post(
            api_for(world.manager),
            "/deals",
            {
                "partner": str(world.partner_a.public_id),
                "customer_name": "Umbrella",
                "amount": 5000,
                "external_id": "CRM-1",
                "co_sellers": [{"partner": str(world.partner_b.public_id), "role": "implementation"}],
            },
        ),
        201,
    )
    assert set(body) == STAFF_DEAL_KEYS
    assert body["conflicts_open"] == 0
    assert body["partner"]["public_id"] == str(world.partner_a.public_id)
    assert body["external_id"] == "CRM-1"
    assert body["currency"] == "USD"  # the workspace's
    assert body["co_sellers"] == [
        {
            "partner": {"public_id": str(world.partner_b.public_id), "name": "Globex Referrals"},
            "role": "implementation",
        }
    ]


def test_who_may_register_for_whom(world: Any, api_for: Any) -> None:
    minimal = {"customer_name": "Hooli", "amount": "1"}
    error(post(api_for(world.manager), "/deals", minimal), 422, "partner")
    unknown = {**minimal, "partner": str(uuid.uuid4())}
    error(post(api_for(world.manager), "/deals", unknown), 422, "partner")
    own = {**minimal, "partner": str(world.partner_a.public_id)}
    error(post(api_for(world.a_admin), "/deals", own), 422, "partner")
    co_sell = {**minimal, "co_sellers": [{"partner": str(world.partner_b.public_id)}]}
    error(post(api_for(world.a_admin), "/deals", co_sell), 422, "co_sellers")
    error(post(api_for(world.analyst), "/deals", own), 403)
    error(post(api_for(world.finance), "/deals", own), 403)
    with unscoped():
        assert Deal.objects.count() == 0


def test_amount_left_out_is_the_sum_of_the_line_items(world: Any, api_for: Any) -> None:
    api = api_for(world.a_admin)
    body = ok(
        post(
            api,
            "/deals",
            {
                "customer_name": "Hooli",
                "line_items": [
                    {"product": "Licence", "quantity": "3", "unit_price": "100"},
                    {"product": "Setup", "unit_price": 50.25},
                ],
            },
        ),
        201,
    )
    assert body["amount"] == "350.25"
    error(post(api, "/deals", {"customer_name": "Hooli"}), 422, "amount")


def test_idempotent_retry_returns_the_same_deal_with_200(world: Any, api_for: Any) -> None:
    api = api_for(world.a_rep)
    payload = {"customer_name": "Initech", "amount": "100"}
    first = post(api, "/deals", payload, **{"Idempotency-Key": "retry-1"})
    again = post(api, "/deals", {**payload, "amount": "999"}, **{"Idempotency-Key": "retry-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other = post(api, "/deals", payload, **{"Idempotency-Key": "retry-2"})
    assert other.status_code == 201
    assert other.json()["public_id"] != first.json()["public_id"]
    with unscoped():
        assert Deal.objects.count() == 2
    # Without a key every POST is a new registration; an over-long key is refused.
    assert post(api, "/deals", payload).status_code == 201
    error(post(api, "/deals", payload, **{"Idempotency-Key": "k" * 101}), 422, "Idempotency-Key")
    with unscoped():
        assert Deal.objects.count() == 3


# --- read, update, delete -------------------------------------------------------------------------------


def test_patch_edits_and_answering_an_info_request_resubmits(world: Any, deals: Deals, api_for: Any) -> None:
    url = f"/deals/{deals.a_rep.public_id}"
    staff, rep = api_for(world.manager), api_for(world.a_rep)
    ok(post(staff, url + "/request-info", {"message": "Which department?"}))
    before = ok(rep.get(API + url))
    assert (before["approval_status"], before["approval_note"]) == ("more_info", "Which department?")
    body = ok(patch(rep, url, {"description": "Finance department", "expected_close_date": None}))
    assert body["description"] == "Finance department"
    assert body["approval_status"] == "submitted"
    assert body["customer_name"] == "Rep Co"  # keys left out are left alone
    error(patch(rep, url, {"customer_name": None}), 422, "customer_name")
    error(patch(rep, url, {"amount": "-1"}), 422, "amount")
    ok(post(staff, url + "/approve", {}))
    error(patch(rep, url, {"description": "late"}), 422, "approval_status")  # decided: locked for partners
    assert ok(patch(staff, url, {"description": "staff edit"}))["description"] == "staff edit"


def test_deals_are_not_deleted_delete_is_a_405(world: Any, deals: Deals, api_for: Any) -> None:
    response = api_for(world.admin).delete(f"{API}/deals/{deals.a_admin.public_id}")
    assert error(response, 405)["code"] == "method_not_allowed"
    with unscoped():
        assert Deal.objects.filter(pk=deals.a_admin.pk).exists()


def test_list_filters_sorts_and_paginates(world: Any, deals: Deals, api_for: Any) -> None:
    api = api_for(world.manager)
    decide(world.manager, deals.b, "approve")
    everything = ok(api.get(f"{API}/deals"))
    assert everything["count"] == 3
    assert set(STAFF_DEAL_KEYS) == set(everything["items"][0])
    assert ids(api.get(f"{API}/deals?partner={world.partner_b.public_id}")) == [str(deals.b.public_id)]
    assert ids(api.get(f"{API}/deals?approval=approved")) == [str(deals.b.public_id)]
    assert ids(api.get(f"{API}/deals?q=rep")) == [str(deals.a_rep.public_id)]
    assert ids(api.get(f"{API}/deals?type=referral")) == [str(deals.b.public_id)]
    assert ids(api.get(f"{API}/deals?stage=qualified")) == []
    assert len(ids(api.get(f"{API}/deals?stage=registered&amount_min=12000&amount_max=12000"))) == 3
    page = ok(api.get(f"{API}/deals?sort=customer&limit=2&offset=1"))
    assert page["count"] == 3
    assert [d["customer_name"] for d in page["items"]] == ["Bee Co", "Rep Co"]
    error(api.get(f"{API}/deals?sort=colour"), 422, "sort")
    error(api.get(f"{API}/deals?limit=0"), 422, "limit")


def test_stalled_and_close_month_filters(world: Any, deals: Deals, api_for: Any) -> None:
    api = api_for(world.manager)
    with unscoped():  # "registered" stalls after 14 days without a stage change
        Deal.objects.filter(pk=deals.b.pk).update(
            stage_changed_at=timezone.now() - datetime.timedelta(days=15),
            expected_close_date=datetime.date(2031, 5, 20),
        )
    assert ids(api.get(f"{API}/deals?stalled=true")) == [str(deals.b.public_id)]
    assert len(ids(api.get(f"{API}/deals?stalled=false"))) == 3
    assert ids(api.get(f"{API}/deals?close_month=2031-05")) == [str(deals.b.public_id)]
    assert ids(api.get(f"{API}/deals?close_month=2031-06")) == []
    assert ids(api_for(world.a_admin).get(f"{API}/deals?stalled=true")) == []


def test_list_query_count_does_not_grow_with_deals(
    world: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_for(world.manager)
    for i in range(12):
        register(
            world.manager,
            partner_id=world.partner_a.pk,
            customer_name=f"Customer {i}",
            customer_domain=f"c{i}.example",
            line_items=[{"product": "Seats", "quantity": 1, "unit_price": 5}],
            co_sellers=[(world.partner_b.pk, "co_sell")],
        )
    with django_assert_max_num_queries(10):
        body = ok(api.get(f"{API}/deals?limit=100"))
    assert body["count"] == 12
    assert all(len(d["line_items"]) == 1 and len(d["co_sellers"]) == 1 for d in body["items"])


# --- approvals ------------------------------------------------------------------------------------------


def test_staff_approve_reject_and_request_info(world: Any, deals: Deals, api_for: Any) -> None:
    staff = api_for(world.manager)
    approved = ok(post(staff, f"/deals/{deals.a_admin.public_id}/approve", {"note": "Welcome"}))
    assert approved["approval_status"] == "approved"
    assert approved["approved_at"] is not None
    assert approved["protection_expires_at"] > approved["approved_at"]
    assert approved["approval_note"] == "Welcome"
    error(post(staff, f"/deals/{deals.a_admin.public_id}/approve", {}), 422, "approval_status")

    reject_url = f"/deals/{deals.b.public_id}/reject"
    error(post(staff, reject_url, {}), 422, "reason")
    error(post(staff, reject_url, {"reason": "   "}), 422, "reason")
    rejected = ok(post(staff, reject_url, {"reason": "Existing direct customer"}))
    assert (rejected["approval_status"], rejected["approval_note"]) == (
        "rejected",
        "Existing direct customer",
    )

    info_url = f"/deals/{deals.a_rep.public_id}/request-info"
    error(post(staff, info_url, {}), 422, "message")
    asked = ok(post(staff, info_url, {"message": "Budget owner?"}))
    assert asked["approval_status"] == "more_info"


def test_partner_users_and_read_only_staff_may_not_decide(world: Any, deals: Deals, api_for: Any) -> None:
    url = f"/deals/{deals.a_admin.public_id}"
    for user in (world.a_admin, world.analyst, world.finance):
        api = api_for(user)
        error(post(api, url + "/approve", {}), 403)
        error(post(api, url + "/reject", {"reason": "no"}), 403)
        error(post(api, url + "/request-info", {"message": "?"}), 403)
    assert ok(api_for(world.a_admin).get(API + url))["approval_status"] == "submitted"


# --- stages and history ---------------------------------------------------------------------------------


def test_stage_moves_need_approval_for_partners_and_lost_needs_a_reason(
    world: Any, deals: Deals, api_for: Any
) -> None:
    url = f"/deals/{deals.a_rep.public_id}"
    rep, staff = api_for(world.a_rep), api_for(world.manager)
    error(post(rep, url + "/stage", {"stage": "qualified"}), 422, "stage")
    ok(post(staff, url + "/approve", {}))
    moved = ok(post(rep, url + "/stage", {"stage": "qualified"}))
    assert moved["stage"]["key"] == "qualified" and moved["closed_at"] is None
    error(post(rep, url + "/stage", {"stage": "signed"}), 422, "stage")
    error(post(rep, url + "/stage", {"stage": "closed_lost"}), 422, "lost_reason")
    error(post(rep, url + "/stage", {"stage": "closed_lost", "lost_reason": "  "}), 422, "lost_reason")
    lost = ok(post(rep, url + "/stage", {"stage": "closed_lost", "lost_reason": "Budget cut"}))
    assert lost["stage"]["outcome"] == "lost"
    assert lost["lost_reason"] == "Budget cut" and lost["closed_at"] is not None
    ok(post(staff, url + "/stage", {"stage": "closed_won"}))

    history = ok(rep.get(f"{API}{url}/history"))
    assert history["count"] == 4
    assert [(h["from"], h["to"], h["lost_reason"]) for h in history["items"]] == [
        (None, "registered", ""),
        ("registered", "qualified", ""),
        ("qualified", "closed_lost", "Budget cut"),
        ("closed_lost", "closed_won", ""),
    ]
    assert history["items"][1]["actor"] and history["items"][1]["changed_at"]
    assert ok(rep.get(API + url))["lost_reason"] == ""


# --- conflicts ------------------------------------------------------------------------------------------


@pytest.fixture
def acme(world: Any) -> tuple[Deal, Deal]:
    """Partner A registers ACME Inc. / www.acme.com, then partner B registers Acme Corp / acme.com."""
    first = register(world.a_admin, customer_name="ACME Inc.", customer_domain="www.acme.com")
    second = register(world.b_admin, customer_name="Acme Corp", customer_domain="acme.com")
    return first, second


def test_conflict_is_detected_and_shown_to_staff_only(
    world: Any, acme: tuple[Deal, Deal], api_for: Any
) -> None:
    a_deal, b_deal = acme
    staff = api_for(world.manager)
    listed = ok(staff.get(f"{API}/conflicts?status=open"))
    assert listed["count"] == 1
    conflict = listed["items"][0]
    assert conflict["deal"]["public_id"] == str(b_deal.public_id)
    assert conflict["other"]["public_id"] == str(a_deal.public_id)
    assert conflict["other"]["partner"]["name"] == "Acme Resellers"
    assert conflict["first_in"] == str(a_deal.public_id)
    assert 0.5 <= conflict["score"] <= 1
    assert conflict["reasons"] and all(isinstance(r, str) and r for r in conflict["reasons"])
    assert conflict["status"] == "open"
    assert ok(staff.get(f"{API}/conflicts?status=dismissed"))["count"] == 0
    for deal in acme:
        assert ok(staff.get(f"{API}/deals/{deal.public_id}/conflicts"))["count"] == 1
        assert ok(staff.get(f"{API}/deals/{deal.public_id}"))["conflicts_open"] == 1
    assert {d["conflicts_open"] for d in ok(staff.get(f"{API}/deals"))["items"]} == {1}

    for user, own, other_name in (
        (world.b_admin, b_deal, "Acme Resellers"),
        (world.a_admin, a_deal, "Globex Referrals"),
    ):
        api = api_for(user)
        error(api.get(f"{API}/conflicts"), 404)
        error(api.get(f"{API}/conflicts?status=open"), 404)
        error(api.get(f"{API}/deals/{own.public_id}/conflicts"), 404)
        error(post(api, f"/conflicts/{conflict['public_id']}/resolve", {"resolution": "dismiss"}), 404)
        for response in (api.get(f"{API}/deals/{own.public_id}"), api.get(f"{API}/deals")):
            text = response.content.decode()
            assert response.status_code == 200
            assert "conflict" not in text and other_name not in text


def test_resolve_approve_this_rejects_the_other_with_the_reason(
    world: Any, acme: tuple[Deal, Deal], api_for: Any
) -> None:
    a_deal, b_deal = acme
    staff = api_for(world.manager)
    with unscoped():
        conflict = DealConflict.objects.get()
    url = f"/conflicts/{conflict.public_id}/resolve"
    error(post(staff, url, {"resolution": "approve_this"}), 422, "reason")
    error(post(staff, url, {"resolution": "merge", "reason": "x"}), 422, "resolution")
    error(post(api_for(world.analyst), url, {"resolution": "dismiss"}), 403)
    resolved = ok(post(staff, url, {"resolution": "approve_this", "reason": "Globex brought it first"}))
    assert resolved["status"] == "resolved"
    assert resolved["resolution_note"] == "Globex brought it first"
    assert resolved["resolved_by"] and resolved["resolved_at"]
    winner = ok(api_for(world.b_admin).get(f"{API}/deals/{b_deal.public_id}"))
    loser = ok(api_for(world.a_admin).get(f"{API}/deals/{a_deal.public_id}"))
    assert winner["approval_status"] == "approved"
    assert (loser["approval_status"], loser["approval_note"]) == ("rejected", "Globex brought it first")
    error(post(staff, url, {"resolution": "dismiss"}), 422, "resolution")  # already resolved
    assert ok(staff.get(f"{API}/conflicts?status=open"))["count"] == 0
    assert ok(staff.get(f"{API}/conflicts?status=resolved"))["count"] == 1


def test_resolve_co_sell_adds_the_later_partner_to_the_first_deal(
    world: Any, acme: tuple[Deal, Deal], api_for: Any
) -> None:
    a_deal, _ = acme
    staff = api_for(world.manager)
    with unscoped():
        conflict = DealConflict.objects.get()
    ok(post(staff, f"/conflicts/{conflict.public_id}/resolve", {"resolution": "co_sell"}))
    first = ok(staff.get(f"{API}/deals/{a_deal.public_id}"))
    assert first["co_sellers"][0]["partner"]["name"] == "Globex Referrals"
    assert first["conflicts_open"] == 0


# --- isolation ------------------------------------------------------------------------------------------

# (method, path suffix, body) for every /deals/{id}... operation.
DEAL_OPERATIONS = [
    ("get", "", None),
    ("patch", "", {"description": "mine now"}),
    ("post", "/stage", {"stage": "qualified"}),
    ("post", "/approve", {}),
    ("post", "/reject", {"reason": "no"}),
    ("post", "/request-info", {"message": "?"}),
    ("get", "/history", None),
    ("get", "/conflicts", None),
]


def call(client: Client, method: str, url: str, body: Any) -> Any:
    if body is None:
        return getattr(client, method)(API + url)
    return getattr(client, method)(API + url, data=body, content_type="application/json")


@pytest.mark.parametrize(("method", "suffix", "body"), DEAL_OPERATIONS)
def test_another_partners_deal_is_a_404_on_every_endpoint(
    world: Any, deals: Deals, api_for: Any, method: str, suffix: str, body: Any
) -> None:
    for user, deal in (
        (world.b_admin, deals.a_admin),
        (world.b_admin, deals.a_rep),
        (world.a_admin, deals.b),
        (world.a_rep, deals.a_admin),  # a rep sees only the deals they registered
        (world.a_rep, deals.b),
    ):
        response = call(api_for(user), method, f"/deals/{deal.public_id}{suffix}", body)
        assert response.status_code == 404, (user.email, response.content)
        assert response.json() == {"code": "not_found", "message": "Not found"}
        missing = call(api_for(user), method, f"/deals/{uuid.uuid4()}{suffix}", body)
        assert missing.status_code == 404  # the same answer as for an id that does not exist
    with unscoped():
        assert Deal.objects.get(pk=deals.a_admin.pk).description == ""
        assert Deal.objects.get(pk=deals.a_admin.pk).approval_status == ApprovalStatus.SUBMITTED


def test_lists_and_metrics_are_scoped(world: Any, deals: Deals, api_for: Any) -> None:
    assert ids(api_for(world.b_admin).get(f"{API}/deals")) == [str(deals.b.public_id)]
    assert set(ids(api_for(world.a_admin).get(f"{API}/deals"))) == {
        str(deals.a_admin.public_id),
        str(deals.a_rep.public_id),
    }
    assert ids(api_for(world.a_rep).get(f"{API}/deals")) == [str(deals.a_rep.public_id)]
    assert ids(api_for(world.b_admin).get(f"{API}/deals?partner={world.partner_a.public_id}")) == []
    assert len(ids(api_for(world.analyst).get(f"{API}/deals"))) == 3

    error(api_for(world.b_admin).get(f"{API}/metrics/deals?partner={world.partner_a.public_id}"), 404)
    error(api_for(world.a_rep).get(f"{API}/metrics/deals?partner={world.partner_b.public_id}"), 404)
    assert ok(api_for(world.b_admin).get(f"{API}/metrics/deals"))["counts"]["total"] == 1
    assert ok(api_for(world.a_admin).get(f"{API}/metrics/deals"))["counts"]["total"] == 2
    assert ok(api_for(world.a_rep).get(f"{API}/metrics/deals"))["counts"]["total"] == 1
    assert ok(api_for(world.manager).get(f"{API}/metrics/deals"))["counts"]["total"] == 3


def test_unknown_conflict_is_a_404(world: Any, api_for: Any) -> None:
    response = post(api_for(world.manager), f"/conflicts/{uuid.uuid4()}/resolve", {"resolution": "dismiss"})
    error(response, 404)


# --- metrics --------------------------------------------------------------------------------------------


def test_metrics_on_a_hand_built_set(world: Any, api_for: Any) -> None:
    """2 won (1000 influenced in 10 days, 3000 sourced in 20), 1 lost (500), 1 open (2000 at 10%)."""
    now = timezone.now()
    staff = world.manager
    rows = [
        ("Won One", "1000", "influenced", "closed_won", 10),
        ("Won Two", "3000", "sourced", "closed_won", 20),
        ("Lost One", "500", "sourced", "closed_lost", 5),
        ("Open One", "2000", "sourced", None, None),
    ]
    for name, amount, source, stage, days in rows:
        deal = register(
            staff,
            partner_id=world.partner_a.pk,
            customer_name=name,
            customer_domain=f"{name.replace(' ', '').lower()}.example",
            amount=amount,
            source=source,
        )
        if stage:
            decide(staff, deal, "move_stage", stage_key=stage, lost_reason="Price")
            with unscoped():
                Deal.objects.filter(pk=deal.pk).update(
                    registered_at=now - datetime.timedelta(days=days + 1),
                    closed_at=now - datetime.timedelta(days=1),
                )
    register(world.b_admin, customer_name="Elsewhere", amount="777")  # partner B: outside the filter
    register(staff, partner_id=world.partner_a.pk, customer_name="Euro", amount="50", currency="EUR")
    rollups_rebuild(workspace_id=world.workspace.pk)  # the dates above were backdated past the services

    body = ok(api_for(world.manager).get(f"{API}/metrics/deals?partner={world.partner_a.public_id}"))
    assert body["currency"] == "USD"
    assert body["partner"] == str(world.partner_a.public_id)
    assert body["counts"] == {"won": 2, "lost": 1, "open": 1, "total": 4}
    assert body["win_rate"] == pytest.approx(0.6667)
    assert body["pipeline_value"] == "2000.00" or Decimal(body["pipeline_value"]) == Decimal("2000")
    assert Decimal(body["weighted_pipeline"]) == Decimal("200.00")
    assert Decimal(body["average_won_deal_size"]) == Decimal("2000.00")
    assert body["time_to_close"] == {"median_days": 15.0, "mean_days": 15.0, "count": 2}
    # 1 open deal × 4000 won ÷ 3 closed ÷ 15 days
    assert Decimal(body["sales_velocity"]) == Decimal("88.89")
    split = body["revenue_split"]
    assert [Decimal(split[k]) for k in ("sourced", "influenced", "total")] == [3000, 1000, 4000]
    assert (split["sourced_share"], split["influenced_share"]) == (0.75, 0.25)
    assert body["other_currency_deals"] == 1

    everyone = ok(api_for(world.manager).get(f"{API}/metrics/deals"))
    assert everyone["partner"] is None
    assert everyone["counts"]["open"] == 2
    assert Decimal(everyone["pipeline_value"]) == Decimal("2777")
    assert ok(api_for(world.a_admin).get(f"{API}/metrics/deals"))["counts"]["total"] == 4


def test_metrics_without_closed_deals_are_null_not_zero(world: Any, api_for: Any) -> None:
    body = ok(api_for(world.b_admin).get(f"{API}/metrics/deals"))
    assert body["counts"]["total"] == 0
    assert body["win_rate"] is None and body["average_won_deal_size"] is None
    assert body["time_to_close"]["mean_days"] is None
    error(api_for(world.manager).get(f"{API}/metrics/deals?partner=nope"), 422, "partner")


# --- bad input ------------------------------------------------------------------------------------------

OK_BODY = {"customer_name": "Hooli", "amount": "10"}


def _with(**changes: Any) -> str:
    return json.dumps({**OK_BODY, **changes})


# (raw body for POST /deals as partner A's admin, field)
BAD_REGISTRATIONS = [
    ('{"customer_name": "Nul\\u0000Co", "amount": 1}', "customer_name"),
    (_with(contact_name="a\x00b"), "contact_name"),
    (_with(description="\x00"), "description"),
    (_with(properties={"k": "v\x00"}), "properties.k"),
    (_with(customer_name="x" * 201), "customer_name"),
    (_with(customer_name="   "), "customer_name"),
    (_with(title="t" * 201), "title"),
    (_with(description="d" * 20001), "description"),
    (_with(customer_domain="d" * 255), "customer_domain"),
    (_with(customer_domain="not a domain"), "customer_domain"),
    (_with(contact_email="a@b@c"), "contact_email"),
    (_with(external_id="e" * 101), "external_id"),
    (_with(amount="-1"), "amount"),
    (_with(amount=-0.01), "amount"),
    (_with(amount="1e15"), "amount"),
    (_with(amount="NaN"), "amount"),
    (_with(amount="Infinity"), "amount"),
    ('{"customer_name": "Hooli", "amount": 1e400}', "amount"),
    (_with(amount="ten"), "amount"),
    (_with(amount=True), "amount"),
    (_with(amount=[1]), "amount"),
    (_with(currency="EURO"), "currency"),
    (_with(currency="E1R"), "currency"),
    (_with(currency=""), "currency"),
    (_with(currency=978), "currency"),
    (_with(expected_close_date="2025-02-30"), "expected_close_date"),
    (_with(expected_close_date="next week"), "expected_close_date"),
    (_with(expected_close_date="0001-01-01"), "expected_close_date"),
    (_with(expected_close_date="99999-01-01"), "expected_close_date"),
    (_with(expected_close_date=20250101), "expected_close_date"),
    (_with(source="organic"), "source"),
    (_with(source=None), "source"),
    (_with(customer_name=12), "customer_name"),
    (_with(customer_name={"a": 1}), "customer_name"),
    (_with(line_items={"product": "x"}), "line_items"),
    (_with(line_items=[{"product": "x", "unit_price": "-5"}]), "line_items.0.unit_price"),
    (_with(line_items=[{"product": "x", "quantity": 0, "unit_price": 1}]), "line_items.0.quantity"),
    (_with(line_items=[{"product": "x"}]), "line_items.0.unit_price"),
    (_with(line_items=[{"product": "x", "unit_price": 1, "colour": "red"}]), "line_items.0.colour"),
    (_with(line_items=[{"product": "x", "unit_price": 1}] * 101), "line_items"),
    (_with(properties=[1]), "properties"),
    (_with(properties={"k": 2**64}), "properties.k"),
    (_with(properties={"k": {"nested": 1}}), "properties.k"),
    (_with(properties={"k": "v" * 1001}), "properties.k"),
    (_with(properties={"k": 1e400}), "properties.k"),
    (_with(partner="not-a-uuid"), "partner"),
    (_with(program="00000000-0000-4000-8000-000000000000"), "program"),
    (_with(colour="red"), "colour"),
    ("[]", "body"),
    ("null", "body"),
    ('"deal"', "body"),
]


@pytest.mark.parametrize(("raw", "field"), BAD_REGISTRATIONS)
def test_bad_registration_is_a_422_naming_the_field(world: Any, api_for: Any, raw: str, field: str) -> None:
    response = api_for(world.a_admin).post(f"{API}/deals", data=raw, content_type="application/json")
    body = error(response, 422, field)
    assert body["code"] == "validation_error"
    with unscoped():
        assert Deal.objects.count() == 0


def test_malformed_json_is_a_400(world: Any, api_for: Any) -> None:
    response = api_for(world.a_admin).post(f"{API}/deals", data="{nope", content_type="application/json")
    assert error(response, 400, "body")["code"] == "bad_request"


@pytest.mark.parametrize(
    ("method", "suffix", "raw", "field"),
    [
        ("patch", "", '{"amount": "NaN"}', "amount"),
        ("patch", "", '{"colour": 1}', "colour"),
        ("patch", "", '{"currency": null}', "currency"),
        ("patch", "", '{"external_id": "\\u0000"}', "external_id"),
        ("post", "/stage", '{"stage": "closed_won\\u0000"}', "stage"),
        ("post", "/stage", '{"stage": "x", "lost_reason": "' + "r" * 301 + '"}', "lost_reason"),
        ("post", "/stage", '{"stage": 5}', "stage"),
        ("post", "/stage", "{}", "stage"),
        ("post", "/approve", '{"note": "' + "n" * 2001 + '"}', "note"),
        ("post", "/approve", '{"note": "\\u0000"}', "note"),
        ("post", "/reject", '{"reason": "\\u0000"}', "reason"),
        ("post", "/reject", '{"reason": ["no"]}', "reason"),
        ("post", "/request-info", '{"message": null}', "message"),
    ],
)
def test_bad_input_on_deal_actions(
    world: Any, deals: Deals, api_for: Any, method: str, suffix: str, raw: str, field: str
) -> None:
    url = f"{API}/deals/{deals.a_admin.public_id}{suffix}"
    response = getattr(api_for(world.manager), method)(url, data=raw, content_type="application/json")
    error(response, 422, field)
    with unscoped():
        deal = Deal.objects.get(pk=deals.a_admin.pk)
    assert (deal.amount, deal.approval_status, deal.stage.key) == (
        Decimal("12000.00"),
        ApprovalStatus.SUBMITTED,
        "registered",
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("q=%00", "q"),
        ("partner=nope", "partner"),
        ("tier=1", "tier"),
        ("stage=a%00", "stage"),
        ("approval=maybe", "approval"),
        ("owner=someone", "owner"),
        ("close_month=2025-13", "close_month"),
        ("amount_min=NaN", "amount_min"),
        ("amount_max=-5", "amount_max"),
        ("stalled=perhaps", "stalled"),
        ("offset=-1", "offset"),
    ],
)
def test_bad_list_filter_is_a_422(world: Any, api_for: Any, query: str, field: str) -> None:
    error(api_for(world.manager).get(f"{API}/deals?{query}"), 422, field)


def test_bad_ids_in_the_path_are_422_and_conflict_filters_are_checked(world: Any, api_for: Any) -> None:
    staff = api_for(world.manager)
    error(staff.get(f"{API}/deals/not-a-uuid"), 422, "deal_id")
    error(staff.get(f"{API}/deals/%00/history"), 422, "deal_id")
    error(post(staff, "/conflicts/123/resolve", {"resolution": "dismiss"}), 422, "conflict_id")
    error(staff.get(f"{API}/conflicts?status=closed"), 422, "status")


# --- fuzzing with real ids ------------------------------------------------------------------------------
# openprm/core/tests/test_api_fuzz.py fuzzes every operation with random ids; this drives the deal
# operations with real deal and conflict ids too, so fuzzed bodies reach the services and the database.

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application).include(
    path_regex=r"^/api/v1/(deals|conflicts|metrics/deals)"
)


@pytest.fixture
def fuzz_deals(world: Any, api_for: Any) -> Iterator[dict[str, Any]]:
    a_deal = register(world.a_admin, customer_name="ACME Inc.", customer_domain="www.acme.com")
    b_deal = register(world.b_admin, customer_name="Acme Corp", customer_domain="acme.com")
    with unscoped():
        conflict = DealConflict.objects.get()
    headers = [
        {"Authorization": client.defaults["HTTP_AUTHORIZATION"]}
        for client in (api_for(world.admin), api_for(world.a_admin), api_for(world.a_rep))
    ]
    # As Django's test Client does: the WSGI request cycle must not close the test transaction's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {
            "deal_id": [str(a_deal.public_id), str(b_deal.public_id)],
            "conflict_id": [str(conflict.public_id)],
            "headers": headers,
        }
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_deal_requests_never_cause_a_server_error(
    case: Any, data: Any, fuzz_deals: dict[str, Any]
) -> None:
    for name in ("deal_id", "conflict_id"):
        if name in (case.path_parameters or {}) and data.draw(st.booleans(), label="real id"):
            case.path_parameters[name] = data.draw(st.sampled_from(fuzz_deals[name]), label=name)
    headers = data.draw(st.sampled_from(fuzz_deals["headers"]), label="user")
    response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
    assert response.status_code < 500
