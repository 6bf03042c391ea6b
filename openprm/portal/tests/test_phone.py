"""The portal on a phone (390×844) in a real browser: the header collapses behind a menu button with
touch-sized links, no page scrolls sideways, and the copy buttons copy."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from openprm.activity.models import Conversion, TrackingLink
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services

PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def data(world: Any) -> dict[str, Any]:
    with scope(world.system.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=world.system,
            data={
                "partner_id": world.partner_a.pk,
                "customer_name": "Initech Global Manufacturing and Logistics Holdings GmbH & Co. KG",
                "customer_domain": "initech-global-manufacturing-and-logistics.example",
                "contact_name": "Peter Gibbons",
                "contact_email": "peter.gibbons.with.a.very.long.address@initech-global.example",
                "amount": "1234567.89",
            },
        )
        deal_services.deal_approve(actor=world.system, deal=deal, note="Go ahead")
    with unscoped():
        link = TrackingLink.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            code="acme-spring-campaign-2026",
            destination="https://www.example.com/a/very/long/landing/page/path?utm_campaign=spring-2026",
            campaign="Spring 2026",
        )
        Conversion.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            kind=Conversion.Kind.values[0],
            occurred_at=timezone.now(),
            amount="49.00",
            link=link,
            attributed_by="link",
            idempotency_key="k1",
        )
    return {"deal": deal, "link": link}


def _no_sideways_scroll(page: Any, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what}: the page is {width}px wide on a {PHONE['width']}px screen"


def test_phone_menu_and_pages_fit(transactional_db, world, data, new_page, login):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, "admin@acme.test")
    expect(page).to_have_url(re.compile(r"/portal/$"))

    header = page.locator("header.topbar")
    menu_button = page.get_by_role("button", name="Menu")
    nav = page.locator("header nav")
    expect(menu_button).to_be_visible()
    expect(nav).to_be_hidden()  # collapsed: the header is one row, not a quarter of the screen
    box = header.bounding_box()
    assert box is not None and box["height"] <= 64, box
    assert menu_button.get_attribute("aria-expanded") == "false"

    menu_button.tap()
    expect(nav).to_be_visible()
    assert menu_button.get_attribute("aria-expanded") == "true"
    links = nav.get_by_role("link")
    names = [links.nth(i).inner_text().strip() for i in range(links.count())]
    for expected in (
        "My partner",
        "Deals",
        "Register a deal",
        "Links",
        "Conversions",
        "Notifications",
        "Team",
    ):
        assert any(n.startswith(expected) for n in names), (expected, names)
    for i in range(links.count()):
        link_box = links.nth(i).bounding_box()
        assert link_box is not None and link_box["height"] >= 44, (names[i], link_box)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()

    menu_button.tap()
    with page.expect_navigation():
        nav.get_by_role("link", name="Deals", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/portal/deals/$"))
    expect(nav).to_be_hidden()  # a new page starts collapsed

    deal = data["deal"]
    pages = {
        "home": "/portal/",
        "deals": "/portal/deals/",
        "deal": f"/portal/deals/{deal.public_id}/",
        "register": "/portal/deals/new/",
        "links": "/portal/links/",
        "conversions": "/portal/conversions/",
        "notifications": "/portal/notifications/",
        "team": "/portal/team/",
    }
    for what, url in pages.items():
        response = page.goto(url)
        assert response is not None and response.status == 200, (what, response and response.status)
        _no_sideways_scroll(page, what)
        expect(menu_button).to_be_visible()


def test_copy_button_copies_the_tracking_url(transactional_db, world, data, new_page, login):
    page = new_page(
        viewport=PHONE, is_mobile=True, has_touch=True, permissions=["clipboard-read", "clipboard-write"]
    )
    login(page, "admin@acme.test")
    page.goto("/portal/links/")
    row = page.locator("#my-links tbody tr").filter(
        has=page.locator("input[value$='acme-spring-campaign-2026']")
    )
    button = row.get_by_role("button", name=re.compile("Copy"))
    button.tap()
    expect(button).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith("/r/acme-spring-campaign-2026") and copied.startswith("http")
    _no_sideways_scroll(page, "links")


def test_copy_button_copies_a_new_api_token(transactional_db, world, new_page, login):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    login(page, "admin@acme.test")
    page.goto("/settings/tokens/")
    page.get_by_label("Name").fill("CRM sync")
    with page.expect_navigation():
        page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert token.startswith("prm_")
    page.get_by_role("button", name="Copy token").click()
    button = page.locator("button[data-copy-from='#new-token']")  # its name changes while it says Copied
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    expect(button).to_have_text("Copy token", timeout=5000)  # back to its label
