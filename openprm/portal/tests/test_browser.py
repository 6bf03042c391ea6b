"""Partner-user journeys in a real browser (system Chromium through Playwright) against the live server."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from openprm.accounts.models import Membership
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped

PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_partner_rep_sees_own_partner_and_no_staff_pages(transactional_db, world, page, login):
    login(page, "rep@acme.test")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator("h1")).to_contain_text("Acme Resellers")
    expect(page.locator("main")).not_to_contain_text("Globex")
    nav = page.locator("header nav")
    expect(nav.get_by_role("link", name="Partners")).to_have_count(0)
    expect(nav.get_by_role("link", name="Team")).to_have_count(0)  # reps do not manage the team

    for partner in (world.partner_b, world.partner_a):  # the staff area is 404 even for their own partner
        response = page.goto(f"/partners/{partner.public_id}/")
        assert response is not None and response.status == 404, partner.name
        expect(page.locator("body")).not_to_contain_text(partner.name)
    staff_list = page.goto("/partners/")
    assert staff_list is not None and staff_list.status == 404
    team = page.goto("/portal/team/")  # their own area, but not their permission
    assert team is not None and team.status in (403, 404)
    expect(page.locator("body")).not_to_contain_text("Invite a colleague")

    response = page.goto("/portal/")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_contain_text("Acme Resellers")
    expect(page.locator("#profile")).to_contain_text("Partner Program: Silver")


def test_partner_admin_invites_a_colleague_on_a_phone(transactional_db, world, new_page, login):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, "admin@acme.test")
    expect(page).to_have_url(re.compile(r"/portal/$"))

    page.get_by_role("button", name="Menu").click()  # the header collapses on a phone
    page.locator("header nav").get_by_role("link", name="Team").click()
    expect(page).to_have_url(re.compile(r"/portal/team/$"))
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)  # admin@acme.test and rep@acme.test, not Globex's admin
    expect(page.locator("main table")).not_to_contain_text("globex")
    # The page fits the phone: wide tables scroll inside their wrapper, not the whole page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_label("Email", exact=True).fill("new.colleague@acme.test")
    page.get_by_label("Role", exact=True).select_option(Role.PARTNER_MANAGER.value)
    invite = page.get_by_role("button", name="Invite")
    invite.scroll_into_view_if_needed()
    box = invite.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    with page.expect_navigation():
        invite.tap()

    expect(page).to_have_url(re.compile(r"/portal/team/$"))
    expect(page.locator(".messages")).to_contain_text("Invited new.colleague@acme.test")
    expect(rows).to_have_count(3)
    new_row = rows.filter(has_text="new.colleague@acme.test")
    expect(new_row.get_by_label("Role of new.colleague@acme.test")).to_have_value(Role.PARTNER_MANAGER.value)

    with unscoped():
        membership = Membership.objects.select_related("user").get(user__email="new.colleague@acme.test")
        assert membership.partner_id == world.partner_a.pk
        assert membership.role == Role.PARTNER_MANAGER
    assert [m.to for m in mail.outbox] == [["new.colleague@acme.test"]]
