"""Two-partner isolation on every referral endpoint and page, the staff pages and their query counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openprm.activity.models import Conversion, Coupon, TrackingLink
from openprm.activity.services import conversions
from openprm.activity.services import referrals as services
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.testing import actor_for

API = "/api/v1"


@pytest.fixture(autouse=True)
def allowed_hosts(world: Any) -> None:
    """The vendor's sites, where these tests' links lead (the allowed-hosts tests change them)."""
    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(
            tracking_allowed_hosts=["vendor.example", "v.example"]
        )


@dataclass
class Refs:
    link_a: TrackingLink
    link_b: TrackingLink
    coupon_a: Coupon
    coupon_b: Coupon
    conv_a: Conversion
    conv_b: Conversion


def _record(world: Any, key: str, **data: Any) -> Conversion:
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        conversion, _ = conversions.conversion_record(
            actor=actor, data={"kind": "purchase", "amount": "10", **data}, idempotency_key=key
        )
    return conversion


@pytest.fixture
def refs(world: Any) -> Refs:
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        made = {
            name: services.link_create(
                actor=actor, data={"partner_id": p.pk, "destination": "https://v.example/"}
            )
            for name, p in (("a", world.partner_a), ("b", world.partner_b))
        }
        coupons = {
            name: services.coupon_create(actor=actor, data={"partner_id": p.pk, "code": f"CODE-{name}"})
            for name, p in (("a", world.partner_a), ("b", world.partner_b))
        }
    clicks = {}
    for name, link in made.items():
        result = services.click_record(code=link.code, ip="10.0.0.1", user_agent="", referrer="")
        assert result is not None
        clicks[name] = result[1].click_id
    return Refs(
        link_a=made["a"],
        link_b=made["b"],
        coupon_a=coupons["a"],
        coupon_b=coupons["b"],
        conv_a=_record(world, "a", click_id=clicks["a"]),
        conv_b=_record(world, "b", click_id=clicks["b"]),
    )


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["public_id"] for item in response.json()["items"]}


def test_partner_users_list_only_their_own(world: Any, refs: Refs, api_for: Any) -> None:
    for user in (world.a_admin, world.a_rep):
        api = api_for(user)
        assert ids(api.get(f"{API}/links")) == {str(refs.link_a.public_id)}
        assert ids(api.get(f"{API}/coupons")) == {str(refs.coupon_a.public_id)}
        assert ids(api.get(f"{API}/conversions")) == {str(refs.conv_a.public_id)}
        # filtering by the other partner finds nothing rather than leaking
        other = f"?partner={world.partner_b.public_id}"
        assert ids(api.get(f"{API}/links{other}")) == set()
        assert ids(api.get(f"{API}/conversions{other}")) == set()
    staff = api_for(world.analyst)
    assert ids(staff.get(f"{API}/conversions")) == {str(refs.conv_a.public_id), str(refs.conv_b.public_id)}
    assert ids(staff.get(f"{API}/links?partner={world.partner_b.public_id}")) == {str(refs.link_b.public_id)}


def test_other_partners_ids_answer_404_everywhere(world: Any, refs: Refs, api_for: Any) -> None:
    api = api_for(world.a_admin)
    urls = [
        ("get", f"/links/{refs.link_b.public_id}"),
        ("patch", f"/links/{refs.link_b.public_id}"),
        ("get", f"/coupons/{refs.coupon_b.public_id}"),
        ("patch", f"/coupons/{refs.coupon_b.public_id}"),
        ("get", f"/conversions/{refs.conv_b.public_id}"),
        ("post", f"/conversions/{refs.conv_b.public_id}/accept"),
        ("post", f"/conversions/{refs.conv_b.public_id}/reject"),
    ]
    for method, url in urls:
        response = getattr(api, method)(API + url, data={}, content_type="application/json")
        assert response.status_code == 404, (url, response.content)
        assert response.json()["code"] == "not_found"
    assert api.get(f"{API}/links/{refs.link_a.public_id}").status_code == 200
    assert api.get(f"{API}/conversions/{refs.conv_a.public_id}").status_code == 200
    patched = api.patch(
        f"{API}/links/{refs.link_a.public_id}", data={"campaign": "spring"}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["campaign"] == "spring"


def test_partner_users_cannot_create_for_another_partner(world: Any, api_for: Any) -> None:
    api = api_for(world.a_admin)
    response = api.post(
        f"{API}/links",
        data={"destination": "https://v.example/", "partner": str(world.partner_b.public_id)},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["field"] == "partner"
    with unscoped():
        assert not TrackingLink.objects.filter(partner=world.partner_b).exists()


def test_owned_only_staff_see_their_own_book(world: Any, refs: Refs, api_for: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.testing import make_user

    owner = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_a.owner = owner
        world.partner_a.save(update_fields=["owner"])
    api = api_for(owner)
    assert ids(api.get(f"{API}/conversions")) == {str(refs.conv_a.public_id)}
    assert api.get(f"{API}/links/{refs.link_b.public_id}").status_code == 404


# --- pages ----------------------------------------------------------------------------------------------


def test_portal_pages_show_only_the_partners_own_rows(world: Any, refs: Refs, client_for: Any) -> None:
    page = client_for(world.a_admin).get("/portal/links/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/r/{refs.link_a.code}" in html and refs.link_b.code not in html
    assert "CODE-A" in html and "CODE-B" not in html
    conversions = client_for(world.a_rep).get(f"/portal/conversions/?partner={world.partner_b.public_id}")
    assert conversions.status_code == 200
    assert refs.conv_a.idempotency_key == "a"
    body = conversions.content.decode()
    assert body.count("<tr>") == 2  # header + partner A's one conversion
    other = client_for(world.b_admin).get("/portal/links/").content.decode()
    assert refs.link_a.code not in other and refs.link_b.code in other


def test_portal_link_creation(world: Any, client_for: Any) -> None:
    client = client_for(world.a_rep)
    response = client.post("/portal/links/", {"destination": "https://vendor.example/x", "campaign": "Blog"})
    assert response.status_code == 302
    with unscoped():
        link = TrackingLink.objects.get(campaign="Blog")
    assert link.partner_id == world.partner_a.pk
    bad = client.post("/portal/links/", {"destination": "https://vendor.example/x", "code": "no spaces"})
    assert bad.status_code == 200 and "lower-case letters" in bad.content.decode()


def test_portal_users_deactivate_and_reactivate_only_their_own_links(
    world: Any, refs: Refs, client_for: Any
) -> None:
    client = client_for(world.a_rep)
    own = f"/portal/links/{refs.link_a.public_id}/active/"
    assert client.post(own, {"active": "0"}).status_code == 302
    assert Client().get(f"/r/{refs.link_a.code}").status_code == 410
    assert "Reactivate" in client.get("/portal/links/").content.decode()
    assert client.post(own, {"active": "1"}).status_code == 302
    assert Client().get(f"/r/{refs.link_a.code}").status_code == 302
    other = f"/portal/links/{refs.link_b.public_id}/active/"
    assert client.post(other, {"active": "0"}).status_code == 404
    assert client.post(own, {"active": "maybe"}).status_code == 404
    assert client.get(own).status_code == 405
    assert client_for(world.manager).post(own, {"active": "0"}).status_code == 404  # staff: not the portal
    with unscoped():
        assert TrackingLink.objects.get(pk=refs.link_b.pk).is_active
        assert TrackingLink.objects.get(pk=refs.link_a.pk).is_active


def test_staff_pages_are_404_for_partner_users_and_anonymous_is_sent_to_login(
    world: Any, refs: Refs, client_for: Any
) -> None:
    for url in ("/activity/referrals/", "/activity/referrals/conversions/"):
        assert client_for(world.a_admin).get(url).status_code == 404
        assert Client().get(url).status_code == 302
    review = f"/activity/referrals/conversions/{refs.conv_b.public_id}/review/"
    assert client_for(world.a_admin).post(review, {"decision": "accept"}).status_code == 404
    for url in ("/portal/links/", "/portal/conversions/"):
        assert client_for(world.manager).get(url).status_code == 404


def test_staff_pages_list_links_and_the_review_queue(world: Any, refs: Refs, client_for: Any) -> None:
    flagged = _record(world, "flagged", customer_external_id="nobody")
    client = client_for(world.manager)
    links = client.get("/activity/referrals/").content.decode()
    assert refs.link_a.code in links and refs.link_b.code in links and "Acme Resellers" in links
    queue = client.get("/activity/referrals/conversions/?status=flagged").content.decode()
    assert str(flagged.public_id) in queue and str(refs.conv_a.public_id) not in queue
    review = f"/activity/referrals/conversions/{flagged.public_id}/review/"
    assert client.post(review, {"decision": "accept"}).status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == Conversion.Status.ACCEPTED
    # read-only staff see the pages but have no review buttons and cannot review
    analyst = client_for(world.analyst)
    assert "Accept</button>" not in analyst.get("/activity/referrals/conversions/").content.decode()
    assert analyst.post(review, {"decision": "reject"}).status_code == 403
    flagged.refresh_from_db()
    assert flagged.status == Conversion.Status.ACCEPTED


def test_finance_reviews_flagged_conversions_on_the_page(world: Any, refs: Refs, client_for: Any) -> None:
    flagged = _record(world, "flagged", customer_external_id="nobody")
    finance = client_for(world.finance)
    queue = finance.get("/activity/referrals/conversions/?status=flagged").content.decode()
    assert "Accept</button>" in queue and "Reject</button>" in queue
    review = f"/activity/referrals/conversions/{flagged.public_id}/review/"
    assert finance.post(review, {"decision": "reject", "note": "Own purchase"}).status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == Conversion.Status.REJECTED


def test_staff_link_creation_on_the_page(world: Any, client_for: Any) -> None:
    response = client_for(world.manager).post(
        "/activity/referrals/",
        {
            "partner": str(world.partner_b.public_id),
            "destination": "https://v.example/",
            "code": "globex-blog",
        },
    )
    assert response.status_code == 302
    with unscoped():
        assert TrackingLink.objects.get(code="globex-blog").partner_id == world.partner_b.pk


@pytest.mark.parametrize(
    "url",
    ["/activity/referrals/", "/activity/referrals/conversions/", "/portal/links/", "/portal/conversions/"],
)
def test_list_pages_do_a_bounded_number_of_queries(world: Any, client_for: Any, url: str) -> None:
    user = world.a_admin if url.startswith("/portal/") else world.manager
    client = client_for(user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    actor = actor_for(world.admin)

    def add(n: int) -> None:
        with scope(actor.access_scope()):
            for _ in range(n):
                link = services.link_create(
                    actor=actor, data={"partner_id": world.partner_a.pk, "destination": "https://v.example/"}
                )
                result = services.click_record(code=link.code, ip="1.2.3.4", user_agent="", referrer="")
                assert result is not None
                _record(world, f"q-{link.code}", click_id=result[1].click_id)
        _record(world, f"q-none-{n}", customer_external_id=f"nobody-{n}")  # unattributed, flagged

    add(1)
    few = count()
    add(5)
    assert count() == few
