"""Where the next catch-up reads from: on PostgreSQL from the oldest open transaction's start (less a
margin for clocks), not two hours back, so the runs after a large import do not re-read every row it
wrote; a transaction open longer than that, or a database that cannot show them, keeps the two hours."""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from openprm.commissions.models import AccrualState
from openprm.commissions.services import accrual
from openprm.commissions.tests.test_accrual import publish
from openprm.core.scoping import unscoped
from openprm.testing import World

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"
PERCENT = {"rules": [{"key": "sales", "event": "purchase", "reward": {"type": "percent", "rate": 10}}]}


def _other_session() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def _mark(world: World) -> datetime.datetime:
    with unscoped():
        found = AccrualState.objects.get(workspace_id=world.workspace.pk).deals_changed_after
    assert found is not None
    return found


@pytest.mark.skipif(not POSTGRES, reason="SQLite shows no open transactions")
def test_the_watermark_follows_the_oldest_open_transaction(world: World) -> None:
    publish(world, PERCENT)
    before = timezone.now()
    accrual.accrue_catch_up(workspace_id=world.workspace.pk)
    mark = _mark(world)
    assert (
        before - accrual.MARGIN - datetime.timedelta(seconds=5)
        <= mark
        <= before - accrual.MARGIN + datetime.timedelta(seconds=5)
    )  # nothing else open: five minutes back, not two hours
    with _other_session() as other:  # a write still open (an import), begun before this run
        other.execute("SELECT 1")
        (began,) = other.execute(
            "SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        ).fetchone()
        accrual.accrue_catch_up(workspace_id=world.workspace.pk)
        assert _mark(world) == began - accrual.MARGIN
        other.rollback()


@pytest.mark.skipif(not POSTGRES, reason="SQLite shows no open transactions")
def test_a_transaction_open_for_hours_moves_the_watermark_no_further_than_two_hours(world: World) -> None:
    publish(world, PERCENT)
    now = timezone.now()
    with _other_session() as other:
        other.execute("SELECT 1")
        # three hours after the other session's BEGIN: two hours back, no further
        assert accrual.watermark(now + datetime.timedelta(hours=3)) == now + datetime.timedelta(hours=1)
        other.rollback()


@pytest.mark.skipif(POSTGRES, reason="a database that lists its open transactions has its own tests above")
def test_sqlite_reads_two_hours_back(world: World) -> None:
    publish(world, PERCENT)
    before = timezone.now()
    accrual.accrue_catch_up(workspace_id=world.workspace.pk)
    mark = _mark(world)
    assert before - accrual.OVERLAP <= mark <= timezone.now() - accrual.OVERLAP
