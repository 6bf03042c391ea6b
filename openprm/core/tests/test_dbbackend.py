"""The PostgreSQL backend's health check: no round trip for a healthy idle connection, and a request
after the server ended the connection reconnects instead of failing."""

from __future__ import annotations

import io
import time
from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite connections are files, not sockets"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _other_session() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def _last_statement(pid: int) -> str:
    with _other_session() as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    assert row is not None
    return str(row[0])


def test_a_healthy_idle_connection_is_checked_without_a_query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'health-marker'")
    pid = connection.connection.info.backend_pid
    for _ in range(5):
        assert connection.is_usable()
    assert _last_statement(pid) == "SELECT 'health-marker'"  # nothing was sent by the checks


def test_a_request_after_the_server_ended_the_connection_reconnects() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with _other_session() as other:  # as a database restart or an administrator would
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)  # the server's notice reaches the socket within milliseconds
    assert not connection.is_usable()
    # A real request (the test client would skip the request-start connection handling).
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/r/nosuchcode",  # looks the code up in the database
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
    }
    body = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    body.close()
    assert statuses == ["404 Not Found"]
    assert connection.connection.info.backend_pid != pid


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_prepared_cursor_prepares_a_repeated_statement_and_django_cursors_never_do() -> None:
    statement = "SELECT count(*) FROM django_content_type WHERE app_label = %s"
    for _ in range(6):
        with connection.cursor() as cursor:
            cursor.execute(statement, ["activity"])
    assert _prepared_statements() == []
    for _ in range(6):
        with connection.prepared_cursor() as cursor:
            cursor.execute(statement, ["activity"])
            assert cursor.fetchone()[0] > 0
    assert [s for s in _prepared_statements() if "django_content_type" in s] == [
        "SELECT count(*) FROM django_content_type WHERE app_label = $1"
    ]


def test_the_redirect_statement_is_prepared(client: Any, world: Any) -> None:
    from openprm.activity.services import referrals
    from openprm.core.scoping import scope
    from openprm.testing import actor_for

    actor = actor_for(world.admin)
    type(world.workspace).objects.filter(pk=world.workspace.pk).update(
        tracking_allowed_hosts=["vendor.example"]
    )
    with scope(actor.access_scope()):
        link = referrals.link_create(
            actor=actor, data={"partner_id": world.partner_a.pk, "destination": "https://vendor.example/"}
        )
    for _ in range(6):
        assert client.get(f"/r/{link.code}").status_code == 302
    assert any("activity_click" in s and "$1" in s for s in _prepared_statements())
