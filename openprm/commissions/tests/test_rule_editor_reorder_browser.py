"""In a real browser, with the keyboard only: finance reorders a rule's conditions, a group's conditions
and the rules themselves in the structured editor, saves, and the stored JSON has the new order. The
focus stays on the moved row's button (press again to move further), with JavaScript (htmx swaps the
form) and without it (the row buttons post the form and the page comes back reordered, the button
focused). Desktop and a 390×844 phone."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.commissions.models import PlanVersion
from openprm.commissions.services import plans as plan_services
from openprm.core.scoping import scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

A = {"field": "amount", "op": "gte", "value": 1000}
B = {"field": "partner.tier", "op": "in", "value": ["Gold", "Platinum"]}
C = {"field": "partner.region", "op": "eq", "value": "EMEA"}
D = {"field": "metadata.plan_code", "op": "eq", "value": "pro"}
RESALE = {
    "key": "resale",
    "event": ["deal_won"],
    "conditions": {"all": [A, B, {"any": [C, D]}]},
    "reward": {"type": "percent", "rate": 10},
}
BOUNTY = {"key": "bounty", "event": ["deal_won"], "reward": {"type": "flat", "amount": 500}}


def _shot(page: Any, name: str, size: str) -> None:
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"rule-editor-reorder-{name}-{size}.png"), full_page=True)


def _enter(page: Any, script: bool) -> None:
    """Press Enter on the focused button and wait for the answer (htmx's swap, or the page again)."""
    if script:
        with page.expect_response(lambda r: r.request.method == "POST"):
            page.keyboard.press("Enter")
    else:
        with page.expect_navigation():
            page.keyboard.press("Enter")


def _press(page: Any, label: str, script: bool) -> None:
    """Reach a button by keyboard (focus, then Enter) as a keyboard user would, and wait for the answer."""
    page.get_by_role("button", name=label, exact=True).focus()
    _enter(page, script)


@pytest.mark.parametrize("size", ["desktop", "phone", "no-javascript"])
def test_finance_reorders_conditions_and_rules_with_the_keyboard_and_saves(
    transactional_db: Any, world: Any, new_page: Any, login: Any, size: str
) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Resellers", currency="USD")
        version = plan_services.version_create_draft(
            actor=world.system,
            plan=plan,
            rules={"rules": [RESALE, BOUNTY]},
            effective_from=datetime.date.today(),
        )
    phone = size == "phone"
    script = size != "no-javascript"
    options: dict[str, Any] = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=PHONE if phone else DESKTOP, java_script_enabled=script, **options)
    login(page, "finance@vendor.test")
    page.goto(f"/commissions/versions/{version.public_id}/")
    editor = page.locator("#rule-editor")
    first = editor.locator(".cm-rule").first
    expect(first.get_by_role("button", name="Move condition 1 up")).to_have_count(0)  # nothing above it
    expect(first.get_by_role("button", name="Move group 3 down")).to_have_count(0)
    if script:
        _shot(page, "before", size)

    # the group (condition 3) up twice: the focus stays on its "up" button (autofocus, with or without
    # JavaScript), so Enter again moves it further
    _press(page, "Move group 3 up", script)
    expect(page.get_by_role("button", name="Move group 2 up")).to_be_focused()
    _enter(page, script)
    group = page.locator("#rule-0-c-0-group")
    expect(group).to_be_visible()
    expect(group.locator("input[name='rule-0-c-0-0-value']")).to_have_value("EMEA")
    expect(group.get_by_role("button", name="Move group 1 down")).to_be_focused()  # at the top: "down"

    # inside the group: the plan code above the region
    _press(page, "Move condition 1.2 up", script)
    expect(page.locator("input[name='rule-0-c-0-0-meta']")).to_have_value("plan_code")
    expect(page.get_by_role("button", name="Move condition 1.1 down")).to_be_focused()
    # the amount (now condition 2) below the tier
    _press(page, "Move condition 2 down", script)
    expect(page.locator("input[name='rule-0-c-2-value']")).to_have_value("1000")
    expect(page.get_by_role("button", name="Move condition 3 up")).to_be_focused()
    # and the bounty rule first
    _press(page, "Move rule 2 up", script)
    expect(editor.locator(".cm-rule").first.locator("input[name$='-key']")).to_have_value("bounty")
    expect(page.get_by_role("button", name="Move rule 1 down")).to_be_focused()
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if script:
        _shot(page, "after", size)

    page.locator("#save-structured").click()
    expect(page.locator("body")).to_contain_text("Draft saved.")
    with scope(world.system.access_scope()):
        stored = PlanVersion.objects.get(pk=version.pk).rules
    assert [r["key"] for r in stored["rules"]] == ["bounty", "resale"]
    assert stored["rules"][1]["conditions"] == {"all": [{"any": [D, C]}, B, A]}
