"""Real receivers for the notifications tests: an SMTP server (aiosmtpd) and an HTTP server in a thread
that answers as each test scripts it (200, 500, or too slow)."""

from __future__ import annotations

import datetime
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from openprm.core.outbox import outbox_deliver
from openprm.core.tasks import workspace_scope


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()  # a folded encoded header starts with a space

    def part(self, content_type: str) -> str:
        found = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert found is not None and found.get_content_type() == content_type, content_type
        return str(found.get_content())  # type: ignore[attr-defined]


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on a free local port; Django sends to it."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    controller.start()
    yield inbox
    controller.stop(no_assert=True)


@dataclass
class Received:
    path: str
    headers: Message  # case-insensitive, as HTTP headers are
    body: bytes


@dataclass
class Receiver:
    """What the HTTP server got, and how it answers next: a queue of "200", "500", "302" (to /elsewhere),
    "slow" (answers after ``slow_seconds``) or "drip" (its answer a byte at a time, 0.2 s apart)."""

    url: str
    script: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    slow_seconds: float = 1.5


@pytest.fixture
def receiver(settings: Any, monkeypatch: Any) -> Iterator[Receiver]:
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):  # webhooks honour them
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    settings.PRM_WEBHOOK_TIMEOUT_SECONDS = 0.5
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received(self.path, self.headers, body))
            answer = state.script.pop(0) if state.script else "200"
            if answer == "drip":
                try:
                    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 40:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass  # the client gave up
                return
            if answer == "slow":
                time.sleep(state.slow_seconds)
                answer = "200"
            try:
                self.send_response(int(answer))
                if answer.startswith("3"):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client gave up waiting

        def do_GET(self) -> None:  # a followed redirect would arrive here
            state.requests.append(Received(self.path, self.headers, b""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def deliver(workspace_id: int, *, after_seconds: float = 0) -> int:
    """Run the outbox delivery as the worker would, ``after_seconds`` from now (group waits, backoffs)."""
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=after_seconds)
    with workspace_scope(workspace_id):
        return outbox_deliver(workspace_id=workspace_id, now=at)
