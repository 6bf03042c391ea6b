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
reserved address unless ``PRM_WEBHOOK_ALLOW_PRIVATE`` is on; checked when an endpoint is saved and again
before every attempt (the address a name resolves to can change). Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
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


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def webhook_url_check(url: str, *, resolve: bool = True) -> str:
    """The URL if webhooks may be sent to it, else a ValidationError saying why."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError({"url": ["Enter an http:// or https:// URL."]})
    if parsed.username or parsed.password:
        raise ValidationError({"url": ["Leave credentials out of the URL (generic webhooks are signed)."]})
    if conf.webhook_allow_private() or not resolve:
        return url.strip()
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = {
            info[4][0] for info in socket.getaddrinfo(parsed.hostname, port, type=socket.SOCK_STREAM)
        }
    except (OSError, ValueError) as exc:
        raise ValidationError({"url": [f"The host {parsed.hostname} cannot be resolved."]}) from exc
    if not all(_public(str(a)) for a in addresses):
        raise ValidationError(
            {"url": ["This address is private, loopback or reserved (PRM_WEBHOOK_ALLOW_PRIVATE allows it)."]}
        )
    return url.strip()


# --- signing ----------------------------------------------------------------------------------------------


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    *, secret: str, timestamp: str, body: bytes, header: str, now: float | None = None
) -> bool:
    """A receiver's check: the signature matches and the timestamp is within 5 minutes of ``now``."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - moment) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(signature(secret=secret, timestamp=moment, body=body), header)


# --- sending ----------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the answer (a failure), never followed to another host


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> Sent:
    webhook_url_check(url)
    # http(s) only: webhook_url_check refused every other scheme just above
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with _opener.open(request, timeout=conf.webhook_timeout_seconds()) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}", status_code=exc.code) from None
    except TimeoutError as exc:
        raise DeliveryError(f"Timed out: {exc}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}", status_code=status)
    return Sent(status_code=status)


def _absolute(link: str) -> str:
    return f"{conf.base_url()}{link}" if link.startswith("/") else link


def summary(items: list[dict[str, Any]], *, digest: bool = False) -> str:
    """One line naming what a message carries ("3 notifications: Win rate below 20%")."""
    if digest:
        return f"Your OpenPRM digest: {len(items)} notification{'s' if len(items) != 1 else ''}"
    first = items[0]
    if len(items) == 1:
        return str(first["title"])
    return f"{len(items)} notifications: {first.get('group_title') or first['title']}"


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


def slack_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary(items)}}
    ]
    for item in items[:20]:  # Slack allows 50 blocks
        line = f"*{item['severity'].upper()}* {item['title']}"
        if item.get("link"):
            line = f"*{item['severity'].upper()}* <{_absolute(item['link'])}|{item['title']}>"
        text = f"{line}\n{item.get('body', '')}".strip()
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
    lines = [summary(items)] + [f"• [{i['severity']}] {i['title']}" for i in items[:20]]
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
