"""Notifications in a real browser: a staff user sees the unread count in the header, reads the list and
marks everything read (the count goes); an admin adds a webhook endpoint (secret shown once) and reads the
delivery log; a partner user on a phone sets preferences and reads the portal list without sideways
scrolling. With PRM_SHOTS=<dir> each page is also saved there as a screenshot."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import expect

from openprm.core.tasks import workspace_scope
from openprm.notifications.services import notify
from openprm.notifications.tests.conftest import Receiver, deliver

PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("PRM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _tell(world: Any, users: list[Any], title: str, **extra: Any) -> None:
    fields = {"kind": "alert.firing", "body": "", "severity": "info"} | extra
    with transaction.atomic():
        notify(workspace_id=world.workspace.pk, title=title, users=[u.pk for u in users], **fields)


@pytest.fixture
def told(world: Any, receiver: Receiver) -> Any:
    from openprm.notifications.services import endpoint_create

    with workspace_scope(world.workspace.pk), transaction.atomic():
        endpoint_create(
            actor=world.system, values={"name": "Ops Slack", "url": receiver.url, "kind": "slack"}
        )
    receiver.script = ["500"]
    _tell(
        world,
        [world.admin],
        "Win rate below 20%: Acme Resellers",
        severity="critical",
        body="Win rate 12% over the last 90 days (threshold 20%).",
        link=f"/partners/{world.partner_a.public_id}/",
    )
    _tell(world, [world.admin], "Partner inactive 30 days: Globex Referrals", severity="warning")
    _tell(world, [world.admin], "New registration awaiting approval: Initech", kind="deal.submitted")
    deliver(world.workspace.pk, after_seconds=31)  # the Slack retry after the 500
    for title in ("Deal approved: Initech", "More information needed: Hooli"):
        _tell(
            world,
            [world.a_admin],
            title,
            kind="deal.approved",
            partner_id=world.partner_a.pk,
            body="Protected until 2027-03-01.",
        )
    return world


def test_staff_reads_and_marks_notifications(
    told: Any, receiver: Receiver, new_page: Any, login: Any
) -> None:
    page = new_page(viewport={"width": 1280, "height": 900})
    login(page, "admin@vendor.test")
    count = page.locator("#notification-count")
    expect(count).to_have_text("3")
    page.locator("#nav-notifications").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.locator(".notification.unread")).to_have_count(3)
    _shot(page, "staff-notifications")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(page.locator("#notification-count")).to_have_count(0)

    page.get_by_role("link", name="Webhook endpoints").click()
    page.fill("#id_name", "Integrations")
    page.fill("#id_url", receiver.url)
    page.select_option("#id_kind", "generic")
    page.check("#id_enabled")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#new-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    _shot(page, "webhook-endpoints")
    page.reload()
    expect(page.locator("#new-secret")).to_have_count(0)  # shown once

    page.get_by_role("link", name="delivery log").click()
    expect(page.locator("#deliveries")).to_contain_text("HTTP 500")
    _shot(page, "delivery-log")

    page.goto("/notifications/preferences/")
    _shot(page, "staff-preferences")


def test_partner_user_on_a_phone(told: Any, new_page: Any, login: Any) -> None:
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, "admin@acme.test")
    page.goto("/portal/notifications/")
    expect(page.locator(".notification")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "portal-notifications-phone")
    page.locator("#notification-preferences").click()
    page.uncheck("input[name=severities][value=info]")
    page.check("input[name=mode][value=digest]")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator(".messages")).to_contain_text("saved")
    expect(page.locator("input[name=mode][value=digest]")).to_be_checked()
    expect(page.locator("input[name=severities][value=info]")).not_to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "portal-preferences-phone")
