"""The deals board in a real browser (system Chromium through Playwright) on the live server: cards move
by drag and drop and with the keyboard, the lost reason is asked only for Closed lost, columns page with
"Show more", every column is reachable on a phone, and the page runs under the CSP (no inline script)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import Deal
from openprm.testing import actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def register(user: Any, name: str) -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor,
            data={"customer_name": name, "customer_domain": f"{name.lower()}.example", "amount": "900"},
        )
    return deal


def stage_of(deal: Deal) -> tuple[str, str]:
    with unscoped():
        fresh = Deal.objects.select_related("stage").get(pk=deal.pk)
    return fresh.stage.key, fresh.lost_reason


def column(page: Any, key: str) -> Any:
    return page.locator(f'.board-col[data-stage="{key}"]')


def open_board(page: Any, login: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    login(page, "manager@vendor.test")
    page.goto("/deals/?view=board")
    # The program figures load after the page: wait for them, so the board does not shift mid-drag.
    expect(page.locator("#pipeline-summary dl")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    return problems


def test_a_card_is_dragged_to_another_stage(transactional_db: Any, world: Any, page: Any, login: Any) -> None:
    deal = register(world.a_admin, "Initech")
    problems = open_board(page, login)
    expect(column(page, "registered")).to_contain_text("Initech")
    page.drag_and_drop(f"#card-{deal.public_id}", '.board-col[data-stage="qualified"]')
    expect(column(page, "qualified")).to_contain_text("Initech")
    expect(column(page, "registered")).not_to_contain_text("Initech")
    expect(column(page, "qualified").locator("[data-count]")).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True  # moved in place, no page load
    assert stage_of(deal) == ("qualified", "")
    assert not page.locator("#board-move").is_visible()  # no dialog for an open stage
    assert problems == []  # nothing blocked by the CSP, no script error


def test_dropping_into_closed_lost_asks_for_the_reason(
    transactional_db: Any, world: Any, page: Any, login: Any
) -> None:
    deal = register(world.a_admin, "Hooli")
    open_board(page, login)
    page.drag_and_drop(f"#card-{deal.public_id}", '.board-col[data-stage="closed_lost"]')
    dialog = page.locator("#board-move")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Why was it lost?")).to_be_focused()
    dialog.get_by_role("button", name="Move").click()
    expect(dialog.locator("#board-move-error")).to_have_text("Say why the deal was lost.")
    assert stage_of(deal) == ("registered", "")
    dialog.get_by_label("Why was it lost?").fill("Went with a competitor")
    dialog.get_by_role("button", name="Move").click()
    expect(column(page, "closed_lost")).to_contain_text("Hooli")
    assert stage_of(deal) == ("closed_lost", "Went with a competitor")


def test_a_card_is_moved_with_the_keyboard(transactional_db: Any, world: Any, page: Any, login: Any) -> None:
    first = register(world.a_admin, "Umbrella")
    second = register(world.a_admin, "Globex")  # newest first: Globex, then Umbrella
    open_board(page, login)
    page.locator(f"#card-{second.public_id}").focus()
    page.keyboard.press("ArrowDown")  # cards are focusable and arrows walk the column
    expect(page.locator(f"#card-{first.public_id}")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("#board-move")
    expect(dialog).to_be_visible()
    stage = dialog.get_by_label("Stage")
    expect(stage).to_be_focused()
    expect(stage).to_have_value("registered")
    stage.select_option("negotiating")
    expect(dialog.get_by_label("Why was it lost?")).to_be_hidden()
    page.keyboard.press("Tab")  # to the Move button
    page.keyboard.press("Enter")
    expect(column(page, "negotiating")).to_contain_text("Umbrella")
    expect(page.locator(f"#card-{first.public_id}")).to_be_focused()  # focus stays on the moved card
    expect(page.locator("#board-status")).to_have_text("Umbrella moved to Negotiating.")
    assert stage_of(first) == ("negotiating", "")
    # Escape closes the dialog without moving anything.
    page.locator(f"#card-{first.public_id}").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert stage_of(first) == ("negotiating", "")


def test_columns_page_and_every_column_is_reachable_on_a_phone(
    transactional_db: Any, world: Any, new_page: Any, login: Any
) -> None:
    for i in range(23):
        register(world.a_admin if i % 2 else world.b_admin, f"Customer{i:02d}")
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    open_board(page, login)
    registered = column(page, "registered")
    expect(registered.locator(".deal-card")).to_have_count(20)
    registered.get_by_role("button", name="Show 3 more").click()
    expect(registered.locator(".deal-card")).to_have_count(23)
    expect(registered.get_by_role("button", name="Show 3 more")).to_have_count(0)
    # The page itself does not scroll sideways; the board does, and its last column comes into view.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    board = page.locator("#deal-board")
    assert board.evaluate("b => b.scrollWidth > b.clientWidth")
    last = column(page, "closed_lost")
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
