"""``bulkread.values_rows`` gives exactly what ``list(queryset)`` gives — aware UTC datetimes, decimals,
decoded JSON (objects, lists, strings, numbers), NULLs — on both databases, and nothing for an empty
``__in``; on PostgreSQL the timestamps come through psycopg's own loader."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from openprm.activity.models import Conversion
from openprm.core.bulkread import _compiled_loader, fast_cursor, values_rows
from openprm.core.scoping import unscoped
from openprm.testing import World

pytestmark = pytest.mark.django_db
FIELDS = ("id", "occurred_at", "amount", "properties", "customer_external_id", "refund_of_id", "updated_at")


def _conversions(world: World) -> None:
    moments = [
        datetime.datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=datetime.UTC),
        datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),
        datetime.datetime(2026, 7, 1, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5))),
    ]
    properties: list[object] = [{}, {"product": "Widget", "n": [1, 2.5, None]}, "text", 0, [1]]
    with unscoped():
        for i, props in enumerate(properties):
            Conversion.objects.create(
                workspace=world.workspace,
                partner=world.partner_a,
                kind="purchase",
                occurred_at=moments[i % len(moments)],
                amount=Decimal("1234.56") if i % 2 else Decimal("0.01"),
                currency="USD",
                customer_external_id="" if i == 2 else f"cust-{i}",
                properties=props,
                idempotency_key=f"bulkread-{i}",
            )


def test_values_rows_match_the_querysets_rows(world: World) -> None:
    _conversions(world)
    with unscoped():
        rows = Conversion.objects.filter(workspace=world.workspace).order_by("id").values_list(*FIELDS)
        expected = list(rows)
        got = values_rows(rows)
        assert len(got) == 5
        assert got == expected
        for mine, theirs in zip(got, expected, strict=True):
            assert mine[1].utcoffset() == datetime.timedelta(0)
            assert mine[1].isoformat() == theirs[1].isoformat()
            assert type(mine[3]) is type(theirs[3])
        assert got[0][1] == datetime.datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=datetime.UTC)
        assert got[1][3] == {"product": "Widget", "n": [1, 2.5, None]}
        assert got[2][3] == "text"
        assert values_rows(Conversion.objects.filter(pk__in=[]).values_list(*FIELDS)) == []
        filtered = Conversion.objects.filter(workspace=world.workspace, amount__gt=1).values_list(*FIELDS)
        assert sorted(values_rows(filtered)) == sorted(filtered)


def test_other_querysets_read_as_usual(world: World) -> None:
    _conversions(world)
    with unscoped():
        mine = Conversion.objects.filter(workspace=world.workspace).order_by("id")
        flat = mine.values_list("id", flat=True)
        assert values_rows(flat) == list(flat)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the compiled loader is psycopg's")
def test_postgresql_reads_timestamps_with_psycopgs_loader(world: World) -> None:
    loader = _compiled_loader()
    assert loader is not None
    assert loader.__module__.startswith("psycopg")  # not Django's subclass
    with fast_cursor() as cursor:
        cursor.execute("SELECT TIMESTAMPTZ '2026-03-02 12:00:00.5+02'")
        (value,) = cursor.fetchone()
    assert value == datetime.datetime(2026, 3, 2, 10, 0, 0, 500000, tzinfo=datetime.UTC)
    assert value.tzinfo == datetime.UTC
