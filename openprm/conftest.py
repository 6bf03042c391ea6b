"""Browser fixtures: Playwright (sync API) driving the system Chromium against pytest-django's live_server.

Playwright's own browser download does not work here, so the tests launch ``/usr/bin/chromium``
(``apt-get install -y chromium``; PRM_TEST_CHROMIUM names another binary); without it they skip, which
the root conftest turns into a failure under CI=true.

Browser tests mark themselves with::

    pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

``transaction=True`` because the live server thread must see the test's data; ``serialized_rollback``
because the flush after each transactional test also empties what the data migrations created (the
default workspace, its partner types and program); the serialized copy is restored before each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("PRM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_TIMEOUT_MS = 10_000

_failed_key = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.stash[_failed_key] = True


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless system Chromium driven by Playwright's sync API, started for one test.

    Function scope on purpose. While the sync API is started it leaves its asyncio loop marked as
    running in the main thread, and Django then hands that thread a *different* connection object
    (``connections`` is an asgiref ``Local``, which is context-local under a running loop). Started
    per test, after the database fixtures and stopped before their teardown, Playwright never sees the
    connection that pytest-django restores (serialized rollback) and flushes, and no later test in the
    worker runs under its loop. Test code in between does use the ORM under the loop: hence
    DJANGO_ALLOW_ASYNC_UNSAFE, and closing that second connection before stopping.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()  # the connections opened under Playwright's loop


@pytest.fixture
def new_page(
    chromium: Any, live_server: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Any]]:
    """new_page(viewport=None, **context_options) → a Page in a fresh context (own cookies) whose
    relative URLs go to the live server. On a failed test every page is screenshotted into tmp_path."""
    from django.urls import reverse

    reverse("login")  # imports the whole URLconf now rather than during the first page load
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None, **options: Any) -> Any:
        options.setdefault("base_url", live_server.url)
        if viewport is not None:
            options["viewport"] = viewport
        context = chromium.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make

    failed = request.node.stash.get(_failed_key, False)
    for n, context in enumerate(contexts):
        if failed:
            for m, page in enumerate(context.pages):
                path = tmp_path / f"failure-{n}-{m}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                except Exception as exc:  # a failed screenshot must not hide the real failure
                    print(f"could not save a screenshot of {page.url}: {exc}")
                else:
                    print(f"screenshot of {page.url}: {path}")
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-size page on the live server (overrides pytest-playwright's, which would download
    its own browser)."""
    return new_page()


@pytest.fixture
def login() -> Callable[[Any, str], Any]:
    """login(page, email) → logs in through the real form at /login/ and waits for the landing page."""
    from openprm.testing import PASSWORD

    def do(page: Any, email: str, password: str = PASSWORD) -> Any:
        page.goto("/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("form button[type=submit]")
        return page

    return do
