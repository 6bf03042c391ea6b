"""In a real browser, desktop and a 390×844 phone: a draft's rule "extra 2% once the partner's lifetime
sales exceed 100,000" shows in the structured editor with the field named in words, raising the figure
saves, and the published version reads it as a sentence; nothing scrolls sideways on the phone."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.commissions.models import PlanVersion
from openprm.commissions.services import plans as plan_services
from openprm.commissions.tests.test_lifetime_accrual import LOYALTY
from openprm.core.scoping import scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LABEL = "the partner's lifetime sales total"


def _shot(page: Any, name: str, size: str) -> None:
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"lifetime-{name}-{size}.png"), full_page=True)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_finance_edits_and_publishes_a_lifetime_condition(
    transactional_db: Any, world: Any, new_page: Any, login: Any, size: str
) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Loyalty", currency="USD")
        version = plan_services.version_create_draft(
            actor=world.system, plan=plan, rules=LOYALTY, effective_from=datetime.date.today()
        )
    phone = size == "phone"
    options: dict[str, Any] = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=SIZES[size], **options)
    login(page, "finance@vendor.test")
    page.goto(f"/commissions/versions/{version.public_id}/")
    field = page.locator('select[name="rule-1-c-0-field"]')
    expect(field).to_have_value("partner.lifetime_amount")
    expect(field.locator("option:checked")).to_have_text(LABEL)
    value = page.locator('input[name="rule-1-c-0-value"]')
    expect(value).to_have_value("100000")
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["width"]
    field.scroll_into_view_if_needed()
    _shot(page, "editor", size)
    value.fill("120000")
    page.locator("#save-structured").click()
    page.wait_for_load_state()
    with scope(world.system.access_scope()):
        stored = PlanVersion.objects.get(pk=version.pk).rules
    assert stored["rules"][1]["conditions"]["all"][0]["value"] == 120000
    with scope(world.system.access_scope()):
        plan_services.version_publish(actor=world.system, version=PlanVersion.objects.get(pk=version.pk))
    page.goto(f"/commissions/versions/{version.public_id}/")
    said = f"if {LABEL} before that day (net of refunds) is more than 120,000 USD"
    expect(page.get_by_text(said, exact=False)).to_be_visible()
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["width"]
    _shot(page, "published", size)
