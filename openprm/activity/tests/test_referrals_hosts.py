"""Allowed destination hosts of tracking links (no open redirect): the workspace's list and a program's
own, checked when a link is saved and at every click; the staff page and API that set them; the pages
an unknown, deactivated or refused link shows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openprm.activity.models import Click, TrackingLink
from openprm.activity.selectors.referrals import host_allowed
from openprm.activity.services import referrals as services
from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Program
from openprm.testing import actor_for

API = "/api/v1"
PAGE = "/activity/referrals/destinations/"
NOT_CONFIGURED = "The vendor has not configured allowed destinations"


def set_hosts(world: Any, hosts: list[str], program: Program | None = None) -> None:
    with unscoped():
        if program is None:
            Workspace.objects.filter(pk=world.workspace.pk).update(tracking_allowed_hosts=hosts)
        else:
            Program.objects.filter(pk=program.pk).update(tracking_allowed_hosts=hosts)


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(API + url, data=json.dumps(body), content_type="application/json")


def put(client: Client, url: str, body: Any) -> Any:
    return client.put(API + url, data=json.dumps(body), content_type="application/json")


def program(world: Any, name: str = "Shop program") -> Program:
    with unscoped():
        return Program.objects.create(workspace=world.workspace, name=name)


def raw_link(world: Any, code: str, destination: str, **extra: Any) -> TrackingLink:
    """A link stored as an older version (or a shrunk host list) left it: no validation."""
    with unscoped():
        return TrackingLink.objects.create(
            workspace=world.workspace, partner=world.partner_a, code=code, destination=destination, **extra
        )


def clicks() -> int:
    with unscoped():
        return Click.objects.count()


def portal_create(client: Client, destination: str) -> Any:
    return client.post("/portal/links/", {"destination": destination})


# --- creating links -------------------------------------------------------------------------------------


def test_partner_admin_cannot_link_to_an_outside_host(world: Any, api_for: Any, client_for: Any) -> None:
    set_hosts(world, ["vendor.example"])
    api, portal = api_for(world.a_admin), client_for(world.a_admin)
    refused = post(api, "/links", {"destination": "https://evil.example.net/login"})
    assert refused.status_code == 422 and refused.json()["field"] == "destination"
    assert "vendor.example" in refused.json()["message"]
    page = portal_create(portal, "https://evil.example.net/login")
    assert page.status_code == 200 and "Links may only lead to vendor.example" in page.content.decode()
    with unscoped():
        assert not TrackingLink.objects.exists()
    assert post(api, "/links", {"destination": "https://vendor.example/pricing"}).status_code == 201
    assert portal_create(portal, "https://shop.vendor.example/x").status_code == 302
    with unscoped():
        assert TrackingLink.objects.count() == 2


@pytest.mark.parametrize(
    ("destination", "allowed"),
    [
        ("https://example.net/", True),
        ("https://www.example.net/a?b=c", True),
        ("https://WWW.Example.NET:8443/", True),
        ("http://a.b.example.net/", True),
        ("https://evil-example.net/", False),
        ("https://example.net.evil.com/", False),
        ("https://evil.com/?next=https://example.net/", False),
        ("https://example.net@evil.com/", False),
        ("https://user:pw@example.net.evil.com/", False),
        ("https://evil.com#example.net", False),
        ("https://notexample.net/", False),
        ("https://example.network/", False),
    ],
)
def test_host_tricks_are_refused_and_subdomains_accepted(
    world: Any, api_for: Any, destination: str, allowed: bool
) -> None:
    set_hosts(world, ["example.net"])
    response = post(api_for(world.a_admin), "/links", {"destination": destination})
    assert response.status_code == (201 if allowed else 422), response.content
    assert host_allowed(destination, ["example.net"]) is allowed


def test_with_no_hosts_nobody_can_create_a_link(world: Any, api_for: Any, client_for: Any) -> None:
    set_hosts(world, [])
    refused = post(api_for(world.a_admin), "/links", {"destination": "https://vendor.example/"})
    assert refused.status_code == 422 and refused.json()["field"] == "destination"
    assert NOT_CONFIGURED in refused.json()["message"]
    portal = client_for(world.a_admin)
    page = portal_create(portal, "https://vendor.example/").content.decode()
    assert NOT_CONFIGURED in page
    assert NOT_CONFIGURED in portal.get("/portal/links/").content.decode()  # said before they try
    staff = post(
        api_for(world.admin),
        "/links",
        {"partner": str(world.partner_a.public_id), "destination": "https://vendor.example/"},
    )
    assert staff.status_code == 422 and PAGE in staff.json()["message"]
    listing = client_for(world.manager).get("/activity/referrals/").content.decode()
    assert 'id="no-hosts"' in listing and f'href="{PAGE}"' in listing
    with unscoped():
        assert not TrackingLink.objects.exists()


def test_a_programs_own_hosts_replace_the_workspaces(world: Any, api_for: Any) -> None:
    shop = program(world)
    set_hosts(world, ["vendor.example"])
    set_hosts(world, ["shop.example"], program=shop)
    api = api_for(world.manager)
    base = {"partner": str(world.partner_a.public_id)}

    def create(destination: str, with_program: bool) -> int:
        body = {**base, "destination": destination}
        if with_program:
            body["program"] = str(shop.public_id)
        return int(post(api, "/links", body).status_code)

    assert create("https://shop.example/cart", with_program=True) == 201
    assert create("https://vendor.example/", with_program=True) == 422
    assert create("https://vendor.example/", with_program=False) == 201
    assert create("https://shop.example/cart", with_program=False) == 422
    set_hosts(world, [], program=shop)  # empty again: the workspace's hosts apply
    assert create("https://vendor.example/", with_program=True) == 201


def test_editing_an_active_link_outside_the_hosts_needs_a_fix_but_deactivating_works(
    world: Any, api_for: Any
) -> None:
    set_hosts(world, ["vendor.example"])
    link = raw_link(world, "old-one", "https://old.example/")
    api = api_for(world.manager)
    url = f"{API}/links/{link.public_id}"
    patch: Any = lambda body: api.patch(url, data=json.dumps(body), content_type="application/json")  # noqa: E731
    assert patch({"campaign": "x"}).status_code == 422
    assert patch({"destination": "https://vendor.example/new", "campaign": "x"}).status_code == 200
    assert patch({"destination": "https://old.example/"}).status_code == 422
    set_hosts(world, [])
    assert patch({"is_active": False}).status_code == 200
    assert patch({"is_active": True}).status_code == 422


# --- the redirect ---------------------------------------------------------------------------------------


def test_redirect_refuses_a_destination_outside_the_hosts_at_click_time(world: Any, client: Client) -> None:
    set_hosts(world, ["vendor.example", "old.example"])
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        link = services.link_create(
            actor=actor, data={"partner_id": world.partner_a.pk, "destination": "https://old.example/x"}
        )
    assert client.get(f"/r/{link.code}").status_code == 302
    assert clicks() == 1
    set_hosts(world, ["vendor.example"])  # the list shrank after the link was made
    refused = client.get(f"/r/{link.code}")
    html = refused.content.decode()
    assert refused.status_code == 403 and "This link cannot be followed" in html
    assert "old.example" not in html and "Location" not in refused
    assert client.head(f"/r/{link.code}").status_code == 403
    assert clicks() == 1  # the refused visit recorded nothing
    shop = program(world)
    with unscoped():
        TrackingLink.objects.filter(pk=link.pk).update(program=shop)
    set_hosts(world, ["old.example"], program=shop)  # the program's own list allows it again
    assert client.get(f"/r/{link.code}").status_code == 302
    set_hosts(world, [])
    set_hosts(world, [], program=shop)
    assert client.get(f"/r/{link.code}").status_code == 403  # no hosts at all: nothing redirects
    assert clicks() == 2


def test_the_redirects_host_check_agrees_with_the_rule(world: Any, client: Client) -> None:
    """On PostgreSQL the redirect checks the host in SQL: it must decide exactly as ``host_allowed``."""
    set_hosts(world, ["example.net", "xn--bcher-kva.example"])
    destinations = [
        "https://example.net/",
        "https://WWW.EXAMPLE.NET/",
        "https://www.example.net:8080/a",
        "https://u:p@www.example.net/",
        "https://example.net@evil.com/",
        "https://a@b@example.net/",
        "https://evil-example.net/",
        "https://example.net.evil.com/",
        "https://evil.com/?example.net",
        "https://evil.com#.example.net",
        "https://evil.com:443@example.net/",
        "https://xn--bcher-kva.example/",
        "https://bücher.example/",
        "http://[::1]/",
        "https://example.net./",
    ]
    for n, destination in enumerate(destinations):
        link = raw_link(world, f"agree-{n}", destination)
        expected = 302 if host_allowed(destination, ["example.net", "xn--bcher-kva.example"]) else 403
        assert client.get(f"/r/{link.code}").status_code == expected, destination
        assert client.head(f"/r/{link.code}").status_code == expected, destination


def test_a_redirect_still_costs_one_statement_on_postgresql(world: Any, client: Client) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's redirect is a lookup and two inserts (test_redirect_is_cheap)")
    set_hosts(world, ["vendor.example"])
    link = raw_link(world, "cheap-one", "https://vendor.example/")
    client.get(f"/r/{link.code}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/r/{link.code}").status_code == 302
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_stored_destinations_have_an_ascii_host(world: Any, api_for: Any) -> None:
    set_hosts(world, ["bücher.example"])
    with unscoped():
        assert Workspace.objects.get(pk=world.workspace.pk).tracking_allowed_hosts == ["bücher.example"]
    put(api_for(world.admin), "/tracking-hosts", {"hosts": ["Bücher.example"]})
    made = post(api_for(world.a_admin), "/links", {"destination": "https://Shop.Bücher.example/ä?q=ü"})
    assert made.status_code == 201, made.content
    assert made.json()["destination"] == "https://shop.xn--bcher-kva.example/ä?q=ü"


# --- setting the hosts ----------------------------------------------------------------------------------


def test_hosts_are_normalised_and_bad_ones_refused() -> None:
    assert services.hosts_normalize([" Example.COM ", "shop.example.com.", "example.com", "bücher.de"]) == [
        "example.com",
        "shop.example.com",
        "xn--bcher-kva.de",
    ]
    assert services.hosts_normalize("a.example, b.example\nc.example") == [
        "a.example",
        "b.example",
        "c.example",
    ]
    for bad, reason in [
        ("https://example.com", "no scheme"),
        ("example.com/path", "no scheme or path"),
        ("example.com:8080", "no port"),
        ("*.example.com", "no wildcards"),
        ("user@example.com", "no port, user"),
        ("localhost", "not a valid host name"),
        ("1.2.3.4", "IP addresses"),
        ("-bad.example", "not a valid host name"),
        ("exa mple.com", "no port, user or spaces"),
        ("", "is empty"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.hosts_normalize([bad])
        assert reason in exc.value.message_dict["hosts"][0], bad


def test_admins_set_hosts_through_the_api_audited(world: Any, api_for: Any) -> None:
    shop = program(world)
    admin = api_for(world.admin)
    saved = put(admin, "/tracking-hosts", {"hosts": ["Vendor.Example", "shop.vendor.example"]})
    assert saved.status_code == 200, saved.content
    assert saved.json()["workspace"] == ["vendor.example", "shop.vendor.example"]
    bad = put(admin, "/tracking-hosts", {"hosts": ["https://x.example/"]})
    assert bad.status_code == 422 and bad.json()["field"] == "hosts"
    assert put(admin, "/tracking-hosts", {"hosts": "x.example"}).status_code == 422
    assert put(admin, "/tracking-hosts", {"hosts": ["x.example"], "extra": 1}).status_code == 422
    own = put(admin, f"/tracking-hosts/programs/{shop.public_id}", {"hosts": ["shop.example"]})
    assert own.status_code == 200
    entry = next(p for p in own.json()["programs"] if p["program"]["public_id"] == str(shop.public_id))
    assert entry == {
        "program": {"public_id": str(shop.public_id), "name": shop.name},
        "hosts": ["shop.example"],
        "effective": ["shop.example"],
    }
    missing = "/tracking-hosts/programs/00000000-0000-0000-0000-000000000000"
    assert put(admin, missing, {"hosts": []}).status_code == 404
    assert api_for(world.analyst).get(f"{API}/tracking-hosts").json()["workspace"] == [
        "vendor.example",
        "shop.vendor.example",
    ]
    with unscoped():
        changes = AuditEntry.objects.filter(object_type__in=["core.workspace", "partners.program"])
        assert changes.count() == 2
        assert changes.get(object_type="core.workspace").changes["tracking_allowed_hosts"]["after"] == [
            "vendor.example",
            "shop.vendor.example",
        ]


def test_only_admins_write_and_partner_users_get_nothing(world: Any, api_for: Any, client_for: Any) -> None:
    shop = program(world)
    set_hosts(world, ["vendor.example"])
    for user in (world.manager, world.analyst, world.finance, world.a_admin, world.b_admin, world.a_rep):
        api = api_for(user)
        assert put(api, "/tracking-hosts", {"hosts": ["evil.example"]}).status_code == 403
        assert put(
            api, f"/tracking-hosts/programs/{shop.public_id}", {"hosts": ["e.example"]}
        ).status_code in (
            403,
            404,
        )
    for user in (world.a_admin, world.b_admin, world.a_rep):
        assert api_for(user).get(f"{API}/tracking-hosts").status_code in (403, 404)
        page = client_for(user)
        assert page.get(PAGE).status_code == 404
        assert page.post(PAGE, {"target": "workspace", "workspace-hosts": "evil.example"}).status_code == 404
    manager = client_for(world.manager)
    assert manager.post(PAGE, {"target": "workspace", "workspace-hosts": "evil.example"}).status_code == 403
    with unscoped():
        assert Workspace.objects.get(pk=world.workspace.pk).tracking_allowed_hosts == ["vendor.example"]
        assert Program.objects.get(pk=shop.pk).tracking_allowed_hosts == []


# --- the staff page -------------------------------------------------------------------------------------


def test_admin_sets_hosts_on_the_page(world: Any, client_for: Any) -> None:
    shop = program(world)
    admin = client_for(world.admin)
    empty = admin.get(PAGE).content.decode()
    assert 'id="no-hosts"' in empty and 'name="workspace-hosts"' in empty
    saved = admin.post(PAGE, {"target": "workspace", "workspace-hosts": "Vendor.example\nwww.vendor.example"})
    assert saved.status_code == 302
    bad = admin.post(PAGE, {"target": "workspace", "workspace-hosts": "*.vendor.example"})
    assert bad.status_code == 200 and "no wildcards" in bad.content.decode()
    key = str(shop.public_id)
    assert admin.post(PAGE, {"target": key, f"{key}-hosts": "shop.example"}).status_code == 302
    assert admin.post(PAGE, {"target": "nonsense", "nonsense-hosts": "x.example"}).status_code == 404
    with unscoped():
        assert Workspace.objects.get(pk=world.workspace.pk).tracking_allowed_hosts == [
            "vendor.example",
            "www.vendor.example",
        ]
        assert Program.objects.get(pk=shop.pk).tracking_allowed_hosts == ["shop.example"]
    shown = client_for(world.analyst).get(PAGE).content.decode()  # other staff read, no forms
    assert "<code>shop.example</code>" in shown and "<code>vendor.example</code>" in shown
    assert "<textarea" not in shown and 'id="no-hosts"' not in shown
    settings_page = client_for(world.admin).get("/partners/settings/").content.decode()
    assert f'href="{PAGE}"' in settings_page
    assert f'href="{PAGE}"' in client_for(world.analyst).get("/activity/referrals/").content.decode()


def test_the_page_lists_active_links_outside_the_hosts_a_page_at_a_time(world: Any, client_for: Any) -> None:
    shop = program(world)
    set_hosts(world, ["vendor.example"])
    set_hosts(world, ["shop.example"], program=shop)
    raw_link(world, "fine-one", "https://www.vendor.example/")
    raw_link(world, "fine-shop", "https://shop.example/", program=shop)
    raw_link(world, "off-shop", "https://vendor.example/", program=shop)
    raw_link(world, "off-inactive", "https://evil.example/", is_active=False)
    for n in range(55):
        raw_link(world, f"off-{n:02d}", f"https://evil{n}.example/")
    client = client_for(world.manager)
    first = client.get(PAGE).content.decode()
    assert "(56)" in first and "Page 1 of 2" in first
    assert "/r/off-shop" in first or "/r/off-shop" in client.get(PAGE + "?page=2").content.decode()
    for fine in ("/r/fine-one<", "/r/fine-shop<", "/r/off-inactive<"):
        assert fine not in first
        assert fine not in client.get(PAGE + "?page=2").content.decode()
    assert first.count('<tr id="link-') == 50
    assert "Deactivate" in first  # partner managers fix or deactivate from here
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    for n in range(55, 120):
        raw_link(world, f"off-{n:03d}", f"https://evil{n}.example/")
    with CaptureQueriesContext(connection) as many:
        client.get(PAGE + "?page=2")
    assert len(many) == len(few)
    # Deactivating from the list takes the link off it.
    with unscoped():
        link = TrackingLink.objects.get(code="off-00")
    back = client.post(f"/activity/referrals/links/{link.public_id}/active/", {"active": "0", "next": PAGE})
    assert back["Location"] == PAGE
    assert "(120)" in client.get(PAGE).content.decode()


def test_owned_only_staff_see_only_their_own_partners_links_outside(world: Any, client_for: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.testing import make_user

    set_hosts(world, ["vendor.example"])
    raw_link(world, "off-a", "https://evil.example/")
    with unscoped():
        TrackingLink.objects.create(
            workspace=world.workspace,
            partner=world.partner_b,
            code="off-b",
            destination="https://evil.example/",
        )
    owner = make_user(world.workspace, "owner@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        type(world.partner_a).objects.filter(pk=world.partner_a.pk).update(owner=owner)
    html = client_for(owner).get(PAGE).content.decode()
    assert "/r/off-a<" in html and "/r/off-b<" not in html


# --- the demo -------------------------------------------------------------------------------------------


def test_demo_links_lead_to_allowed_hosts(world: Any) -> None:
    from django.utils import timezone

    from openprm.activity.selectors.referrals import links_outside_hosts
    from openprm.demo.referrals import demo_referrals_load

    set_hosts(world, [])
    demo_referrals_load(workspace=world.workspace, partners=[world.partner_a], seed=3, now=timezone.now())
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        assert TrackingLink.objects.exists()
        assert links_outside_hosts(actor=actor) == []
