"""How a delivery leaves: an e-mail (HTML + plain text, over the configured SMTP server), a Slack-compatible
incoming webhook (``{"text": ..., "blocks": [...]}``) or a generic webhook signed with HMAC-SHA256.

**Generic webhook signature.** Each POST carries::

    X-OpenPRM-Delivery: <uuid>            the same on every retry of one delivery: drop repeats
    X-OpenPRM-Timestamp: <unix seconds>   when this attempt was signed
    X-OpenPRM-Signature: sha256=<hex>     HMAC-SHA256(secret, f"{timestamp}.{raw body}")

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the endpoint's secret,
compares it in constant time (``hmac.compare_digest``), rejects a timestamp more than 5 minutes from its
clock (a replayed request), and ignores a delivery id it has already processed (``verify_signature``
below is such a receiver's check).

URLs are http(s) only, and their host must not resolve to a private, loopback, link-local or otherwise
reserved address (nor an IPv6 address standing for one: mapped, NAT64, 6to4, Teredo) unless
``PRM_WEBHOOK_ALLOW_PRIVATE`` is on; checked when an endpoint is saved and again at every attempt, which
resolves the name once, checks every address and connects to a checked one (the Host header and TLS keep
the name), so a resolver answering differently the second time (DNS rebinding) reaches nothing. Redirects
are not followed. An attempt has a total deadline (``PRM_WEBHOOK_DEADLINE_SECONDS``) besides the socket
timeout. A 4xx answer other than 408 and 429 is permanent (not retried).

**Proxies.** ``HTTP_PROXY`` / ``HTTPS_PROXY`` (an ``http://`` proxy, credentials in its URL allowed) are
honoured unless ``NO_PROXY`` names the target (urllib's ``getproxies`` / ``proxy_bypass``). The checks are
the same: the target's own name is resolved once and every address checked; the proxy is then asked for
the checked address, not the name — ``CONNECT <address>:443`` for https (TLS inside the tunnel keeps the
name for SNI and the certificate), ``POST http://<address>:<port>/path`` with the name in the Host header
for http — so the proxy's own resolver cannot rebind the name either. The proxy itself is the operator's
and is not checked. So the machine must resolve webhook hosts itself, and a proxy filtering by name sees
an address.

Slack: the text taken from data (titles, bodies, partner and customer names) has ``&``, ``<`` and ``>``
escaped, so it can neither mention ``@channel`` nor disguise a link; the header is at most 150 characters.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from openprm.notifications import conf

REPLAY_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class Sent:
    """What answered an attempt (a webhook's HTTP status; None for e-mail)."""

    status_code: int | None = None


class DeliveryError(Exception):
    """An attempt failed; ``status_code`` is the receiver's answer when there was one; ``permanent``:
    trying again cannot help (nobody left to send to)."""

    def __init__(self, message: str, status_code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.permanent = permanent


# --- URLs -------------------------------------------------------------------------------------------------

# Reserved blocks that ``is_global`` lets through (Python 3.11) or that carry another address inside.
_REFUSED = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "fec0::/10", "64:ff9b:1::/48")]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, IPv4-compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _V4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address (the server's is public by definition)
    return None


def _public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and not _public(str(inner)):
            return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    if any(ip.version == net.version and ip in net for net in _REFUSED):
        return False
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect (``addresses``, resolved once) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


_URL_ERROR = "Enter an http:// or https:// URL."
_PRIVATE_ERROR = "This address is private, loopback or reserved (PRM_WEBHOOK_ALLOW_PRIVATE allows it)."


def _parse(url: str) -> tuple[urllib.parse.SplitResult, int]:
    try:
        parsed = urllib.parse.urlsplit(url.strip())
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:  # "http://[::1/x", "http://h:abc/x", a port above 65535
        raise ValidationError({"url": [_URL_ERROR]}) from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError({"url": [_URL_ERROR]})
    if parsed.username or parsed.password:
        raise ValidationError({"url": ["Leave credentials out of the URL (generic webhooks are signed)."]})
    return parsed, port


def webhook_target(url: str) -> Target:
    """Resolve the URL's host once and check every address it gave (unless ``PRM_WEBHOOK_ALLOW_PRIVATE``):
    the attempt connects to these addresses, never to a second answer of the resolver."""
    parsed, port = _parse(url)
    host = str(parsed.hostname)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError({"url": [f"The host {host} cannot be resolved."]}) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise ValidationError({"url": [f"The host {host} cannot be resolved."]})
    if not conf.webhook_allow_private() and not all(_public(a) for a in addresses):
        raise ValidationError({"url": [_PRIVATE_ERROR]})
    path = urllib.parse.urlunsplit(("", "", parsed.path or "/", parsed.query, ""))
    return Target(scheme=parsed.scheme, host=host, port=port, path=path, addresses=addresses)


def webhook_url_check(url: str, *, resolve: bool = True) -> str:
    """The URL if webhooks may be sent to it, else a ValidationError saying why (on ``url``)."""
    _parse(url)
    if resolve and not conf.webhook_allow_private():
        webhook_target(url)
    return url.strip()


def masked_url(url: str) -> str:
    """A Slack incoming-webhook URL's path is its secret: shown as ``https://hooks.slack.com/…``."""
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:
        return "…"
    return f"{parsed.scheme}://{parsed.netloc}/…" if parsed.netloc else "…"


# --- signing ----------------------------------------------------------------------------------------------


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    *, secret: str, timestamp: str, body: bytes, header: str | bytes, now: float | None = None
) -> bool:
    """A receiver's check: the signature matches and the timestamp is within 5 minutes of ``now``."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - moment) > REPLAY_WINDOW_SECONDS:
        return False
    given = header if isinstance(header, bytes) else header.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(signature(secret=secret, timestamp=moment, body=body).encode(), given)


# --- sending ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proxy:
    """The forward proxy an attempt goes through (``HTTP_PROXY`` / ``HTTPS_PROXY``, unless ``NO_PROXY``
    names the target): an ``http://`` proxy, with Basic credentials when its URL carries them."""

    host: str
    port: int
    authorization: str  # the Proxy-Authorization header's value, or ""


def webhook_proxy(target: Target) -> Proxy | None:
    """The proxy for ``target`` from the environment (urllib's ``getproxies`` and ``proxy_bypass``), or
    None to connect directly. A proxy URL that is not ``http://`` fails the attempt, to be retried once the
    setting is fixed (never a silent direct connection past a proxy the operator set)."""
    url = urllib.request.getproxies().get(target.scheme, "")
    if not url or urllib.request.proxy_bypass(target.host):
        return None
    try:
        parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
        port = parsed.port or 80
    except ValueError:
        raise DeliveryError(f"The {target.scheme} proxy setting is not a URL.") from None
    if parsed.scheme != "http" or not parsed.hostname:
        raise DeliveryError(f"The {target.scheme} proxy must be an http:// URL.")
    authorization = ""
    if parsed.username is not None:
        user = urllib.parse.unquote(parsed.username)
        secret = urllib.parse.unquote(parsed.password or "")
        authorization = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
    return Proxy(host=parsed.hostname, port=port, authorization=authorization)


def _authority(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _host_header(target: Target) -> str:
    """The Host header http.client writes for a direct request: the name (IDNA), its port unless the
    scheme's own."""
    try:
        host = target.host.encode("ascii").decode()
    except UnicodeEncodeError:
        host = target.host.encode("idna").decode()
    host = f"[{host}]" if ":" in host else host
    return host if target.port == (443 if target.scheme == "https" else 80) else f"{host}:{target.port}"


def _tunnel(sock: socket.socket, proxy: Proxy, address: str, port: int) -> None:
    """``CONNECT`` the checked address through the proxy; an OSError unless it answers 2xx."""
    lines = [f"CONNECT {_authority(address, port)} HTTP/1.1", f"Host: {_authority(address, port)}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)  # byte by byte: nothing of the tunnel's own bytes is read past the answer
        if not chunk or len(answer) > 16_384:
            raise OSError("the proxy closed the connection")
        answer += chunk
    status = answer.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(status) < 2 or not status[1].startswith(b"2"):
        raise OSError(f"the proxy answered {b' '.join(status[1:]).decode(errors='replace')} to CONNECT")


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to a checked address; the Host header keeps the name. Through a proxy: connects to the
    proxy and asks it for ``http://<checked address>:<port>/path`` (the Host header still names the
    host), so the proxy never resolves the name itself."""

    def __init__(
        self, host: str, port: int, *, address: str, timeout: float, proxy: Proxy | None = None
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.proxy = proxy

    def connect(self) -> None:
        where = (self.proxy.host, self.proxy.port) if self.proxy else (self.address, self.port)
        self.sock = socket.create_connection(where, self.timeout)

    def target(self, path: str) -> str:
        """The request target: the path, or through a proxy the absolute URL of the checked address."""
        return f"http://{_authority(self.address, self.port)}{path}" if self.proxy else path


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to a checked address; the Host header, SNI and the certificate check keep the name.
    Through a proxy: a ``CONNECT`` tunnel to the checked address, TLS with the name inside it."""

    def __init__(
        self, host: str, port: int, *, address: str, timeout: float, proxy: Proxy | None = None
    ) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address
        self.proxy = proxy

    def connect(self) -> None:
        if self.proxy is None:
            raw = socket.create_connection((self.address, self.port), self.timeout)
        else:
            raw = self.sock = socket.create_connection((self.proxy.host, self.proxy.port), self.timeout)
            _tunnel(raw, self.proxy, self.address, self.port)  # the deadline's watchdog may shut ``raw``
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)

    def target(self, path: str) -> str:
        return path


def _exchange(target: Target, body: bytes, headers: dict[str, str], deadline: float) -> int:
    """POST to the first address that accepts the connection (directly, or through the environment's
    proxy); the status of its answer. A watchdog shuts the socket at ``deadline`` (a receiver that
    answers a byte at a time never holds a worker)."""
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    proxy = webhook_proxy(target)
    timeout = conf.webhook_timeout_seconds()
    expired = threading.Event()
    last: OSError | None = None
    if proxy is not None and target.scheme == "http":  # an absolute target: http.client would name the IP
        headers = {"Host": _host_header(target), **headers}
        if proxy.authorization:
            headers["Proxy-Authorization"] = proxy.authorization
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn = kind(target.host, target.port, address=address, timeout=min(timeout, remaining), proxy=proxy)

        def stop(conn: http.client.HTTPConnection = conn) -> None:
            expired.set()
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(remaining, stop)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                conn.connect()
            except OSError as exc:
                last = exc
                continue  # the next checked address
            conn.request("POST", conn.target(target.path), body=body, headers=headers)
            response = conn.getresponse()
            return int(response.status)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise DeliveryError(f"Timed out: {exc}") from None
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        finally:
            watchdog.cancel()
            conn.close()
    if last is None or isinstance(last, TimeoutError):
        raise DeliveryError(f"Timed out (deadline {conf.webhook_deadline_seconds():g} s)")
    raise DeliveryError(f"{type(last).__name__}: {last}")


def _post(url: str, body: bytes, headers: dict[str, str]) -> Sent:
    """One attempt: resolve and check once, connect to a checked address, never follow a redirect (a 3xx
    is a failure). A 4xx other than 408 and 429 is permanent: the same request cannot succeed later."""
    deadline = time.monotonic() + conf.webhook_deadline_seconds()
    status = _exchange(webhook_target(url), body, headers, deadline)
    if 400 <= status < 500 and status not in (408, 429):
        raise DeliveryError(f"HTTP {status} (permanent: not retried)", status_code=status, permanent=True)
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}", status_code=status)
    return Sent(status_code=status)


def _absolute(link: str) -> str:
    return f"{conf.base_url()}{link}" if link.startswith("/") else link


def one_line(text: str) -> str:
    """Whitespace runs (newlines too) as one space: a subject or a title is one line."""
    return " ".join(str(text).split())


def summary(items: list[dict[str, Any]], *, digest: bool = False) -> str:
    """One line naming what a message carries ("3 notifications: Win rate below 20%")."""
    if digest:
        return f"Your OpenPRM digest: {len(items)} notification{'s' if len(items) != 1 else ''}"
    first = items[0]
    if len(items) == 1:
        return one_line(first["title"])
    return f"{len(items)} notifications: {one_line(first.get('group_title') or first['title'])}"


def _context(items: list[dict[str, Any]], *, digest: bool) -> dict[str, Any]:
    shown = [{**item, "url": _absolute(item.get("link", "")) if item.get("link") else ""} for item in items]
    return {"items": shown, "summary": summary(items, digest=digest), "base_url": conf.base_url()}


def send_email(*, to: str, items: list[dict[str, Any]], digest: bool = False) -> Sent:
    context = _context(items, digest=digest)
    message = EmailMultiAlternatives(
        subject=context["summary"],
        body=render_to_string("notifications/email/notification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(
        render_to_string("notifications/email/notification.html", context), "text/html"
    )
    message.send()
    return Sent()


def slack_escape(text: Any) -> str:
    """Slack's three control characters as entities: no ``<!channel>``, no ``<https://evil|Acme>``."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _escaped_clip(text: str, limit: int) -> str:
    """``text`` escaped, at most ``limit`` characters, never ending inside an entity."""
    escaped = slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for char in text:
        piece = slack_escape(char)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


SLACK_HEADER_MAX = 150  # Slack refuses a header block with a longer text


def slack_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    title = summary(items)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _escaped_clip(title, SLACK_HEADER_MAX)}}
    ]
    for item in items[:20]:  # Slack allows 50 blocks
        severity = slack_escape(str(item["severity"]).upper())
        name = slack_escape(one_line(item["title"]))
        line = f"*{severity}* {name}"
        if item.get("link"):
            url = slack_escape(_absolute(item["link"])).replace("|", "%7C")
            line = f"*{severity}* <{url}|{name}>"
        text = f"{line}\n{slack_escape(item.get('body', ''))}".strip()
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 2900)}})
    lines = [slack_escape(title)] + [
        f"• [{slack_escape(i['severity'])}] {slack_escape(one_line(i['title']))}" for i in items[:20]
    ]
    return {"text": "\n".join(lines), "blocks": blocks}


def send_slack(*, url: str, items: list[dict[str, Any]]) -> Sent:
    body = json.dumps(slack_body(items)).encode()
    return _post(url, body, {"Content-Type": "application/json", "User-Agent": "OpenPRM"})


def generic_body(*, delivery_id: str, items: list[dict[str, Any]]) -> bytes:
    notifications = [
        {key: item.get(key) for key in ("id", "kind", "severity", "title", "body", "partner", "created_at")}
        | {"link": _absolute(item["link"]) if item.get("link") else ""}
        for item in items
    ]
    payload = {"delivery_id": delivery_id, "summary": summary(items), "notifications": notifications}
    return json.dumps(payload, separators=(",", ":")).encode()


def send_generic(*, url: str, secret: str, delivery_id: str, items: list[dict[str, Any]]) -> Sent:
    body = generic_body(delivery_id=delivery_id, items=items)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OpenPRM",
        "X-OpenPRM-Delivery": delivery_id,
        "X-OpenPRM-Timestamp": str(timestamp),
        "X-OpenPRM-Signature": signature(secret=secret, timestamp=timestamp, body=body),
    }
    return _post(url, body, headers)
