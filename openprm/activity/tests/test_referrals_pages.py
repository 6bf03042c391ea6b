"""Staff referral pages: creating coupons, editing and (de)activating links and coupons — field errors,
roles, two-partner isolation and the list page's query count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openprm.activity.models import Coupon, TrackingLink
from openprm.activity.services import referrals as services
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Program
from openprm.testing import actor_for, make_user

pytestmark = pytest.mark.django_db

PAGE = "/activity/referrals/"


@pytest.fixture(autouse=True)
def allowed_hosts(world: Any) -> None:
    """The vendor's sites, where these tests' links lead (the allowed-hosts tests change them)."""
    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(
            tracking_allowed_hosts=["vendor.example", "v.example"]
        )


@dataclass
class Rows:
    link_a: TrackingLink
    link_b: TrackingLink
    coupon_a: Coupon
    coupon_b: Coupon


@pytest.fixture
def rows(world: Any) -> Rows:
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        links = {
            name: services.link_create(
                actor=actor,
                data={"partner_id": p.pk, "destination": "https://v.example/", "code": f"page-{name}"},
            )
            for name, p in (("a", world.partner_a), ("b", world.partner_b))
        }
        coupons = {
            name: services.coupon_create(actor=actor, data={"partner_id": p.pk, "code": f"PAGE-{name}"})
            for name, p in (("a", world.partner_a), ("b", world.partner_b))
        }
    return Rows(links["a"], links["b"], coupons["a"], coupons["b"])


def link_urls(link: TrackingLink) -> tuple[str, str]:
    return (
        f"/activity/referrals/links/{link.public_id}/",
        f"/activity/referrals/links/{link.public_id}/active/",
    )


def coupon_urls(coupon: Coupon) -> tuple[str, str]:
    base = f"/activity/referrals/coupons/{coupon.public_id}/"
    return base, base + "active/"


def fresh(row: Any) -> Any:
    with unscoped():
        return type(row).objects.get(pk=row.pk)


def link_post(**changes: Any) -> dict[str, Any]:
    return {
        "code": "page-a",
        "destination": "https://v.example/",
        "campaign": "",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
        "program": "",
        "is_active": "on",
        **changes,
    }


# --- happy paths ----------------------------------------------------------------------------------------


def test_manager_creates_a_coupon_on_the_page(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    with unscoped():
        program = Program.objects.get(workspace=world.workspace, is_default=True)
    response = client.post(
        PAGE,
        {
            "add_coupon": "1",
            "coupon-partner": str(world.partner_b.public_id),
            "coupon-program": str(program.public_id),
            "coupon-code": "spring-25",
            "coupon-description": "Spring campaign",
        },
    )
    assert response.status_code == 302
    with unscoped():
        coupon = Coupon.objects.get(code="SPRING-25")
        entry = AuditEntry.objects.get(object_id=coupon.public_id)
        assert not TrackingLink.objects.filter(code="spring-25").exists()  # the link form was not used
    assert (entry.action, entry.actor_id) == ("create", world.manager.pk)
    assert coupon.partner_id == world.partner_b.pk and coupon.program_id == program.pk
    page = client.get(PAGE).content.decode()
    assert "SPRING-25" in page and "Spring campaign" in page


def test_manager_edits_a_link_and_its_new_code_redirects(world: Any, rows: Rows, client_for: Any) -> None:
    client = client_for(world.manager)
    edit, _ = link_urls(rows.link_a)
    form = client.get(edit)
    assert form.status_code == 200
    assert 'value="page-a"' in form.content.decode() and "Acme Resellers" in form.content.decode()
    response = client.post(
        edit,
        link_post(
            code="acme-spring", destination="https://v.example/spring", campaign="Spring", utm_source="nl"
        ),
    )
    assert response.status_code == 302
    link = fresh(rows.link_a)
    assert (link.code, link.destination, link.campaign, link.utm_source) == (
        "acme-spring",
        "https://v.example/spring",
        "Spring",
        "nl",
    )
    assert link.partner_id == world.partner_a.pk
    redirect = Client().get("/r/acme-spring")
    assert redirect.status_code == 302 and redirect["Location"].startswith("https://v.example/spring?")
    with unscoped():
        assert AuditEntry.objects.filter(partner_id=world.partner_a.pk, action="update").exists()


def test_deactivating_a_link_stops_its_redirect_and_reactivating_restores_it(
    world: Any, rows: Rows, client_for: Any
) -> None:
    client = client_for(world.manager)
    _, active = link_urls(rows.link_a)
    listing = client.get(PAGE).content.decode()
    assert f'action="{active}"' in listing and ">Deactivate</button>" in listing
    response = client.post(active, {"active": "0", "next": PAGE + "?q=page"})
    assert response.status_code == 302 and response["Location"] == PAGE + "?q=page"
    assert fresh(rows.link_a).is_active is False
    assert Client().get("/r/page-a").status_code == 410
    assert ">Reactivate</button>" in client.get(PAGE).content.decode()
    assert client.post(active, {"active": "1", "next": "https://evil.example/"})["Location"] == PAGE
    assert fresh(rows.link_a).is_active is True
    assert Client().get("/r/page-a").status_code == 302
    assert client.post(active, {"active": "maybe"}).status_code == 404


def test_deactivating_a_link_from_its_edit_form(world: Any, rows: Rows, client_for: Any) -> None:
    edit, _ = link_urls(rows.link_a)
    data = link_post()
    del data["is_active"]  # an unticked checkbox is not sent
    assert client_for(world.admin).post(edit, data).status_code == 302
    assert fresh(rows.link_a).is_active is False


def test_manager_edits_and_deactivates_a_coupon(world: Any, rows: Rows, client_for: Any) -> None:
    client = client_for(world.manager)
    edit, active = coupon_urls(rows.coupon_a)
    assert 'value="PAGE-A"' in client.get(edit).content.decode()
    response = client.post(
        edit, {"code": "acme-10", "description": "Ten percent", "program": "", "is_active": "on"}
    )
    assert response.status_code == 302
    coupon = fresh(rows.coupon_a)
    assert (coupon.code, coupon.description, coupon.is_active) == ("ACME-10", "Ten percent", True)
    assert client.post(active, {"active": "0"}).status_code == 302
    assert fresh(rows.coupon_a).is_active is False
    # the portal lists a partner's active codes only
    portal = client_for(world.a_admin).get("/portal/links/").content.decode()
    assert "ACME-10" not in portal
    assert client.post(active, {"active": "1"}).status_code == 302
    assert "ACME-10" in client_for(world.a_admin).get("/portal/links/").content.decode()


# --- validation errors next to the field ------------------------------------------------------------


def field_errors(html: str, field_id: str) -> str:
    """The markup of the form row holding the field ``field_id`` (errors render inside it)."""
    start = html.index(f'id="{field_id}"')
    end = (
        html.index('<div class="form-row">', start) if '<div class="form-row">' in html[start:] else len(html)
    )
    return html[start:end]


def test_link_edit_errors_are_shown_on_their_fields(world: Any, rows: Rows, client_for: Any) -> None:
    client = client_for(world.manager)
    edit, _ = link_urls(rows.link_a)
    taken = client.post(edit, link_post(code="page-b"))
    assert taken.status_code == 200
    assert "This code is taken." in field_errors(taken.content.decode(), "id_code")
    bad_code = client.post(edit, link_post(code="No Spaces"))
    assert bad_code.status_code == 200
    assert "lower-case letters" in field_errors(bad_code.content.decode(), "id_code")
    bad_url = client.post(edit, link_post(destination="not a url"))
    assert bad_url.status_code == 200
    assert "Enter a valid URL." in field_errors(bad_url.content.decode(), "id_destination")
    link = fresh(rows.link_a)
    assert (link.code, link.destination) == ("page-a", "https://v.example/")


def test_link_destination_outside_the_tracking_hosts_is_a_field_error(
    world: Any, rows: Rows, client_for: Any
) -> None:
    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(tracking_allowed_hosts=["v.example"])
    edit, _ = link_urls(rows.link_a)
    response = client_for(world.manager).post(edit, link_post(destination="https://elsewhere.example/"))
    assert response.status_code == 200
    assert "Links may only lead to v.example (or their subdomains)." in field_errors(
        response.content.decode(), "id_destination"
    )


def test_coupon_errors_are_shown_on_their_fields(world: Any, rows: Rows, client_for: Any) -> None:
    client = client_for(world.manager)
    duplicate = client.post(
        PAGE,
        {"add_coupon": "1", "coupon-partner": str(world.partner_a.public_id), "coupon-code": "page-b"},
    )
    assert duplicate.status_code == 200
    html = duplicate.content.decode()
    assert "This coupon code exists already." in field_errors(html, "id_coupon-code")
    assert "This code is taken" not in html  # the link form stays untouched
    malformed = client.post(
        PAGE, {"add_coupon": "1", "coupon-partner": str(world.partner_a.public_id), "coupon-code": "a b"}
    )
    assert "2-64 letters" in field_errors(malformed.content.decode(), "id_coupon-code")
    no_partner = client.post(PAGE, {"add_coupon": "1", "coupon-code": "FINE"})
    assert "This field is required." in field_errors(no_partner.content.decode(), "id_coupon-partner")
    edit, _ = coupon_urls(rows.coupon_a)
    renamed = client.post(edit, {"code": "PAGE-B", "description": "", "program": "", "is_active": "on"})
    assert "This coupon code exists already." in field_errors(renamed.content.decode(), "id_code")
    with unscoped():
        assert Coupon.objects.count() == 2
    assert fresh(rows.coupon_a).code == "PAGE-A"


# --- permissions ------------------------------------------------------------------------------------------


def test_read_only_staff_see_the_lists_but_no_forms_and_cannot_change_anything(
    world: Any, rows: Rows, client_for: Any
) -> None:
    for user in (world.analyst, world.finance):
        client = client_for(user)
        page = client.get(PAGE).content.decode()
        assert "PAGE-A" in page and "page-b" in page
        assert "Deactivate</button>" not in page and "/activity/referrals/links/" not in page
        assert 'id="new-coupon"' not in page and 'id="new-link"' not in page
        for row, urls in ((rows.link_a, link_urls(rows.link_a)), (rows.coupon_a, coupon_urls(rows.coupon_a))):
            edit, active = urls
            assert client.get(edit).status_code == 403
            assert client.post(edit, link_post(code="changed")).status_code == 403
            assert client.post(active, {"active": "0"}).status_code == 403
            assert fresh(row).is_active is True
        created = client.post(
            PAGE, {"add_coupon": "1", "coupon-partner": str(world.partner_a.public_id), "coupon-code": "RO"}
        )
        assert created.status_code == 403
    assert fresh(rows.link_a).code == "page-a"
    with unscoped():
        assert not Coupon.objects.filter(code="RO").exists()


def test_partner_users_get_404_and_anonymous_is_sent_to_login(
    world: Any, rows: Rows, client_for: Any
) -> None:
    urls = [*link_urls(rows.link_a), *coupon_urls(rows.coupon_a)]
    for user in (world.a_admin, world.a_rep, world.b_admin):
        client = client_for(user)
        for url in urls:  # the staff area answers 404 to partner users, whatever the method
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"active": "0", "code": "hijack"}).status_code == 404, url
        assert client.post(PAGE, {"add_coupon": "1", "coupon-code": "MINE"}).status_code == 404
    for url in urls:
        assert Client().get(url).status_code == 302
    assert fresh(rows.link_a).is_active and fresh(rows.coupon_a).is_active
    # their own portal page still lists their own links
    portal = client_for(world.a_rep).get("/portal/links/").content.decode()
    assert "/r/page-a" in portal and "page-b" not in portal


# --- isolation --------------------------------------------------------------------------------------------


def test_staff_restricted_to_their_partners_get_404_for_another_partners_link_and_coupon(
    world: Any, rows: Rows, client_for: Any
) -> None:
    owner = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_a.owner = owner
        world.partner_a.save(update_fields=["owner"])
    client = client_for(owner)
    for edit, active in (link_urls(rows.link_b), coupon_urls(rows.coupon_b)):
        assert client.get(edit).status_code == 404, edit
        for url in (edit, active):
            assert client.post(url, {"active": "0", "code": "TAKEN-OVER"}).status_code == 404, url
    assert fresh(rows.link_b).is_active and fresh(rows.coupon_b).code == "PAGE-B"
    page = client.get(PAGE).content.decode()
    assert "page-a" in page and "page-b" not in page and "PAGE-B" not in page
    assert str(world.partner_b.public_id) not in page  # not offered in the partner choices either
    # nor accepted when posted: the partner choice is limited to the actor's partners
    response = client.post(
        PAGE, {"add_coupon": "1", "coupon-partner": str(world.partner_b.public_id), "coupon-code": "SNEAK"}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    with unscoped():
        assert not Coupon.objects.filter(code="SNEAK").exists()
    edit, active = link_urls(rows.link_a)
    assert client.get(edit).status_code == 200
    assert client.post(active, {"active": "0"}).status_code == 302


# --- query count ----------------------------------------------------------------------------------------


def test_links_and_coupons_page_queries_do_not_grow_with_rows(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    actor = actor_for(world.admin)
    made = 0

    def add(n: int) -> None:
        nonlocal made
        with scope(actor.access_scope()):
            for _ in range(n):
                made += 1
                partner = world.partner_a if made % 2 else world.partner_b
                services.link_create(
                    actor=actor, data={"partner_id": partner.pk, "destination": "https://v.example/"}
                )
                services.coupon_create(actor=actor, data={"partner_id": partner.pk, "code": f"Q-{made}"})

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(PAGE)
        assert response.status_code == 200
        return len(queries)

    add(1)
    few = count()
    add(8)
    assert count() == few
