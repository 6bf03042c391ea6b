"""A database connection that drops under a request (a restart, a failover, an administrator's
``pg_terminate_backend``): the redirect still answers 302 and the events ingest 200, and the retry stores
nothing twice. PostgreSQL only: the server ends the request's own session at a chosen statement."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from django.db import connection
from django.test import Client

from openprm.activity.models import Click, Event, RollupPending
from openprm.activity.rollups import rollup_cells, rollups_fold, rollups_rebuild
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite connections are files, not sockets"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _other_session() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _terminate(pid: int) -> None:
    """End the session ``pid`` as an administrator would, and wait until the server has let it go."""
    with _other_session() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the session did not end"
            time.sleep(0.01)


@contextmanager
def connection_dropped(when: Callable[[str], bool], *, after: bool = False) -> Iterator[list[int]]:
    """Drop the request's connection at the first statement for which ``when(sql)`` holds: before the
    statement is sent (``after=False``: it never reaches the server) or right after the server ran and
    committed it (``after=True``: the answer is lost on the way to the next statement). Yields the pids
    that were ended."""
    ended: list[int] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if ended or not when(sql):
            return execute(sql, params, many, context)
        pid = connection.connection.info.backend_pid
        ended.append(pid)
        if not after:
            _terminate(pid)
            return execute(sql, params, many, context)
        result = execute(sql, params, many, context)
        _terminate(pid)
        context["cursor"].execute("SELECT 1")  # the next round trip finds the connection gone
        return result

    with connection.execute_wrapper(wrapper):
        yield ended
    assert ended, "the connection was never dropped: the test did not test anything"


@pytest.fixture
def link(world: Any) -> Any:
    from openprm.activity.services import referrals
    from openprm.core.scoping import scope
    from openprm.testing import actor_for

    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(tracking_allowed_hosts=["vendor.example"])
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        return referrals.link_create(
            actor=actor, data={"partner_id": world.partner_a.pk, "destination": "https://vendor.example/"}
        )


def _clicks() -> list[str]:
    with unscoped():
        return list(Click.objects.values_list("click_id", flat=True))


@pytest.mark.parametrize("after", [False, True], ids=["before-the-click", "after-the-click-committed"])
def test_the_redirect_survives_a_dropped_connection_and_stores_one_click(
    world: Any, link: Any, client: Client, after: bool
) -> None:
    connection.ensure_connection()
    with connection_dropped(lambda sql: "activity_click" in sql and "INSERT" in sql, after=after) as ended:
        response = client.get(f"/r/{link.code}")
    assert response.status_code == 302, response.content
    assert connection.connection.info.backend_pid not in ended  # a new session answered
    click_id = parse_qs(urlsplit(response["Location"]).query)["prm_click"][0]
    assert _clicks() == [click_id]
    rollups_fold(workspace_id=world.workspace.pk)
    with unscoped():
        assert not RollupPending.objects.exists()
    cells = rollup_cells(workspace_id=world.workspace.pk)
    assert sum(v for (_, _, metric), v in cells.items() if metric == "clicks") == 1
    rollups_rebuild(workspace_id=world.workspace.pk)
    assert rollup_cells(workspace_id=world.workspace.pk) == cells


def test_other_database_errors_are_not_retried(world: Any, link: Any) -> None:
    from django.db import OperationalError

    from openprm.core.db import retry_on_dropped_connection

    runs: list[int] = []

    def work() -> None:
        runs.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1)")

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 10")
    try:
        with pytest.raises(OperationalError):  # canceled by the timeout: the connection is fine
            retry_on_dropped_connection(work)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert runs == [1]


def test_an_events_batch_survives_a_dropped_connection_and_stores_each_event_once(
    world: Any, api_for: Any
) -> None:
    api = api_for(world.manager)
    body = [
        {
            "event_id": f"drop-{i}",
            "partner_external_id": "A-1",
            "type": "portal_login",
            "occurred_at": "2026-11-01T10:00:00Z",
        }
        for i in range(20)
    ]
    with connection_dropped(lambda sql: "activity_event" in sql):
        response = api.post("/api/v1/events", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["stored"] + response.json()["duplicates"] == 20
    with unscoped():
        assert sorted(Event.objects.values_list("event_id", flat=True)) == sorted(e["event_id"] for e in body)
    again = api.post("/api/v1/events", data=json.dumps(body), content_type="application/json")
    assert again.status_code == 200 and again.json()["stored"] == 0
    with unscoped():
        assert Event.objects.count() == 20
