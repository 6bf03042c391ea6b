"""The outbox: a message exists only if the change it announces committed, is delivered once after the
commit, retried with exponential backoff while its handler fails, and never holds up other messages.
Account invitations go through it to a real SMTP server."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from openprm.core import outbox
from openprm.core.models import OutboxMessage, Workspace
from openprm.core.outbox import (
    BACKOFF_SECONDS,
    MAX_ATTEMPTS,
    outbox_deliver,
    outbox_handler,
    outbox_put,
    outbox_queue_state,
)
from openprm.core.scoping import unscoped
from openprm.core.tasks import workspace_scope

delivered: list[tuple[str, Any]] = []
failures: dict[str, int] = {}  # topic → how many more times its handler fails


@outbox_handler("test.record")
def record(message: OutboxMessage) -> None:
    delivered.append((message.topic, message.payload))


@outbox_handler("test.flaky")
def flaky(message: OutboxMessage) -> None:
    if failures.get(message.topic, 0):
        failures[message.topic] -= 1
        raise ConnectionError("the receiving end is away")
    delivered.append((message.topic, message.payload))


@outbox_handler("test.reentrant")
def reentrant(message: OutboxMessage) -> None:
    """While this delivery holds the message, a second delivery of the workspace runs (the race)."""
    delivered.append((message.topic, message.payload))
    delivered.append(("inner delivery", outbox_deliver(workspace_id=message.workspace_id)))


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    delivered.clear()
    failures.clear()
    yield
    delivered.clear()
    failures.clear()


def messages() -> list[OutboxMessage]:
    with unscoped():
        return list(OutboxMessage.objects.order_by("pk"))


def deliver(workspace: Workspace, *, at: datetime.datetime | None = None) -> int:
    with workspace_scope(workspace.pk):
        return outbox_deliver(workspace_id=workspace.pk, now=at)


# --- written with the change -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_message_is_written_and_delivered_with_its_change_or_not_at_all(workspace: Workspace) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_put(workspace_id=workspace.pk, topic="test.record", payload={"n": 1})
        raise RuntimeError("the change fails")
    assert messages() == [] and delivered == []

    with transaction.atomic():
        outbox_put(workspace_id=workspace.pk, topic="test.record", payload={"n": 2})
        assert delivered == []  # not before the commit
    assert delivered == [("test.record", {"n": 2})]
    [message] = messages()
    assert message.delivered_at is not None and message.attempts == 1 and message.last_error == ""

    with pytest.raises(transaction.TransactionManagementError):
        outbox_put(workspace_id=workspace.pk, topic="test.record", payload={"n": 3})  # no transaction
    assert len(messages()) == 1


@pytest.mark.django_db
def test_a_message_is_delivered_once(workspace: Workspace, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for n in range(3):
            outbox_put(workspace_id=workspace.pk, topic="test.record", payload={"n": n})
    assert len(callbacks) == 1  # one delivery job for the transaction's messages
    assert delivered == [("test.record", {"n": n}) for n in range(3)]
    assert deliver(workspace) == 0 and len(delivered) == 3  # nothing is due any more


@pytest.mark.django_db
def test_a_delivery_racing_another_does_not_deliver_its_messages_again(
    workspace: Workspace, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox_put(workspace_id=workspace.pk, topic="test.reentrant", payload={})
        outbox_put(workspace_id=workspace.pk, topic="test.record", payload={"after": True})
    # the first delivery claimed both; the one racing it (inside the first handler) found nothing
    assert delivered == [("test.reentrant", {}), ("inner delivery", 0), ("test.record", {"after": True})]
    assert all(m.delivered_at and m.attempts == 1 for m in messages())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deliveries_deliver_each_message_once(workspace: Workspace) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database cannot be written from several threads")
    with unscoped():  # written directly: due, with no delivery job of their own
        OutboxMessage.objects.bulk_create(
            OutboxMessage(
                workspace=workspace, topic="test.record", payload={"n": n}, available_at=timezone.now()
            )
            for n in range(60)
        )
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            with workspace_scope(workspace.pk):
                outbox_deliver(workspace_id=workspace.pk, limit=5)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(p["n"] for _, p in delivered) == list(range(60))
    assert {m.attempts for m in messages()} == {1}


# --- retries ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_handler_is_retried_with_backoff_and_holds_up_nothing(
    workspace: Workspace, django_capture_on_commit_callbacks: Any
) -> None:
    failures["test.flaky"] = 2
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox_put(workspace_id=workspace.pk, topic="test.flaky", payload={"n": 1})
        outbox_put(workspace_id=workspace.pk, topic="test.record", payload={"n": 2})
        outbox_put(workspace_id=workspace.pk, topic="test.nobody", payload={"n": 3})  # no handler
    assert delivered == [("test.record", {"n": 2})]  # the failures did not hold it up
    flaky_message, good, orphan = messages()
    assert good.delivered_at is not None
    assert orphan.delivered_at is None and "No outbox handler" in orphan.last_error
    assert flaky_message.delivered_at is None and flaky_message.attempts == 1
    assert flaky_message.last_error == "ConnectionError: the receiving end is away"
    first_wait = (flaky_message.available_at - before).total_seconds()
    assert BACKOFF_SECONDS <= first_wait < BACKOFF_SECONDS + 30

    assert deliver(workspace) == 0  # not due yet: nothing is tried
    assert messages()[0].attempts == 1
    assert deliver(workspace, at=flaky_message.available_at) == 0  # second attempt fails too
    second = messages()[0]
    assert second.attempts == 2
    second_wait = (second.available_at - timezone.now()).total_seconds()
    assert 2 * BACKOFF_SECONDS - 30 < second_wait <= 2 * BACKOFF_SECONDS  # doubled
    assert deliver(workspace, at=second.available_at) == 1  # third attempt succeeds
    third = messages()[0]
    assert third.delivered_at is not None and third.attempts == 3 and third.last_error == ""
    assert delivered[-1] == ("test.flaky", {"n": 1})


@pytest.mark.django_db
def test_a_message_that_keeps_failing_stops_after_the_last_attempt(
    workspace: Workspace, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox_put(workspace_id=workspace.pk, topic="test.nobody", payload={})
    far = timezone.now() + datetime.timedelta(days=30)
    for _ in range(MAX_ATTEMPTS + 3):
        deliver(workspace, at=far)
    [message] = messages()
    assert message.attempts == MAX_ATTEMPTS and message.delivered_at is None
    assert "No outbox handler" in message.last_error
    with unscoped():
        OutboxMessage.objects.update(available_at=timezone.now() - datetime.timedelta(hours=1))
    assert outbox_queue_state().pending == 0  # no longer due: it waits for an operator
    assert deliver(workspace) == 0 and messages()[0].attempts == MAX_ATTEMPTS


@pytest.mark.django_db
def test_health_reports_messages_waiting_for_the_worker(client: Any, workspace: Workspace) -> None:
    with unscoped():
        OutboxMessage.objects.create(
            workspace=workspace,
            topic="test.record",
            payload={},
            available_at=timezone.now() - datetime.timedelta(minutes=10),
        )
    report = client.get("/health/").json()
    assert report["queue"]["outbox"]["pending"] == 1
    assert report["queue"]["outbox"]["oldest_age_seconds"] >= 600


# --- e-mails through the outbox, to a real SMTP server ---------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[tuple[Inbox, Controller]]:
    """A real SMTP server, not yet started (the test starts it when the mail server should answer)."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_TIMEOUT = 5
    yield inbox, controller
    controller.stop(no_assert=True)


@pytest.mark.django_db
def test_an_invitation_waits_in_the_outbox_while_the_mail_server_is_away(
    world: Any, client_for: Any, smtp: tuple[Inbox, Controller], django_capture_on_commit_callbacks: Any
) -> None:
    inbox, controller = smtp
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.admin).post(
            reverse("users"), {"email": "new.analyst@vendor.test", "role": "analyst"}
        )
    assert response.status_code == 302  # the invitation itself succeeded
    [message] = messages()
    assert message.topic == "email" and message.delivered_at is None and message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")
    assert "/password-reset/" not in str(message.payload)  # the link is minted when the mail is sent

    controller.start()
    assert deliver(world.workspace, at=message.available_at) == 1
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    [mail] = inbox.messages
    body = mail.decode()
    assert "To: new.analyst@vendor.test" in body and "invited you to OpenPRM" in body
    link = next(line for line in body.splitlines() if "/password-reset/" in line).strip()
    assert client_for(world.admin).get(link.split("testserver", 1)[-1], follow=True).status_code == 200
    assert deliver(world.workspace, at=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(inbox.messages) == 1  # delivered once


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_delivers_an_invitation(
    world: Any, client_for: Any, smtp: tuple[Inbox, Controller], tmp_path: Path
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database cannot be opened by a second process")
    from huey.contrib.djhuey import HUEY

    inbox, controller = smtp
    controller.start()
    queue = tmp_path / "queue.sqlite3"
    saved = dict(HUEY.storage_kwargs)
    HUEY.immediate = False
    HUEY.storage_kwargs = {**saved, "filename": str(queue)}
    HUEY.storage = HUEY.create_storage()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PRM_QUEUE_FILE": str(queue),
        "PRM_QUEUE_IMMEDIATE": "false",
        "PRM_EMAIL_HOST": "127.0.0.1",
        "PRM_EMAIL_PORT": str(controller.port),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "openprm.cli", "worker", "--workers", "1", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        response = client_for(world.admin).post(
            reverse("users"), {"email": "new.analyst@vendor.test", "role": "analyst"}
        )
        assert response.status_code == 302
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
            time.sleep(0.2)
        [mail] = inbox.messages
        assert "To: new.analyst@vendor.test" in mail.decode()
        [message] = messages()
        assert message.delivered_at is not None and message.attempts == 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        HUEY.storage_kwargs = saved
        HUEY.immediate = True


def test_the_backoff_doubles_up_to_a_cap() -> None:
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3)] == [
        BACKOFF_SECONDS,
        2 * BACKOFF_SECONDS,
        4 * BACKOFF_SECONDS,
    ]
    assert outbox.backoff_seconds(40) == outbox.BACKOFF_MAX_SECONDS
