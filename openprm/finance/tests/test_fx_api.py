"""``/api/v1/finance/fx-rates``: list (filters, pagination), manual and bulk entry with errors naming the
field or item, delete, who may read and write, partner users and other workspaces kept out."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import unscoped
from openprm.finance.models import FxRate

pytestmark = pytest.mark.django_db
URL = "/api/v1/finance/fx-rates"


@pytest.fixture
def rates(world):  # type: ignore[no-untyped-def]
    with unscoped():
        rows = [
            FxRate.objects.create(
                workspace=world.workspace,
                day=datetime.date(2024, 1, day),
                base="EUR",
                quote=quote,
                rate=Decimal(rate),
                source="ecb",
            )
            for day in (3, 4, 5)
            for quote, rate in (("USD", "1.09"), ("JPY", "157.5"))
        ]
        other = Workspace.objects.create(name="Other", slug="other")
        FxRate.objects.create(
            workspace=other, day=datetime.date(2024, 1, 5), base="EUR", quote="GBP", rate=1, source="ecb"
        )
    return rows


def test_list_filters_and_pages(world, api_for, rates) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.analyst)  # every staff role reads
    body = api.get(URL).json()
    assert body["count"] == 6  # not the other workspace's pound
    assert body["items"][0]["day"] == "2024-01-05" and body["items"][0]["rate"] in (
        "157.5",
        "157.50000000000000",
    )
    assert api.get(URL, {"currency": "usd"}).json()["count"] == 3
    assert api.get(URL, {"start": "2024-01-04", "end": "2024-01-04"}).json()["count"] == 2
    assert [i["day"] for i in api.get(URL, {"limit": 2, "offset": 4}).json()["items"]] == ["2024-01-03"] * 2
    answer = api.get(URL, {"currency": "dollars"})
    assert answer.status_code == 422 and answer.json()["field"] == "currency"
    one = api.get(f"{URL}/{rates[0].public_id}").json()
    assert (one["base"], one["quote"], one["source"]) == ("EUR", "USD", "ecb")


def test_manual_entry_is_audited_and_refuses_a_changed_rate_unless_overwrite(world, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.finance)
    body = {"day": "2024-01-05", "base": "usd", "quote": "CHF", "rate": "0.85123456789"}
    created = api.post(URL, body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert (created.json()["base"], created.json()["source"]) == ("USD", "manual")
    assert api.post(URL, body, content_type="application/json").status_code == 201  # the same: no change
    changed = api.post(URL, {**body, "rate": "0.86"}, content_type="application/json")
    assert changed.status_code == 422
    assert changed.json()["field"] == "rate" and "stored as 0.85123456789" in changed.json()["message"]
    replaced = api.post(URL, {**body, "rate": "0.86", "overwrite": True}, content_type="application/json")
    assert replaced.status_code == 201
    with unscoped():
        assert FxRate.objects.get().rate == Decimal("0.86")
        actions = list(
            AuditEntry.objects.filter(object_type="finance.fxrate").values_list("action", flat=True)
        )
    assert sorted(actions) == ["create", "update"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rate": "0"}, "rate"),
        ({"rate": "-1.2"}, "rate"),
        ({"rate": "1.123456789012345"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"base": "EURO"}, "base"),
        ({"quote": "U$D"}, "quote"),
        ({"day": "2024-02-30"}, "day"),
        ({"quote": "EUR"}, "quote"),
        ({"source": "ecb"}, "source"),
    ],
)
def test_errors_name_the_field(world, api_for, change, field) -> None:  # type: ignore[no-untyped-def]
    body = {"day": "2024-01-05", "base": "EUR", "quote": "USD", "rate": "1.09", **change}
    answer = api_for(world.finance).post(URL, body, content_type="application/json")
    assert answer.status_code == 422, answer.content
    assert answer.json()["field"] == field


def test_bulk_entry_is_all_or_nothing_and_names_the_item(world, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(world.finance)
    items = [
        {"day": "2024-01-05", "base": "EUR", "quote": "USD", "rate": "1.09"},
        {"day": "2024-01-05", "base": "EUR", "quote": "JPY", "rate": "157.5"},
        {"day": "2024-01-05", "base": "EUR", "quote": "USD", "rate": "1.1"},
    ]
    answer = api.post(f"{URL}/bulk", {"items": items}, content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["field"] == "items.2.quote" and "given twice (item 1)" in answer.json()["message"]
    bad = api.post(f"{URL}/bulk", {"items": [{**items[0], "rate": "x"}]}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "items.0.rate"
    with unscoped():
        assert not FxRate.objects.exists()
    done = api.post(f"{URL}/bulk", {"items": items[:2]}, content_type="application/json")
    assert done.json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = api.post(f"{URL}/bulk", {"items": items[:2]}, content_type="application/json")
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2}


def test_who_may_write(world, api_for, rates) -> None:  # type: ignore[no-untyped-def]
    body = {"day": "2024-01-06", "base": "EUR", "quote": "USD", "rate": "1.09"}
    for user in (world.manager, world.analyst):
        api = api_for(user)
        assert api.post(URL, body, content_type="application/json").status_code == 403
        assert api.delete(f"{URL}/{rates[0].public_id}").status_code == 403
    admin = api_for(world.admin)
    assert admin.post(URL, body, content_type="application/json").status_code == 201
    assert admin.delete(f"{URL}/{rates[0].public_id}").status_code == 204
    with unscoped():
        assert AuditEntry.objects.filter(object_type="finance.fxrate", action="delete").count() == 1


def test_partner_users_get_nothing(world, api_for, rates) -> None:  # type: ignore[no-untyped-def]
    for user in (world.a_admin, world.b_admin, world.a_rep):
        api = api_for(user)
        assert api.get(URL).status_code == 403
        assert api.get(f"{URL}/{rates[0].public_id}").status_code == 404
        body = {"day": "2024-01-06", "base": "EUR", "quote": "USD", "rate": "1.09"}
        assert api.post(URL, body, content_type="application/json").status_code == 403
        assert api.delete(f"{URL}/{rates[0].public_id}").status_code == 404


def test_another_workspaces_rate_is_not_found(world, api_for, rates) -> None:  # type: ignore[no-untyped-def]
    with unscoped():
        theirs = FxRate.objects.get(quote="GBP")
    api = api_for(world.admin)
    assert api.get(f"{URL}/{theirs.public_id}").status_code == 404
    assert api.delete(f"{URL}/{theirs.public_id}").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"day": "xx"}, "day"),
        ({"day": "2024-02-30"}, "day"),
        ({"start": "2024-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"currency": "E1R"}, "currency"),
        ({"start": "2024-01-05", "end": "2024-01-04"}, "end"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_a_bad_filter_answers_422_naming_it(world, api_for, rates, query, field) -> None:  # type: ignore[no-untyped-def]
    answer = api_for(world.analyst).get(URL, query)
    assert answer.status_code == 422, answer.content
    assert answer.json()["field"] == field


def test_the_day_filter(world, api_for, rates) -> None:  # type: ignore[no-untyped-def]
    items = api_for(world.analyst).get(URL, {"day": "2024-01-04"}).json()["items"]
    assert sorted(i["quote"] for i in items) == ["JPY", "USD"] and {i["day"] for i in items} == {"2024-01-04"}
