"""The ledger page shows what earned something by default; one visible link includes the 0.00 entries
(events evaluated that earned nothing) and keeps that choice across pages; "why nothing" stays one click
away; the API keeps listing every entry by default (its documented contract)."""

from __future__ import annotations

import datetime
import html
from typing import Any

import pytest

from openprm.commissions.tests.ui_fixtures import entry, make_plan

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 10, day, 9, 0, tzinfo=datetime.UTC)


def test_the_page_hides_the_zero_entries_until_asked(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    earned = entry(world, world.partner_a, "10.00", plan=plan, when=at(2))
    zero = entry(world, world.partner_a, "0.00", plan=plan, when=at(3))
    client = client_for(world.analyst)
    page = client.get("/commissions/ledger/").content.decode()
    assert f'id="entry-{earned.public_id}"' in page and f'id="entry-{zero.public_id}"' not in page
    assert '<option value="something" selected>' in page and 'id="show-zero"' in page
    assert 'href="/commissions/ledger/why/"' in page
    assert ">Clear</a>" not in page  # the default is not a filter to clear
    link = html.unescape(page.split('id="show-zero"')[0].rsplit('href="', 1)[1].split('"')[0])
    every = client.get(f"/commissions/ledger/{link}").content.decode()
    assert f'id="entry-{earned.public_id}"' in every and f'id="entry-{zero.public_id}"' in every
    assert 'id="hide-zero"' in every and '<option value="" selected>' in every


def test_the_choice_of_every_entry_stays_on_the_next_page(world: Any, client_for: Any) -> None:
    plan = make_plan(world)
    for n in range(1, 53):
        entry(world, world.partner_a, "0.00", plan=plan, when=at(1 + n % 28))
    client = client_for(world.analyst)
    assert 'id="older"' not in client.get("/commissions/ledger/").content.decode()  # nothing earned
    first = client.get("/commissions/ledger/?earned=").content.decode()
    older = html.unescape(first.split('id="older"')[0].rsplit('href="', 1)[1].split('"')[0])
    assert "earned=&" in older or older.endswith("earned=")
    second = client.get(f"/commissions/ledger/{older}").content.decode()
    assert second.count('id="entry-') == 2


def test_the_api_still_lists_every_entry_by_default(world: Any, api_for: Any) -> None:
    plan = make_plan(world)
    entry(world, world.partner_a, "10.00", plan=plan, when=at(2))
    entry(world, world.partner_a, "0.00", plan=plan, when=at(3))
    answer = api_for(world.finance).get("/api/v1/commissions/ledger")
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2
    earned = api_for(world.finance).get("/api/v1/commissions/ledger", {"earned": "something"})
    assert [i["amount"] for i in earned.json()["items"]] == ["10.00"]
