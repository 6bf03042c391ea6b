"""The exchange-rate page: who sees it, the empty state, filters and pages, manual entry and delete,
partner users and other workspaces kept out, a bounded number of queries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.finance.models import FxRate

pytestmark = pytest.mark.django_db
PAGE = "/finance/fx-rates/"


def add(workspace: Workspace, day: int, quote: str, rate: str) -> FxRate:
    with unscoped():
        return FxRate.objects.create(
            workspace=workspace,
            day=datetime.date(2024, 1, day),
            base="EUR",
            quote=quote,
            rate=Decimal(rate),
            source="ecb",
        )


def test_the_empty_state_says_how_to_import(world, client_for) -> None:  # type: ignore[no-untyped-def]
    page = client_for(world.finance).get(PAGE).content.decode()
    assert "No exchange rates yet" in page and "eurofxref-hist.csv" in page
    assert "prm import fx-rates FILE" in page and "/import/finance/fx-rates/" in page
    read_only = client_for(world.analyst).get(PAGE).content.decode()
    assert "an admin or finance user imports it" in read_only
    assert 'id="fx-form"' not in read_only and "/import/finance/fx-rates/" not in read_only


def test_the_list_filters_and_pages(world, client_for) -> None:  # type: ignore[no-untyped-def]
    for day in range(1, 31):
        add(world.workspace, day, "USD", "1.09")
        add(world.workspace, day, "JPY", "157.5")
    client = client_for(world.manager)
    page = client.get(PAGE).content.decode()
    assert "Page 1 of 2 (60 rates)" in page and "2024-01-30" in page and "157.5<" in page
    only_yen = client.get(PAGE, {"currency": "jpy", "start": "2024-01-10", "end": "2024-01-12"})
    text = only_yen.content.decode()
    assert text.count('id="rate-') == 3 and "USD</td>" not in text
    assert "No rate matches these filters" in client.get(PAGE, {"currency": "CHF"}).content.decode()
    assert 'href="/finance/fx-rates/"' in client_for(world.finance).get("/finance/invoices/").content.decode()


def test_manual_entry_and_delete(world, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    answer = client.post(PAGE, {"day": "2024-01-05", "base": "eur", "quote": "usd", "rate": "1.0921"})
    assert answer.status_code == 302
    with unscoped():
        rate = FxRate.objects.get()
    assert (rate.base, rate.quote, rate.rate, rate.source) == ("EUR", "USD", Decimal("1.0921"), "manual")
    changed = client.post(PAGE, {"day": "2024-01-05", "base": "EUR", "quote": "USD", "rate": "1.1"})
    assert changed.status_code == 200 and "is stored as 1.0921" in changed.content.decode()
    bad = client.post(PAGE, {"day": "2024-01-05", "base": "EUR", "quote": "EUR", "rate": "-1"})
    text = bad.content.decode()
    assert "A rate is a positive number" in text and "The quote currency is the base currency" in text
    replaced = {"day": "2024-01-05", "base": "EUR", "quote": "USD", "rate": "1.1", "overwrite": "on"}
    assert client.post(PAGE, replaced).status_code == 302
    assert client.post(PAGE, {"delete": str(rate.public_id)}).status_code == 302
    with unscoped():
        assert not FxRate.objects.exists()


def test_only_admins_and_finance_write(world, client_for) -> None:  # type: ignore[no-untyped-def]
    rate = add(world.workspace, 5, "USD", "1.09")
    for user in (world.manager, world.analyst):
        client = client_for(user)
        assert client.get(PAGE).status_code == 200
        body = {"day": "2024-01-06", "base": "EUR", "quote": "USD", "rate": "1"}
        assert client.post(PAGE, body).status_code == 403
        assert client.post(PAGE, {"delete": str(rate.public_id)}).status_code == 403
    with unscoped():
        assert FxRate.objects.count() == 1


def test_partner_users_and_other_workspaces_are_kept_out(world, client_for) -> None:  # type: ignore[no-untyped-def]
    mine = add(world.workspace, 5, "USD", "1.09")
    other = Workspace.objects.create(name="Other", slug="other")
    theirs = add(other, 5, "GBP", "0.8612345")
    for user in (world.a_admin, world.b_admin, world.a_rep):
        client = client_for(user)
        assert client.get(PAGE).status_code == 404
        assert client.post(PAGE, {"delete": str(mine.public_id)}).status_code == 404
    client = client_for(world.admin)
    assert "0.8612345" not in client.get(PAGE).content.decode()
    assert client.post(PAGE, {"delete": str(theirs.public_id)}).status_code == 404
    with unscoped():
        assert FxRate.objects.count() == 2


def test_the_list_runs_a_bounded_number_of_queries(world, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    add(world.workspace, 1, "USD", "1.09")
    client.get(PAGE)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    for day in range(2, 31):
        add(world.workspace, day, "USD", "1.09")
        add(world.workspace, day, "JPY", "157.5")
    with CaptureQueriesContext(connection) as many:
        client.get(PAGE)
    assert len(many) == len(few)


def test_a_bad_filter_is_shown_not_ignored(world, client_for) -> None:  # type: ignore[no-untyped-def]
    add(world.workspace, 4, "USD", "1.09")
    add(world.workspace, 5, "USD", "1.1")
    client = client_for(world.analyst)
    page = client.get(PAGE, {"day": "xx", "currency": "E1R"}).content.decode()
    assert 'id="fx-filter-errors"' in page
    assert "day: A date as YYYY-MM-DD." in page and "currency: A currency code" in page
    assert "1.09" not in page  # nothing listed as if the filter were not there
    assert "Correct the filter above" in page and "No exchange rates yet" not in page
    backwards = client.get(PAGE, {"start": "2024-01-05", "end": "2024-01-04"}).content.decode()
    assert "end: On or after the start." in backwards
    one_day = client.get(PAGE, {"day": "2024-01-04"}).content.decode()
    assert "1.09" in one_day and "1.1<" not in one_day and 'id="fx-filter-errors"' not in one_day
