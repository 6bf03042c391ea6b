"""``SnapshotCopy``: a second session reads exactly what this transaction sees — not a row committed by
another session since it began — at the same time as this one works, and its rows land in a table of
this session; its error reaches this session, and an error in this session stops its query."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from openprm.core import snapshot
from openprm.core.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a shared snapshot is a feature of the other database backend")


def _committed_elsewhere(name: str) -> None:
    """A workspace created and committed by another session."""

    def create() -> None:
        try:
            Workspace.objects.create(name=name, slug=name)
        finally:
            connections.close_all()

    thread = threading.Thread(target=create)
    thread.start()
    thread.join()


def test_the_second_session_sees_this_transactions_snapshot() -> None:
    assert snapshot.usable(outermost=True) and not snapshot.usable(outermost=False)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT slug FROM core_workspace ORDER BY slug")
            before = [slug for (slug,) in cursor.fetchall()]
            cursor.execute("CREATE TEMPORARY TABLE seen (slug text) ON COMMIT DROP")
        _committed_elsewhere("committed-after")  # after this transaction's snapshot: invisible to both
        query = "SELECT slug FROM core_workspace WHERE slug <> %s"
        with snapshot.SnapshotCopy(query, ["no-such-slug"], settings=["SET LOCAL work_mem = '8MB'"]) as side:
            copied = side.load("seen", ["slug"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT slug FROM seen ORDER BY slug")
            seen = [slug for (slug,) in cursor.fetchall()]
    assert copied > 0
    assert seen == before and "committed-after" not in seen
    assert Workspace.objects.filter(slug="committed-after").exists()


def test_an_error_of_the_second_session_reaches_this_one() -> None:
    query = "SELECT 1 / (COUNT(*) - COUNT(*)) FROM core_workspace"
    with (
        transaction.atomic(),
        pytest.raises(Exception, match="division by zero"),
        snapshot.SnapshotCopy(query, []) as side,
    ):
        side.load("nowhere", ["x"])


@pytest.mark.parametrize("wait", [0.0, 0.5])  # before the second session's query began, or while it runs
def test_an_error_here_stops_the_second_session(wait: float) -> None:
    started = time.perf_counter()
    with (
        transaction.atomic(),
        pytest.raises(RuntimeError, match="stop"),
        snapshot.SnapshotCopy("SELECT pg_sleep(60)", []),
    ):
        time.sleep(wait)
        raise RuntimeError("stop")
    assert time.perf_counter() - started < 20  # not the minute of its query


def test_a_second_session_that_cannot_start_fails_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(alias: str) -> None:
        raise ConnectionError("no connection left")

    with transaction.atomic():
        monkeypatch.setattr(snapshot.connections, "create_connection", refuse)
        with (
            pytest.raises(ConnectionError, match="no connection left"),
            snapshot.SnapshotCopy("SELECT slug FROM core_workspace", []) as side,
        ):
            side.load("nowhere", ["slug"])
