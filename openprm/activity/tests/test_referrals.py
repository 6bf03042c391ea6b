"""Referral tracking on the real database: the redirect, links and coupons, conversions (idempotency,
attribution, refunds, fraud flags, review) and the rollups they keep exact."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openprm.activity import attribution
from openprm.activity.models import Click, Conversion, Coupon, RollupPending, TrackingLink
from openprm.activity.rollups import rollup_cells as stored_cells
from openprm.activity.rollups import rollups_fold, rollups_rebuild
from openprm.activity.services import referrals as services
from openprm.core.domains import normalize_domain
from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Contact, Program
from openprm.testing import actor_for


@pytest.fixture(autouse=True)
def allowed_hosts(world: Any) -> None:
    """The vendor's sites, where these tests' links lead (the allowed-hosts tests change them)."""
    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(
            tracking_allowed_hosts=["vendor.example", "v.example"]
        )


def rollup_cells(world: Any) -> Any:
    """The rollups once the job worker has folded the queued clicks (as it does within seconds)."""
    rollups_fold(workspace_id=world.workspace.pk)
    return stored_cells(workspace_id=world.workspace.pk)


API = "/api/v1"


def post(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.post(API + url, data=body, content_type="application/json", headers=headers)


def make_link(world: Any, partner: Any = None, **data: Any) -> TrackingLink:
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        return services.link_create(
            actor=actor,
            data={
                "partner_id": (partner or world.partner_a).pk,
                "destination": "https://vendor.example/",
                **data,
            },
        )


def click(client: Client, link: TrackingLink, ip: str = "10.0.0.1") -> str:
    response = client.get(f"/r/{link.code}", REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest")
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["prm_click"][0]


def convert(api: Client, key: str, **body: Any) -> Any:
    response = post(
        api, "/conversions", {"kind": "purchase", "amount": "100.00", "idempotency_key": key, **body}
    )
    assert response.status_code in (200, 201), response.content
    return response.json()


def cells_match_rebuild(world: Any) -> None:
    before = rollup_cells(world)
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert rollup_cells(world) == before


# --- the redirect ---------------------------------------------------------------------------------------


def test_redirect_records_the_click_and_passes_click_id_and_utm(world: Any, client: Client) -> None:
    link = make_link(
        world,
        destination="https://vendor.example/p?utm_source=keep&x=1",
        utm_source="partner",
        utm_medium="email",
    )
    response = client.get(
        f"/r/{link.code.upper()}",
        REMOTE_ADDR="192.0.2.7",
        HTTP_USER_AGENT="Mozilla " + "x" * 500,
        HTTP_REFERER="https://blog.example/post",
    )
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert (target.netloc, target.path) == ("vendor.example", "/p")
    assert query["utm_source"] == ["keep"] and query["utm_medium"] == ["email"] and query["x"] == ["1"]
    with unscoped():
        stored = Click.objects.get(click_id=query["prm_click"][0])
    assert stored.partner_id == world.partner_a.pk and stored.link_id == link.pk
    assert stored.ip_hash == services.ip_hash("192.0.2.7") and "192.0.2.7" not in stored.ip_hash
    assert len(stored.user_agent) == 400 and stored.referrer == "https://blog.example/post"
    assert rollup_cells(world) == {(world.partner_a.pk, stored.clicked_at.date(), "clicks"): Decimal(1)}


def test_redirect_is_cheap(world: Any, client: Client) -> None:
    link = make_link(world)
    with CaptureQueriesContext(connection) as queries:
        click(client, link)
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "SELECT pg_advisory"))
    ]
    assert len(statements) <= 3, statements  # link lookup, click insert, rollup upsert


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_redirects_store_every_click_once(world: Any) -> None:
    """Concurrent redirects (autocommit, as under the server): every visitor gets their own click id,
    each stored once and counted once in the rollups."""
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database cannot be written from several threads")
    links = [make_link(world), make_link(world, partner=world.partner_b)]
    ids: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def visit(index: int) -> None:
        try:
            for n in range(25):
                link = links[(index + n) % 2]
                found = services.click_record(
                    code=link.code, ip=f"10.0.0.{index}", user_agent="t", referrer=""
                )
                assert found is not None and found[0].pk == link.pk
                ids.append((link.pk, found[1].click_id))
            assert services.click_record(code="nosuchcode", ip="", user_agent="", referrer="") is None
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with unscoped():
        stored = set(Click.objects.values_list("link_id", "click_id"))
    assert len(ids) == 150 and stored == set(ids)
    cells = rollup_cells(world)
    assert sum(v for (_, _, metric), v in cells.items() if metric == "clicks") == 150
    cells_match_rebuild(world)
    with unscoped():
        assert not RollupPending.objects.exists()  # every queue entry folded (jobs run inline here)


def test_unknown_inactive_and_malformed_codes_render_a_page_and_record_nothing(
    world: Any, client: Client
) -> None:
    link = make_link(world, campaign="secret-campaign")
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        services.link_update(actor=actor, link=link, data={"is_active": False})
    for code, status, title in [
        (link.code, 410, "This link has been deactivated"),
        (link.code.upper(), 410, "This link has been deactivated"),
        ("nosuchcode", 404, "This link does not exist"),
        ("a" * 80, 404, "This link does not exist"),
        ("bad%00code", 404, "This link does not exist"),
    ]:
        response = client.get(f"/r/{code}")
        html = response.content.decode()
        assert response.status_code == status, code
        assert response["Content-Type"].startswith("text/html") and "<!doctype html>" in html
        assert title in html and 'id="link-unavailable"' in html
        for leak in ("vendor.example", "secret-campaign", world.partner_a.name, "Set-Cookie"):
            assert leak not in html, leak
        assert not response.cookies
    assert client.head("/r/nosuchcode").status_code == 404
    assert client.head(f"/r/{link.code}").status_code == 410
    assert client.post(f"/r/{link.code}").status_code == 405
    with unscoped():
        assert Click.objects.count() == 0


def test_head_redirects_without_recording(world: Any, client: Client) -> None:
    link = make_link(world)
    response = client.head(f"/r/{link.code}")
    assert response.status_code == 302 and "prm_click" not in response["Location"]
    with unscoped():
        assert Click.objects.count() == 0


def test_forwarded_for_is_honoured_only_behind_a_proxy(world: Any, client: Client, settings: Any) -> None:
    link = make_link(world)
    settings.SECURE_PROXY_SSL_HEADER = None
    client.get(f"/r/{link.code}", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="203.0.113.5")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client.get(f"/r/{link.code}", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="203.0.113.5, 10.0.0.9")
    with unscoped():
        hashes = list(Click.objects.order_by("id").values_list("ip_hash", flat=True))
    assert hashes == [services.ip_hash("10.0.0.9"), services.ip_hash("203.0.113.5")]


# --- links and coupons ----------------------------------------------------------------------------------


def test_link_codes_are_generated_validated_and_global(world: Any, api_for: Any) -> None:
    api = api_for(world.a_admin)
    made = post(api, "/links", {"destination": "https://vendor.example/"})
    assert made.status_code == 201, made.content
    code = made.json()["code"]
    assert len(code) == 8 and code == code.lower() and made.json()["partner"]["name"] == "Acme Resellers"
    taken = post(
        api_for(world.admin),
        "/links",
        {"partner": str(world.partner_b.public_id), "destination": "https://v.example/", "code": code},
    )
    assert taken.status_code == 422 and taken.json()["field"] == "code"
    for bad in ["a b", "ab", "-x-", "é" * 4]:
        response = post(api, "/links", {"destination": "https://vendor.example/", "code": bad})
        assert response.status_code == 422 and response.json()["field"] == "code", bad
    for bad in ["javascript:alert(1)", "ftp://x.example/", "vendor.example"]:
        response = post(api, "/links", {"destination": bad})
        assert response.status_code == 422 and response.json()["field"] == "destination", bad
    nul = post(api, "/links", {"destination": "https://v.example/\x00"})
    assert nul.status_code == 422
    long = post(api, "/links", {"destination": "https://v.example/", "campaign": "x" * 121})
    assert long.status_code == 422 and long.json()["field"] == "campaign"
    assert (
        post(
            api, "/links", {"destination": "https://v.example/", "partner": str(world.partner_a.public_id)}
        ).status_code
        == 422
    )


def test_tracking_hosts_setting_limits_destinations(world: Any, api_for: Any) -> None:
    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(tracking_allowed_hosts=["vendor.example"])
    api = api_for(world.a_admin)
    assert post(api, "/links", {"destination": "https://www.vendor.example/x"}).status_code == 201
    assert post(api, "/links", {"destination": "https://evil.example/"}).json()["field"] == "destination"


def test_coupons_are_staff_made_upper_case_and_unique(world: Any, api_for: Any) -> None:
    staff = api_for(world.manager)
    made = post(staff, "/coupons", {"partner": str(world.partner_a.public_id), "code": "spring-25"})
    assert made.status_code == 201 and made.json()["code"] == "SPRING-25"
    again = post(staff, "/coupons", {"partner": str(world.partner_b.public_id), "code": "Spring-25"})
    assert again.status_code == 422 and again.json()["field"] == "code"
    assert (
        post(
            api_for(world.a_admin), "/coupons", {"partner": str(world.partner_a.public_id), "code": "MINE"}
        ).status_code
        == 403
    )
    assert (
        post(
            api_for(world.analyst), "/coupons", {"partner": str(world.partner_a.public_id), "code": "X1"}
        ).status_code
        == 403
    )
    patched = api_for(world.manager).patch(
        f"{API}/coupons/{made.json()['public_id']}",
        data={"is_active": False},
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    with unscoped():
        assert AuditEntry.objects.filter(object_id=made.json()["public_id"]).count() == 2


# --- conversions ----------------------------------------------------------------------------------------


def test_conversion_by_click_id_is_attributed_and_counted(world: Any, client: Client, api_for: Any) -> None:
    link = make_link(world)
    click_id = click(client, link)
    body = convert(api_for(world.admin), "k1", click_id=click_id, customer_email="New.Customer@Example.org")
    assert body["partner"]["name"] == "Acme Resellers" and body["attributed_by"] == "click"
    assert body["status"] == "accepted" and body["click_id"] == click_id and body["flags"] == []
    assert body["customer_email_hash"] == attribution.email_hash("new.customer@example.org")
    with unscoped():
        stored = Conversion.objects.get(public_id=body["public_id"])
    assert "example.org" not in str(stored.properties) and stored.customer_email_hash != ""
    cells = rollup_cells(world)
    day = stored.occurred_at.date()
    assert cells[(world.partner_a.pk, day, "conversions.purchase")] == 1
    assert cells[(world.partner_a.pk, day, "conversions.purchase.amount")] == Decimal("100")
    cells_match_rebuild(world)


def test_idempotency_returns_the_original_and_conflicts_on_a_different_body(
    world: Any, client: Client, api_for: Any
) -> None:
    api = api_for(world.admin)
    link = make_link(world)
    first = post(
        api,
        "/conversions",
        {"kind": "signup", "link_code": link.code, "customer_external_id": "c1"},
        **{"Idempotency-Key": "signup-c1"},
    )
    assert first.status_code == 201
    again = post(
        api,
        "/conversions",
        {"kind": "signup", "link_code": link.code, "customer_external_id": "c1"},
        **{"Idempotency-Key": "signup-c1"},
    )
    assert again.status_code == 200 and again.json() == first.json()
    in_body = post(
        api,
        "/conversions",
        {
            "kind": "signup",
            "link_code": link.code,
            "customer_external_id": "c1",
            "idempotency_key": "signup-c1",
        },
    )
    assert in_body.status_code == 200 and in_body.json()["public_id"] == first.json()["public_id"]
    different = post(
        api,
        "/conversions",
        {"kind": "signup", "link_code": link.code, "customer_external_id": "c2"},
        **{"Idempotency-Key": "signup-c1"},
    )
    assert different.status_code == 409 and different.json()["code"] == "conflict"
    missing = post(api, "/conversions", {"kind": "signup"})
    assert missing.status_code == 422 and missing.json()["field"] == "idempotency_key"
    disagree = post(
        api, "/conversions", {"kind": "signup", "idempotency_key": "a"}, **{"Idempotency-Key": "b"}
    )
    assert disagree.status_code == 422
    with unscoped():
        assert Conversion.objects.count() == 1
    cells = rollup_cells(world)
    assert sum(v for (_, _, m), v in cells.items() if m == "conversions.signup") == 1


def test_bad_conversion_input_is_422_on_its_field(world: Any, api_for: Any) -> None:
    api = api_for(world.admin)
    future = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    cases = [
        ({"kind": "gift"}, "kind"),
        ({"kind": "purchase", "amount": "-1"}, "amount"),
        ({"kind": "purchase", "amount": "NaN"}, "amount"),
        ({"kind": "purchase", "currency": "EURO"}, "currency"),
        ({"kind": "purchase", "occurred_at": future}, "occurred_at"),
        ({"kind": "purchase", "customer_external_id": "x\x00"}, "customer_external_id"),
        ({"kind": "purchase", "customer_external_id": "x" * 201}, "customer_external_id"),
        ({"kind": "purchase", "customer_email_hash": "zz"}, "customer_email_hash"),
        ({"kind": "purchase", "click_id": "0" * 32}, "click_id"),
        ({"kind": "purchase", "link_code": "nosuch"}, "link_code"),
        ({"kind": "purchase", "coupon": "NOSUCH"}, "coupon"),
        ({"kind": "refund"}, "refund_of"),
        ({"kind": "purchase", "surprise": 1}, "surprise"),
    ]
    for index, (body, field) in enumerate(cases):
        response = post(api, "/conversions", {**body, "idempotency_key": f"bad-{index}"})
        assert response.status_code == 422, (body, response.content)
        assert response.json()["field"] == field, (body, response.json())
    with unscoped():
        assert Conversion.objects.count() == 0


def test_partner_users_and_read_only_staff_may_not_report_conversions(world: Any, api_for: Any) -> None:
    for user in (world.a_admin, world.analyst, world.finance):
        assert (
            post(api_for(user), "/conversions", {"kind": "signup", "idempotency_key": "x"}).status_code == 403
        )


def _click_at(world: Any, link: TrackingLink, at: datetime.datetime, ip: str = "10.1.1.1") -> Click:
    result = services.click_record(code=link.code, ip=ip, user_agent="", referrer="", now=at)
    assert result is not None
    return result[1]


@pytest.mark.parametrize("model", ["first_click", "last_click"])
def test_customer_chain_first_and_last_click(world: Any, api_for: Any, model: str) -> None:
    with unscoped():
        Program.objects.filter(workspace=world.workspace).update(
            attribution_model=model, attribution_window_days=30
        )
    api = api_for(world.admin)
    now = timezone.now()
    a_click = _click_at(world, make_link(world), now - datetime.timedelta(days=10))
    b_click = _click_at(world, make_link(world, world.partner_b), now - datetime.timedelta(days=2))
    signup = convert(
        api,
        "s",
        kind="signup",
        amount="0",
        click_id=a_click.click_id,
        customer_external_id="cust",
        occurred_at=(now - datetime.timedelta(days=9)).isoformat(),
    )
    assert signup["partner"]["name"] == "Acme Resellers"
    purchase = convert(api, "p", click_id=b_click.click_id, customer_external_id="cust")
    expected = "Acme Resellers" if model == "first_click" else "Globex Referrals"
    assert purchase["partner"]["name"] == expected and purchase["attributed_by"] == model
    # 200 days on, outside every window: the partner that brought the customer in keeps them
    later = convert(
        api,
        "r",
        kind="recurring_payment",
        customer_external_id="cust",
        occurred_at=(now + datetime.timedelta(hours=1)).isoformat(),
    )
    assert later["partner"]["name"] in {"Acme Resellers", "Globex Referrals"}
    cells_match_rebuild(world)


def test_recurring_payment_beyond_the_window_stays_with_the_first_partner(world: Any, api_for: Any) -> None:
    api = api_for(world.admin)
    now = timezone.now()
    old_click = _click_at(world, make_link(world), now - datetime.timedelta(days=200))
    first = convert(
        api,
        "s",
        kind="signup",
        amount="0",
        click_id=old_click.click_id,
        customer_email="x@buyer.example",
        occurred_at=(now - datetime.timedelta(days=199)).isoformat(),
    )
    assert first["status"] == "accepted"
    recurring = convert(api, "r1", kind="recurring_payment", amount="20", customer_email="X@Buyer.example ")
    assert recurring["partner"]["name"] == "Acme Resellers" and recurring["attributed_by"] == "customer"
    assert recurring["status"] == "accepted" and recurring["click_id"] == old_click.click_id


def test_explicit_click_outside_the_window_is_flagged(world: Any, api_for: Any) -> None:
    old = _click_at(world, make_link(world), timezone.now() - datetime.timedelta(days=45))
    body = convert(api_for(world.admin), "o", click_id=old.click_id)
    assert body["partner"]["name"] == "Acme Resellers" and body["status"] == "flagged"
    assert [f["rule"] for f in body["flags"]] == ["click_outside_window"]
    assert not any(m.startswith("conversions") for (_, _, m) in rollup_cells(world))


def test_refunds_follow_the_original_and_are_bounded(world: Any, client: Client, api_for: Any) -> None:
    api = api_for(world.admin)
    link = make_link(world)
    purchase = convert(api, "p", click_id=click(client, link), amount="100.00", customer_external_id="c9")
    refund = convert(api, "r1", kind="refund", amount="60", refund_of=purchase["public_id"])
    assert refund["partner"]["name"] == "Acme Resellers" and refund["attributed_by"] == "refund"
    assert refund["refund_of"] == purchase["public_id"] and refund["customer_external_id"] == "c9"
    too_much = post(
        api,
        "/conversions",
        {"kind": "refund", "amount": "40.01", "refund_of": purchase["public_id"], "idempotency_key": "r2"},
    )
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    wrong_currency = post(
        api,
        "/conversions",
        {
            "kind": "refund",
            "amount": "1",
            "currency": "EUR",
            "refund_of": purchase["public_id"],
            "idempotency_key": "r3",
        },
    )
    assert wrong_currency.status_code == 422 and wrong_currency.json()["field"] == "currency"
    of_refund = post(
        api,
        "/conversions",
        {"kind": "refund", "amount": "1", "refund_of": refund["public_id"], "idempotency_key": "r4"},
    )
    assert of_refund.status_code == 422 and of_refund.json()["field"] == "refund_of"
    not_refund = post(
        api, "/conversions", {"kind": "purchase", "refund_of": purchase["public_id"], "idempotency_key": "r5"}
    )
    assert not_refund.status_code == 422 and not_refund.json()["field"] == "refund_of"
    assert (
        convert(api, "r6", kind="refund", amount="40", refund_of=purchase["public_id"])["status"]
        == "accepted"
    )
    cells = rollup_cells(world)
    assert sum(v for (_, _, m), v in cells.items() if m == "conversions.refund.amount") == Decimal("100")
    cells_match_rebuild(world)


def test_self_referral_by_domain_and_by_contact_is_flagged(world: Any, client: Client, api_for: Any) -> None:
    api = api_for(world.admin)
    link = make_link(world)
    by_domain = convert(api, "d", click_id=click(client, link), customer_email="boss@acme.example")
    assert by_domain["status"] == "flagged" and [f["rule"] for f in by_domain["flags"]] == ["self_referral"]
    with unscoped():
        Contact.objects.create(
            workspace=world.workspace, partner=world.partner_a, name="Pat", email="pat@gmail.example"
        )
    by_contact = convert(
        api,
        "c",
        click_id=click(client, link),
        customer_email_hash=attribution.email_hash("Pat@gmail.example"),
    )
    assert [f["rule"] for f in by_contact["flags"]] == ["self_referral"]
    clean = convert(api, "ok", click_id=click(client, link), customer_email="someone@else.example")
    assert clean["status"] == "accepted"


def test_self_referral_compares_domains_as_partner_domains_are_stored(
    world: Any, client: Client, api_for: Any
) -> None:
    """A customer's e-mail domain is normalised like the partner's domains (core.domains): an
    international domain, a ``www.`` host or a trailing dot is still the partner's own domain."""
    with unscoped():
        world.partner_a.domains = [normalize_domain("bücher.example")]  # stored in IDNA form
        world.partner_a.save(update_fields=["domains"])
    api = api_for(world.admin)
    link = make_link(world)
    for key, email in [("idn", "chef@Bücher.example"), ("www", "chef@www.xn--bcher-kva.example.")]:
        flagged = convert(api, key, click_id=click(client, link), customer_email=email)
        assert [f["rule"] for f in flagged["flags"]] == ["self_referral"], email


def test_click_flood_is_flagged(world: Any, api_for: Any) -> None:
    link = make_link(world)
    now = timezone.now()
    clicks = [
        _click_at(world, link, now - datetime.timedelta(minutes=i), ip="198.51.100.1")
        for i in range(attribution.CLICK_FLOOD_LIMIT + 1)
    ]
    body = convert(api_for(world.admin), "f", click_id=clicks[0].click_id)
    assert [f["rule"] for f in body["flags"]] == ["click_flood"]
    calm = _click_at(world, link, now, ip="198.51.100.2")
    assert convert(api_for(world.admin), "g", click_id=calm.click_id)["status"] == "accepted"


def test_coupon_without_a_click_and_unattributed_are_flagged(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    post(api, "/coupons", {"partner": str(world.partner_b.public_id), "code": "GLOBEX10"})
    coupon = convert(api, "c", coupon="globex10", customer_external_id="z")
    assert coupon["partner"]["name"] == "Globex Referrals" and coupon["attributed_by"] == "coupon"
    assert [f["rule"] for f in coupon["flags"]] == ["no_click"]
    nobody = convert(api, "n", customer_external_id="nobody")
    assert nobody["partner"] is None and nobody["status"] == "flagged"
    assert [f["rule"] for f in nobody["flags"]] == ["no_click"]


def test_deactivated_coupon_or_link_code_still_attributes_but_is_flagged(world: Any, api_for: Any) -> None:
    api = api_for(world.manager)
    post(api, "/coupons", {"partner": str(world.partner_b.public_id), "code": "OLD10"})
    link = make_link(world)
    actor = actor_for(world.admin)
    with scope(actor.access_scope()), unscoped():
        coupon = Coupon.objects.get(code="OLD10")
        services.coupon_update(actor=actor, coupon=coupon, data={"is_active": False})
        services.link_update(actor=actor, link=link, data={"is_active": False})
    by_coupon = convert(api, "old-coupon", coupon="old10", customer_external_id="y")
    assert by_coupon["partner"]["name"] == "Globex Referrals" and by_coupon["status"] == "flagged"
    assert [f["rule"] for f in by_coupon["flags"]] == ["inactive_code", "no_click"]
    assert "coupon OLD10" in by_coupon["flags"][0]["detail"]
    by_link = convert(api, "old-link", link_code=link.code, customer_external_id="x")
    assert by_link["attributed_by"] == "link" and [f["rule"] for f in by_link["flags"]] == ["inactive_code"]
    active = convert(api, "active", link_code=make_link(world).code, customer_external_id="w")
    assert active["status"] == "accepted" and active["flags"] == []


def test_review_accepts_and_rejects_with_exact_rollups_and_audit(world: Any, api_for: Any) -> None:
    staff = api_for(world.manager)
    old = _click_at(world, make_link(world), timezone.now() - datetime.timedelta(days=45))
    flagged = convert(staff, "o", click_id=old.click_id, amount="80")
    url = f"/conversions/{flagged['public_id']}"
    assert post(api_for(world.a_admin), url + "/accept", {}).status_code == 403
    assert post(api_for(world.analyst), url + "/accept", {}).status_code == 403
    accepted = post(staff, url + "/accept", {"note": "Checked with the customer"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    cells = rollup_cells(world)
    assert sum(v for (_, _, m), v in cells.items() if m == "conversions.purchase.amount") == Decimal("80")
    cells_match_rebuild(world)
    assert post(staff, url + "/reject", {}).json()["status"] == "rejected"
    cells = rollup_cells(world)
    assert not any(m.startswith("conversions") for (_, _, m) in cells)
    cells_match_rebuild(world)
    with unscoped():
        entries = list(AuditEntry.objects.filter(object_id=flagged["public_id"]).order_by("at", "id"))
    assert [e.changes["status"]["after"] for e in entries] == ["accepted", "rejected"]
    assert entries[0].changes["review_note"]["after"] == "Checked with the customer"


def test_demo_referrals_are_consistent(world: Any) -> None:
    from openprm.demo.referrals import demo_referrals_load

    counts = demo_referrals_load(
        workspace=world.workspace, partners=[world.partner_a, world.partner_b], seed=3, now=timezone.now()
    )
    with unscoped():
        assert Click.objects.count() == counts["clicks"] > 0
        assert Conversion.objects.count() == counts["conversions"]
        assert Conversion.objects.filter(status="flagged").count() == counts["flagged"]
    cells_match_rebuild(world)
