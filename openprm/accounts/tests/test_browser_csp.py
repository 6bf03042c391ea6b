"""The Content-Security-Policy in a real browser: the main pages, the portal and the API docs load and work
with no violation (htmx included), and an inline script is really blocked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.accounts.models import Notification
from openprm.core.scoping import unscoped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  const where = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : '';
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '') + ' ' + where);
});
"""


def watched(new_page: Any) -> tuple[Any, list[str]]:
    page = new_page()
    page.add_init_script(LISTEN)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def violations(page: Any, errors: list[str]) -> list[str]:
    found = list(page.evaluate("window.__csp || []"))
    return found + [e for e in errors if "Content Security Policy" in e]


def visit(page: Any, errors: list[str], url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert (
        "Content-Security-Policy" in response.headers.get("content-security-policy", "")
        or response.headers["content-security-policy"]
    )
    page.wait_for_load_state("networkidle")
    assert violations(page, errors) == [], (url, violations(page, errors))


def test_staff_pages_and_api_docs_load_without_violations(transactional_db, world, new_page, login):
    page, errors = watched(new_page)
    login(page, "admin@vendor.test")
    for url in (
        "/partners/",
        "/deals/",
        "/activity/referrals/conversions/",
        "/settings/users/",
        "/settings/tokens/",
    ):
        visit(page, errors, url)

    # The status filter submits itself (a data-autosubmit attribute handled by app.js, no inline handler).
    page.goto("/activity/referrals/conversions/")
    with page.expect_navigation():
        page.locator("select[name=status]").select_option("flagged")
    expect(page).to_have_url(re.compile(r"status=flagged"))
    assert violations(page, errors) == []

    # Swagger UI runs from django-ninja's own static files: it renders the operations.
    response = page.goto("/api/v1/docs")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    # openapi.json can take a while to build on a loaded machine: wait for the rendered operations.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("OpenPRM API", timeout=120_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations(page, errors) == []

    # And the policy does bite: an injected inline script is refused.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in violations(page, errors))


def test_portal_loads_without_violations_and_htmx_still_works(transactional_db, world, new_page, login):
    with unscoped():
        Notification.objects.create(
            workspace=world.workspace, user=world.a_admin, partner=world.partner_a, title="Deal approved"
        )
    page, errors = watched(new_page)
    login(page, "admin@acme.test")
    for url in ("/portal/", "/portal/team/", "/portal/deals/"):
        visit(page, errors, url)
    expect(page.locator("#notification-count")).to_contain_text("1")  # fetched and swapped in by htmx
    assert violations(page, errors) == []


def test_partner_page_loads_without_violations_and_asks_before_archiving(
    transactional_db, world, new_page, login
):
    page, errors = watched(new_page)
    login(page, "admin@vendor.test")
    visit(page, errors, f"/partners/{world.partner_a.public_id}/")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("button", name="Archive").click()
    page.wait_for_timeout(300)
    assert asked and "Archive Acme Resellers?" in asked[0]  # the confirmation names the partner
    expect(page.locator("main")).not_to_contain_text("Archived")  # Cancel archived nothing
    assert violations(page, errors) == []
