"""Webhook attempts against hostile answers: a resolver that rebinds the name to loopback after the check,
IPv6 addresses standing for private IPv4 ones, redirects, permanent 4xx answers, a receiver trickling its
answer, malformed URLs (a field error, never a 500), Slack text that tries to mention @channel or disguise a
link, and a Slack URL's secret path kept out of the log and the audit trail."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.outbox import BACKOFF_SECONDS
from openprm.core.scoping import unscoped
from openprm.core.tasks import workspace_scope
from openprm.notifications.channels import verify_signature, webhook_url_check
from openprm.notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint
from openprm.notifications.services import endpoint_create, endpoint_update, notify
from openprm.notifications.tests.conftest import Receiver, deliver

API = "/api/v1"
PUBLIC = "93.184.216.34"


def _endpoint(world: Any, url: str, **values: Any) -> WebhookEndpoint:
    with workspace_scope(world.workspace.pk):
        return endpoint_create(actor=world.system, values={"name": "Ops", "url": url, **values})[0]


def _notify(world: Any, **kwargs: Any) -> None:
    fields = {"kind": "alert.firing", "title": "Win rate below 20%", "severity": "warning"}
    with transaction.atomic():
        notify(workspace_id=world.workspace.pk, users=[], **(fields | kwargs))


def _attempts() -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.order_by("delivery_id", "number"))


def _delivery() -> Delivery:
    with unscoped():
        [delivery] = Delivery.objects.all()
        return delivery


def _port(receiver: Receiver) -> int:
    return int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])


class Resolver:
    """The OS resolver, except for ``name``: each look-up of it gets the next of ``answers`` (the last
    one repeats) — a DNS server rebinding the name between two look-ups."""

    def __init__(self, monkeypatch: Any, name: str, answers: list[str]) -> None:
        self.name, self.answers, self.calls = name, answers, 0
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        address = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]


@pytest.mark.django_db
def test_a_name_rebound_to_loopback_after_the_check_reaches_nothing(
    world: Any, receiver: Receiver, settings: Any, monkeypatch: Any
) -> None:
    _endpoint(world, f"http://hooks.rebind.test:{_port(receiver)}/hook")  # saved while private is allowed
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = False
    resolver = Resolver(monkeypatch, "hooks.rebind.test", [PUBLIC, "127.0.0.1"])
    _notify(world)
    deliver(world.workspace.pk)
    time.sleep(0.2)
    assert receiver.requests == []  # the loopback receiver got nothing
    assert resolver.calls == 1  # resolved once: checked and connected to that answer
    [attempt] = _attempts()
    assert not attempt.ok


@pytest.mark.django_db
def test_the_attempt_connects_to_the_checked_address_and_keeps_the_name(
    world: Any, receiver: Receiver, monkeypatch: Any
) -> None:
    _endpoint(world, f"http://hooks.pinned.test:{_port(receiver)}/hook?x=1")
    resolver = Resolver(monkeypatch, "hooks.pinned.test", ["127.0.0.1", "10.9.9.9"])
    _notify(world)
    deliver(world.workspace.pk)
    [request] = receiver.requests
    assert request.path == "/hook?x=1"
    assert request.headers["Host"] == f"hooks.pinned.test:{_port(receiver)}"
    assert resolver.calls == 1 and _delivery().status == "delivered"


def test_ipv6_addresses_standing_for_private_ipv4_ones_are_refused(settings: Any) -> None:
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "http://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
        "http://[::ffff:a9fe:a9fe]/hook",  # IPv4-mapped 169.254.169.254
        "http://[fec0::1]/hook",  # site-local
        "http://192.0.0.9/hook",  # IETF protocol assignments
        "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
    ):
        with pytest.raises(ValidationError) as refused:
            webhook_url_check(url)
        assert "private" in str(refused.value), url
    assert webhook_url_check("http://[64:ff9b::5db8:d822]/hook")  # NAT64 of a public address


@pytest.mark.django_db
def test_a_redirect_is_a_failed_attempt_never_followed(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url)
    receiver.script = ["302"]
    _notify(world)
    deliver(world.workspace.pk)
    time.sleep(0.2)
    assert [r.path for r in receiver.requests] == ["/hook"]  # /elsewhere never asked for
    [attempt] = _attempts()
    assert (attempt.ok, attempt.status_code) == (False, 302)
    assert _delivery().status == "pending"  # retried later


@pytest.mark.django_db
def test_a_4xx_is_permanent_but_408_and_429_are_retried(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url)
    receiver.script = ["429", "404"]
    _notify(world)
    deliver(world.workspace.pk)
    assert _delivery().status == "pending"
    deliver(world.workspace.pk, after_seconds=BACKOFF_SECONDS + 1)
    delivery = _delivery()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert [(a.status_code, a.error) for a in _attempts()] == [
        (429, "HTTP 429"),
        (404, "HTTP 404 (permanent: not retried)"),
    ]
    deliver(world.workspace.pk, after_seconds=24 * 3600)
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_an_attempt_has_a_total_deadline(world: Any, receiver: Receiver, settings: Any) -> None:
    settings.PRM_WEBHOOK_DEADLINE_SECONDS = 1.0  # each byte comes within the 0.5 s socket timeout
    _endpoint(world, receiver.url)
    receiver.script = ["drip"]
    _notify(world)
    started = time.monotonic()
    deliver(world.workspace.pk)
    assert time.monotonic() - started < 2.5  # the trickle lasts 11 s
    [attempt] = _attempts()
    assert not attempt.ok and "timed out" in attempt.error.lower() and attempt.duration_ms < 2000


@pytest.mark.django_db
def test_malformed_urls_are_field_errors(world: Any, api_for: Any, client_for: Any) -> None:
    bad = ("http://[::1/hook", "http://hooks.example.com:abc/x", "http://hooks.example.com:99999/x")
    for url in bad:
        with pytest.raises(ValidationError) as refused:
            webhook_url_check(url)
        assert "url" in refused.value.message_dict
    api, page = api_for(world.admin), client_for(world.admin)
    for url in bad:
        answer = api.post(
            f"{API}/webhook-endpoints", {"name": "X", "url": url}, content_type="application/json"
        )
        assert answer.status_code == 422, url
        assert [e["field"] for e in answer.json()["errors"]] == ["url"]
        form = page.post(reverse("notifications:endpoints"), {"name": "X", "url": url, "kind": "generic"})
        assert form.status_code == 200 and "Enter an http:// or https:// URL." in form.content.decode()
    with unscoped():
        assert not WebhookEndpoint.objects.filter(workspace=world.workspace).exists()


@pytest.mark.django_db
def test_slack_text_is_escaped_and_the_header_short(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url, kind="slack")
    title = "<!channel> Deal for <https://evil.example|Acme> & co\n" + "x" * 300
    _notify(world, title=title, body="Ping <@U123> <!here>", link="/deals/1/")
    deliver(world.workspace.pk)
    [request] = receiver.requests
    raw = request.body.decode()
    for control in ("<!channel>", "<https://evil", "<@U123>", "<!here>"):
        assert control not in raw
    body = json.loads(raw)
    header = body["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.startswith("&lt;!channel&gt; Deal for &lt;https://evil.example|")
    assert "\n" not in header and "&amp; co x" in header
    section = body["blocks"][1]["text"]["text"]
    assert section.startswith("*WARNING* <http://127.0.0.1:8000/deals/1/|&lt;!channel&gt; Deal")
    assert "Ping &lt;@U123&gt; &lt;!here&gt;" in section
    assert body["text"].startswith("&lt;!channel&gt;")


@pytest.mark.django_db
def test_a_slack_urls_secret_path_stays_out_of_the_log_and_audit(
    world: Any, receiver: Receiver, api_for: Any
) -> None:
    url = receiver.url.replace("/hook", "/services/T0/B0/s3cr3tPath")
    endpoint = _endpoint(world, url, kind="slack")
    _notify(world)
    deliver(world.workspace.pk)
    assert receiver.requests[0].path == "/services/T0/B0/s3cr3tPath"  # sent to the real URL
    assert "s3cr3tPath" not in _delivery().target
    log = api_for(world.admin).get(f"{API}/notification-deliveries").content.decode()
    assert "s3cr3tPath" not in log and "127.0.0.1" in log
    with workspace_scope(world.workspace.pk):
        endpoint_update(actor=world.system, endpoint=endpoint, values={"url": url + "2"})
    with unscoped():
        audit = list(AuditEntry.objects.filter(workspace=world.workspace).values())
    assert audit and "s3cr3tPath" not in repr(audit)


def test_verify_signature_takes_any_header_without_raising() -> None:
    now = 1_700_000_000
    good = "sha256=" + "0" * 64
    assert not verify_signature(secret="s", timestamp=str(now), body=b"{}", header="sha256=é", now=now)
    assert not verify_signature(secret="s", timestamp=str(now), body=b"{}", header=good.encode(), now=now)


def _tls_files(folder: Any, name: str) -> tuple[str, str, str]:
    """A throwaway CA and a server certificate for ``name`` signed by it (the openssl command)."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=OpenPRM test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", f"/CN={name}")  # fmt: skip
    (folder / "ext").write_text(f"subjectAltName=DNS:{name}\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-out", "srv.pem",
        "-days", "1", "-extfile", "ext")  # fmt: skip
    return str(folder / "ca.pem"), str(folder / "srv.pem"), str(folder / "srv.key")


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_to_the_checked_address_verifies_the_name(
    world: Any, settings: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    settings.PRM_WEBHOOK_TIMEOUT_SECONDS = 2
    ca, cert, key = _tls_files(tmp_path, "hooks.tls.test")
    monkeypatch.setenv("SSL_CERT_FILE", ca)  # this CA is the only one trusted
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hosts.append(str(self.headers["Host"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        for name in ("hooks.tls.test", "other.tls.test"):
            Resolver(monkeypatch, name, ["127.0.0.1"])
            _endpoint(world, f"https://{name}:{port}/hook")
        _notify(world)
        deliver(world.workspace.pk)
    finally:
        server.shutdown()
        server.server_close()
    assert hosts == [f"hooks.tls.test:{port}"]  # SNI and Host carried the name, not 127.0.0.1
    with unscoped():
        outcome = {d.target: (d.status, d.last_error) for d in Delivery.objects.all()}
    assert outcome[f"https://hooks.tls.test:{port}/hook"] == ("delivered", "")
    status, error = outcome[f"https://other.tls.test:{port}/hook"]
    assert status == "pending" and "certificate" in error.lower()  # the name checked against the cert
