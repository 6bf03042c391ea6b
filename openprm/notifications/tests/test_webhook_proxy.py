"""Webhooks through the forward proxy the environment names (HTTP_PROXY / HTTPS_PROXY / NO_PROXY), against a
real proxy in the test: the signed body arrives intact, the proxy is asked for the checked address (never
the name, so its own resolver cannot rebind it), https goes through a CONNECT tunnel with the name kept for
SNI and the certificate, NO_PROXY connects directly, a private target is refused before the proxy is asked,
and the proxy's credentials go to the proxy only."""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import socketserver
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from openprm.core.scoping import unscoped
from openprm.notifications.channels import Target, verify_signature, webhook_proxy
from openprm.notifications.models import Delivery, DeliveryAttempt
from openprm.notifications.tests.conftest import Receiver, deliver
from openprm.notifications.tests.test_webhook_security import (
    PUBLIC,
    Resolver,
    _endpoint,
    _notify,
    _port,
    _tls_files,
)

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@dataclass
class ForwardProxy:
    """A forward proxy on 127.0.0.1: ``CONNECT host:port`` tunnels, ``POST http://host:port/path``
    forwarded. It records each request line and its headers, reaches loopback addresses only (the tests
    have no outside network: anything else answers 502), and answers 407 without ``credentials``."""

    url: str = ""
    credentials: str = ""  # the Proxy-Authorization value it requires ("" = none)
    lines: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _split(authority: str) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    return host.strip("[]"), int(port)


@pytest.fixture
def proxy(monkeypatch: Any) -> Iterator[ForwardProxy]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    state = ForwardProxy()

    class Handler(socketserver.StreamRequestHandler):
        def answer(self, status: str) -> None:
            self.wfile.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())

        def handle(self) -> None:
            line = self.rfile.readline().decode().strip()
            headers: dict[str, str] = {}
            while (raw := self.rfile.readline().decode()).strip():
                name, _, value = raw.partition(":")
                headers[name.strip().lower()] = value.strip()
            state.lines.append(line)
            state.headers.append(headers)
            method, target, _version = line.split(" ")
            if state.credentials and headers.get("proxy-authorization") != state.credentials:
                return self.answer("407 Proxy Authentication Required")
            if method == "CONNECT":
                host, port = _split(target)
            else:
                parsed = urllib.parse.urlsplit(target)
                host, port = str(parsed.hostname), parsed.port or 80
            if host != "127.0.0.1":
                return self.answer("502 Bad Gateway")
            upstream = socket.create_connection((host, port), timeout=5)
            if method == "CONNECT":
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                back = threading.Thread(target=_relay, args=(upstream, self.connection), daemon=True)
                back.start()
                _relay(self.connection, upstream)
                back.join(5)
                return None
            body = self.rfile.read(int(headers.get("content-length", "0")))
            parsed = urllib.parse.urlsplit(target)
            kept = {k: v for k, v in headers.items() if k not in ("proxy-authorization", "connection")}
            request = [f"{method} {parsed.path}{'?' + parsed.query if parsed.query else ''} HTTP/1.1"]
            request += [f"{k}: {v}" for k, v in kept.items()] + ["Connection: close"]
            upstream.sendall(("\r\n".join(request) + "\r\n\r\n").encode() + body)
            _relay(upstream, self.connection)
            return None

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def _attempts() -> list[DeliveryAttempt]:
    with unscoped():
        return list(DeliveryAttempt.objects.order_by("delivery_id", "number"))


def _outcome() -> tuple[str, str]:
    with unscoped():
        [delivery] = Delivery.objects.all()
        return delivery.status, delivery.last_error


def test_the_proxy_comes_from_the_environment_unless_no_proxy_names_the_host(
    proxy: ForwardProxy, monkeypatch: Any
) -> None:
    def target(url: str) -> Target:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return Target(parsed.scheme, str(parsed.hostname), port, parsed.path, ("93.184.216.34",))

    assert webhook_proxy(target("https://hooks.slack.com/x")) is None  # nothing set: direct
    monkeypatch.setenv("https_proxy", "http://bot:s%3Acret@proxy.internal:3128")
    monkeypatch.setenv("HTTP_PROXY", "proxy.internal:8080")  # no scheme: http:// is meant
    monkeypatch.setenv("NO_PROXY", "localhost,.corp.example")
    found = webhook_proxy(target("https://hooks.slack.com/x"))
    assert found is not None and (found.host, found.port) == ("proxy.internal", 3128)
    assert found.authorization == "Basic " + base64.b64encode(b"bot:s:cret").decode()
    plain = webhook_proxy(target("http://hooks.example.com/x"))
    assert plain is not None and (plain.host, plain.port, plain.authorization) == ("proxy.internal", 8080, "")
    assert webhook_proxy(target("https://crm.corp.example/hook")) is None  # NO_PROXY: direct
    monkeypatch.setenv("https_proxy", "socks5://proxy.internal:1080")
    with pytest.raises(Exception, match="must be an http:// URL"):  # never silently direct
        webhook_proxy(target("https://hooks.slack.com/x"))


@pytest.mark.django_db
def test_an_http_webhook_goes_through_the_proxy_to_the_checked_address(
    world: Any, receiver: Receiver, proxy: ForwardProxy, monkeypatch: Any
) -> None:
    port = _port(receiver)
    endpoint = _endpoint(world, f"http://hooks.proxied.test:{port}/hook?x=1")
    resolver = Resolver(monkeypatch, "hooks.proxied.test", ["127.0.0.1", "10.9.9.9"])
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    _notify(world)
    deliver(world.workspace.pk)
    # the proxy was asked for the address checked, the name kept in the Host header
    assert proxy.lines == [f"POST http://127.0.0.1:{port}/hook?x=1 HTTP/1.1"]
    assert proxy.headers[0]["host"] == f"hooks.proxied.test:{port}"
    [request] = receiver.requests
    assert request.path == "/hook?x=1" and request.headers["Host"] == f"hooks.proxied.test:{port}"
    assert verify_signature(
        secret=endpoint.secret,
        timestamp=request.headers["X-OpenPRM-Timestamp"],
        body=request.body,
        header=request.headers["X-OpenPRM-Signature"],
    )
    assert resolver.calls == 1 and _outcome() == ("delivered", "")


@pytest.mark.django_db
def test_no_proxy_naming_the_host_connects_directly(
    world: Any, receiver: Receiver, proxy: ForwardProxy, monkeypatch: Any
) -> None:
    Resolver(monkeypatch, "hooks.inside.test", ["127.0.0.1"])
    _endpoint(world, f"http://hooks.inside.test:{_port(receiver)}/hook")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", ".inside.test")
    _notify(world)
    deliver(world.workspace.pk)
    assert proxy.lines == [] and len(receiver.requests) == 1
    assert _outcome() == ("delivered", "")


@pytest.mark.django_db
def test_through_the_proxy_a_rebound_or_private_name_reaches_nothing(
    world: Any, receiver: Receiver, proxy: ForwardProxy, settings: Any, monkeypatch: Any
) -> None:
    port = _port(receiver)
    _endpoint(world, f"http://hooks.rebind.test:{port}/hook")  # saved while private is allowed
    _endpoint(world, f"http://hooks.private.test:{port}/hook")
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = False
    rebinding = Resolver(monkeypatch, "hooks.rebind.test", [PUBLIC, "127.0.0.1"])
    Resolver(monkeypatch, "hooks.private.test", ["10.0.0.5"])
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    _notify(world)
    deliver(world.workspace.pk)
    # the rebinding name: checked once (public), and the proxy asked for that address, not the name
    assert proxy.lines == [f"POST http://{PUBLIC}:{port}/hook HTTP/1.1"]
    assert rebinding.calls == 1 and receiver.requests == []
    errors = sorted(a.error for a in _attempts())
    assert errors[0] == "HTTP 502" and "private" in errors[1]  # the private one never reached the proxy


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_goes_through_a_connect_tunnel_with_the_name_checked_inside(
    world: Any, proxy: ForwardProxy, settings: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    settings.PRM_WEBHOOK_TIMEOUT_SECONDS = 2
    ca, cert, key = _tls_files(tmp_path, "hooks.tls.test")
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    got: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append({k.lower(): v for k, v in self.headers.items()})
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
    proxy.credentials = "Basic " + base64.b64encode(b"bot:s3cret").decode()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://bot:s3cret@"))
    try:
        Resolver(monkeypatch, "hooks.tls.test", ["127.0.0.1"])
        _endpoint(world, f"https://hooks.tls.test:{port}/hook")
        _notify(world)
        deliver(world.workspace.pk)
    finally:
        server.shutdown()
        server.server_close()
    assert proxy.lines == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]  # the checked address, not the name
    assert proxy.headers[0]["proxy-authorization"] == proxy.credentials
    [headers] = got
    assert headers["host"] == f"hooks.tls.test:{port}"  # SNI, the certificate and Host kept the name
    assert "proxy-authorization" not in headers  # the proxy's credentials went to the proxy only
    assert _outcome() == ("delivered", "")


@pytest.mark.django_db
def test_a_proxy_refusing_the_credentials_fails_the_attempt_without_showing_them(
    world: Any, receiver: Receiver, proxy: ForwardProxy, monkeypatch: Any
) -> None:
    _endpoint(world, receiver.url.replace("http://", "https://"))
    proxy.credentials = "Basic " + base64.b64encode(b"bot:right").decode()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://bot:wrong-pass@"))
    _notify(world)
    deliver(world.workspace.pk)
    status, error = _outcome()
    assert status == "pending" and "407" in error and "wrong-pass" not in error
    assert receiver.requests == []
