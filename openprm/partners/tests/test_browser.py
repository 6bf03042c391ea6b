"""Staff journeys in a real browser (system Chromium through Playwright) against the live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from openprm.core.scoping import unscoped
from openprm.partners.models import Partner, PartnerProgram

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_manager_filters_the_list_and_changes_a_tier(transactional_db, world, page, login):
    login(page, "manager@vendor.test")
    expect(page).to_have_url(re.compile(r"/partners/$"))
    table = page.locator("#partner-table")
    expect(table).to_contain_text("Acme Resellers")
    expect(table).to_contain_text("Globex Referrals")

    # Filtering swaps #results through HTMX: the URL gets the query, the page is not reloaded.
    page.evaluate("window.__sameDocument = true")
    page.locator("#filters select[name=type]").select_option("reseller")
    expect(page).to_have_url(re.compile(r"[?&]type=reseller"))
    expect(table).not_to_contain_text("Globex")
    expect(table).to_contain_text("Acme Resellers")
    assert page.evaluate("window.__sameDocument") is True

    search = page.locator("#filters #id_q")
    search.press_sequentially("nothing-matches-this")  # typing (keyup) triggers the search
    expect(page).to_have_url(re.compile(r"[?&]q=nothing-matches-this"))
    expect(table).to_contain_text("No partner matches these filters.")
    search.fill("")
    search.press_sequentially("acme")
    expect(page).to_have_url(re.compile(r"[?&]q=acme"))
    expect(table).to_contain_text("Acme Resellers")
    assert page.evaluate("window.__sameDocument") is True

    page.locator("#partner-table").get_by_role("link", name="Acme Resellers").click()
    expect(page).to_have_url(re.compile(rf"/partners/{world.partner_a.public_id}/$"))
    expect(page.locator("h1")).to_contain_text("Acme Resellers")

    programs = page.locator("#programs")
    form = programs.locator("form", has_text="Partner Program")
    tier = form.locator("select[name=tier]")
    expect(tier).to_have_value("Silver")
    tier.select_option("Gold")
    with page.expect_navigation():
        form.get_by_role("button", name="Change tier").click()

    expect(page).to_have_url(re.compile(rf"/partners/{world.partner_a.public_id}/$"))
    expect(page.locator(".messages")).to_contain_text("Tier changed.")
    expect(page.locator("#programs select[name=tier]")).to_have_value("Gold")
    entry = page.locator("#history .audit-entry", has_text="Partner Program: Gold")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Partner Program: Silver")
    expect(entry).to_contain_text("manager@vendor.test")

    with unscoped():
        enrolment = PartnerProgram.objects.select_related("tier", "program").get(
            partner__public_id=world.partner_a.public_id, program__name="Partner Program"
        )
        assert enrolment.tier is not None and enrolment.tier.name == "Gold"
        other = PartnerProgram.objects.select_related("tier").get(partner=world.partner_b)
        assert other.tier is not None and other.tier.name == "Gold"  # B was Gold already, untouched


def test_invalid_partner_form_shows_field_errors(transactional_db, world, page, login):
    login(page, "manager@vendor.test")
    page.goto("/partners/new/")
    page.fill("#id_legal_name", "Nameless GmbH")  # the required name stays empty
    with page.expect_navigation():
        page.locator("form.card").get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/partners/new/$"))
    expect(page.locator("h1")).to_have_text("New partner")
    expect(page.locator("#row-name .errorlist")).to_contain_text("This field is required.")
    expect(page.locator("#row-legal_name .errorlist")).to_have_count(0)
    expect(page.locator("#id_legal_name")).to_have_value("Nameless GmbH")  # what was typed is kept
    with unscoped():
        assert Partner.objects.count() == 2
