"""In a real browser: finance builds a tiered rule through the structured editor of an empty draft (a
rule, a condition, a second tier; retroactive), is told which tier is wrong, saves and publishes it; the
published version reads as words. A rule only JSON can show is said so, moves and is kept as written.
Desktop and a 390×844 phone, nothing scrolling sideways."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.commissions.forms.plans import EXAMPLE_RULES
from openprm.commissions.models import PlanVersion
from openprm.commissions.rules import parse_rules
from openprm.commissions.services import plans as plan_services
from openprm.core.scoping import scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _shot(page: Any, name: str, size: str) -> None:
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"rule-editor-{name}-{size}.png"), full_page=True)


def _no_sideways_scroll(page: Any, phone: bool) -> None:
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("size", ["desktop", "phone", "no-javascript"])
def test_finance_builds_a_tiered_rule_and_publishes_it(
    transactional_db: Any, world: Any, new_page: Any, login: Any, size: str
) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Resellers", currency="USD")
        version = plan_services.version_create_draft(
            actor=world.system, plan=plan, rules={"rules": []}, effective_from=datetime.date.today()
        )
    phone = size == "phone"
    script = size != "no-javascript"  # the row buttons then post the whole form and the page comes back
    options: dict[str, Any] = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=PHONE if phone else DESKTOP, java_script_enabled=script, **options)
    login(page, "finance@vendor.test")
    page.goto(f"/commissions/versions/{version.public_id}/")
    editor = page.locator("#rule-editor")
    expect(editor).to_contain_text("No rules: this version pays nothing.")
    _no_sideways_scroll(page, phone)
    if script:
        _shot(page, "empty", size)

    editor.get_by_role("button", name="+ Add a rule").click()
    rule = page.locator("#rule-editor .cm-rule").first
    expect(rule.locator("input[name$='-key']")).to_have_value("rule-1")
    rule.locator("input[name$='-key']").fill("resale")
    rule.locator("input[name$='-label']").fill("10% up to 50,000 a quarter, then 15% on all of it")
    rule.locator("select.cm-reward").select_option("tiered")
    rule.locator("input[name$='-tier-0-rate']").fill("10")
    rule.get_by_role("button", name="+ Tier").click()
    expect(rule.locator("input[name$='-tier-1-from']")).to_be_visible()
    expect(rule.locator("input[name$='-tier-0-rate']")).to_have_value("10")  # kept through the swap
    rule.locator("input[name$='-tier-1-from']").fill("0")
    rule.locator("input[name$='-tier-1-rate']").fill("15")
    rule.locator("select[name$='-tiered_period']").select_option("quarter")
    rule.locator("input[value=retroactive]").check()
    rule.get_by_role("button", name="+ Condition", exact=True).click()
    expect(rule.locator(".cm-cond")).to_have_count(1)
    rule.locator(".cm-cond input[name$='-value']").fill("1000")
    rule.locator("input[name$='-cap_event']").fill("2500")

    editor.locator("#save-structured").click()
    problems = page.locator("#editor-errors")
    expect(problems).to_contain_text("Rule 1 (resale), tier 2, from: must be above 0 (where tier 1 starts)")
    expect(page.locator("input[name$='-tier-1-from'][aria-invalid=true]")).to_be_visible()
    _no_sideways_scroll(page, phone)
    if script:
        _shot(page, "errors", size)

    page.locator("#rule-editor input[name$='-tier-1-from']").fill("50000")
    if script:
        expect(page.locator("#rule-editor .cm-upper").first).to_have_text("50000")
        _shot(page, "filled", size)
    page.locator("#save-structured").click()
    expect(page.locator("body")).to_contain_text("Draft saved.")
    words = page.locator("#rules-words")
    expect(words).to_contain_text("15%")
    expect(words).to_contain_text("at least 1,000")

    page.check("#publish input[name=confirm]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#publish button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("Version 1 published")
    page.goto(f"/commissions/versions/{version.public_id}/")
    expect(page.locator("#rule-editor")).to_have_count(0)
    expect(page.locator("#rules-words")).to_contain_text("10% up to 50,000 a quarter, then 15% on all of it")
    _no_sideways_scroll(page, phone)
    if script:
        _shot(page, "published", size)
    with scope(world.system.access_scope()):
        stored = PlanVersion.objects.get(pk=version.pk)
    assert stored.status == PlanVersion.Status.PUBLISHED
    assert stored.rules == {
        "rules": [
            {
                "key": "resale",
                "label": "10% up to 50,000 a quarter, then 15% on all of it",
                "event": ["deal_won"],
                "conditions": {"all": [{"field": "amount", "op": "gte", "value": 1000}]},
                "reward": {
                    "type": "tiered",
                    "period": "quarter",
                    "mode": "retroactive",
                    "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
                },
                "caps": {"per_event": 2500},
            }
        ]
    }


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_rule_only_json_can_show_is_said_and_kept(
    transactional_db: Any, world: Any, new_page: Any, login: Any, size: str
) -> None:
    deep = {
        "key": "deep",
        "event": ["deal_won"],
        "conditions": {"all": [{"any": [{"all": [{"field": "amount", "op": "gt", "value": 5}]}]}]},
        "reward": {"type": "percent", "rate": 3},
    }
    rules = {"rules": [EXAMPLE_RULES["rules"][0], deep]}
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Resellers", currency="USD")
        version = plan_services.version_create_draft(
            actor=world.system, plan=plan, rules=rules, effective_from=datetime.date.today()
        )
    phone = size == "phone"
    options = {"is_mobile": True, "has_touch": True} if phone else {}
    page = new_page(viewport=PHONE if phone else DESKTOP, **options)
    login(page, "finance@vendor.test")
    page.goto(f"/commissions/versions/{version.public_id}/")
    second = page.locator("#rule-editor .cm-rule").nth(1)
    expect(second).to_contain_text("Only JSON can show this rule exactly")
    expect(second).to_contain_text("conditions nested more than one group deep")
    page.locator("#rule-editor .cm-rule").first.get_by_role("button", name="Move rule 1 down").click()
    expect(page.locator("#rule-editor .cm-rule").first).to_contain_text("Only JSON can show this rule")
    _no_sideways_scroll(page, phone)
    _shot(page, "json-only", size)
    page.locator("#save-structured").click()
    expect(page.locator("body")).to_contain_text("Draft saved.")
    with scope(world.system.access_scope()):
        stored = PlanVersion.objects.get(pk=version.pk).rules
    assert stored["rules"][0] == deep  # moved first, exactly as written
    assert parse_rules(stored) == parse_rules({"rules": [deep, EXAMPLE_RULES["rules"][0]]})
