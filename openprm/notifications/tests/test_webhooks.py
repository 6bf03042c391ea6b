"""Webhooks to a real local HTTP server: generic posts signed with HMAC-SHA256 (the receiver verifies them
with the secret shown once), Slack-compatible bodies, retries after a 500 and after a timeout with every
attempt logged, never delivered twice after a success, and URL rules (http(s) only, no private address
unless PRM_WEBHOOK_ALLOW_PRIVATE)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from openprm.core.models import OutboxMessage
from openprm.core.outbox import BACKOFF_SECONDS, outbox_put
from openprm.core.scoping import unscoped
from openprm.core.tasks import workspace_scope
from openprm.notifications.channels import REPLAY_WINDOW_SECONDS, verify_signature, webhook_url_check
from openprm.notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint
from openprm.notifications.services import TOPIC, endpoint_create, notify
from openprm.notifications.tests.conftest import Receiver, deliver


def _endpoint(world: Any, url: str, **values: Any) -> tuple[WebhookEndpoint, str]:
    with workspace_scope(world.workspace.pk):
        return endpoint_create(actor=world.system, values={"name": "Ops", "url": url, **values})


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


@pytest.mark.django_db
def test_a_generic_webhook_is_signed_and_the_receiver_can_verify_it(world: Any, receiver: Receiver) -> None:
    endpoint, secret = _endpoint(world, receiver.url)
    _notify(world, body="Acme: 12%", link="/partners/acme/", partner_id=world.partner_a.pk)
    assert deliver(world.workspace.pk) == 1
    [request] = receiver.requests
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-OpenPRM-Signature"].startswith("sha256=")
    assert verify_signature(
        secret=secret,
        timestamp=headers["X-OpenPRM-Timestamp"],
        body=request.body,
        header=headers["X-OpenPRM-Signature"],
    )
    # a wrong secret, a changed body, an old timestamp: rejected
    ts, sig = headers["X-OpenPRM-Timestamp"], headers["X-OpenPRM-Signature"]
    assert not verify_signature(secret="whsec_other", timestamp=ts, body=request.body, header=sig)
    assert not verify_signature(secret=secret, timestamp=ts, body=request.body + b" ", header=sig)
    late = int(ts) + REPLAY_WINDOW_SECONDS + 1
    assert not verify_signature(secret=secret, timestamp=ts, body=request.body, header=sig, now=late)
    body = json.loads(request.body)
    assert body["delivery_id"] == headers["X-OpenPRM-Delivery"] == str(_delivery().public_id)
    [item] = body["notifications"]
    assert item["title"] == "Win rate below 20%" and item["severity"] == "warning"
    assert item["partner"] == "Acme Resellers" and item["link"].endswith("/partners/acme/")
    assert endpoint.secret == secret and secret.startswith("whsec_")


@pytest.mark.django_db
def test_a_slack_endpoint_gets_text_and_blocks(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url, kind="slack")
    _notify(world, title="Approval SLA breached: Initech", severity="critical")
    deliver(world.workspace.pk)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["text"].startswith("Approval SLA breached: Initech")
    assert body["blocks"][0]["text"]["text"] == "Approval SLA breached: Initech"
    assert "*CRITICAL*" in body["blocks"][1]["text"]["text"]
    assert "X-OpenPRM-Signature" not in request.headers


@pytest.mark.django_db
def test_retried_after_a_500_and_a_timeout_then_never_again(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url)
    receiver.script = ["500", "slow"]
    _notify(world)
    assert deliver(world.workspace.pk) == 1  # the outbox message is done; the delivery queued its retry
    assert [(a.number, a.ok, a.status_code) for a in _attempts()] == [(1, False, 500)]
    assert _delivery().status == "pending"
    assert deliver(world.workspace.pk) == 0  # the retry waits for its backoff
    started = time.monotonic()
    deliver(world.workspace.pk, after_seconds=BACKOFF_SECONDS + 1)
    assert time.monotonic() - started < 1.4  # gave up after the 0.5 s timeout, not the receiver's 1.5 s
    second = _attempts()[1]
    assert (second.number, second.ok, second.status_code) == (2, False, None)
    assert "timed out" in second.error.lower() and second.duration_ms >= 400
    deliver(world.workspace.pk, after_seconds=3 * BACKOFF_SECONDS + 1)
    assert [(a.number, a.ok, a.status_code) for a in _attempts()] == [
        (1, False, 500),
        (2, False, None),
        (3, True, 200),
    ]
    delivery = _delivery()
    assert delivery.status == "delivered" and delivery.attempts == 3 and delivery.delivered_at is not None
    assert len({r.headers["X-OpenPRM-Delivery"] for r in receiver.requests}) == 1  # one id: dedupe by it
    time.sleep(0.2)  # the receiver saw the timed-out request too
    seen = len(receiver.requests)
    # a stray second outbox message for the same delivery (a lost lease, a replay) sends nothing
    with transaction.atomic():
        outbox_put(workspace_id=world.workspace.pk, topic=TOPIC, payload={"delivery_id": delivery.pk})
    deliver(world.workspace.pk, after_seconds=24 * 3600)
    assert len(receiver.requests) == seen and len(_attempts()) == 3


@pytest.mark.django_db
def test_a_delivery_gives_up_after_the_last_attempt(world: Any, receiver: Receiver, settings: Any) -> None:
    settings.PRM_NOTIFY_MAX_ATTEMPTS = 2
    _endpoint(world, receiver.url)
    receiver.script = ["500", "503", "200"]
    _notify(world)
    deliver(world.workspace.pk)
    deliver(world.workspace.pk, after_seconds=BACKOFF_SECONDS + 1)
    delivery = _delivery()
    assert delivery.status == "failed" and delivery.last_error == "HTTP 503"
    with unscoped():
        assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_endpoints_pick_severities_and_kinds_and_group(world: Any, receiver: Receiver, settings: Any) -> None:
    settings.PRM_NOTIFY_GROUP_WAIT_SECONDS = 60
    _endpoint(world, receiver.url, severities=["critical"], kinds=["alert"])
    _notify(world, severity="warning")  # not critical
    _notify(world, severity="critical", kind="deal.approved")  # not an alert
    for n in range(3):
        _notify(world, severity="critical", title=f"Partner {n} inactive", group_key="rule:9")
    deliver(world.workspace.pk)
    assert receiver.requests == []
    deliver(world.workspace.pk, after_seconds=61)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert [n["title"] for n in body["notifications"]] == [f"Partner {n} inactive" for n in range(3)]
    assert body["summary"] == "3 notifications: Partner 0 inactive"


@pytest.mark.django_db
def test_a_disabled_endpoint_gets_nothing(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url, enabled=False)
    _notify(world)
    deliver(world.workspace.pk)
    assert receiver.requests == []


def test_urls_must_be_http_and_public(settings: Any) -> None:
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "https://user:pw@93.184.216.34/hook",
    ):
        with pytest.raises(ValidationError):
            webhook_url_check(url)
    assert webhook_url_check("https://93.184.216.34/hook") == "https://93.184.216.34/hook"
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = True
    assert webhook_url_check("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"
    with pytest.raises(ValidationError):
        webhook_url_check("ftp://127.0.0.1/x")  # the scheme rule holds anyway


@pytest.mark.django_db
def test_a_url_that_became_private_is_refused_at_delivery(
    world: Any, receiver: Receiver, settings: Any
) -> None:
    _endpoint(world, receiver.url)
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = False
    _notify(world)
    deliver(world.workspace.pk)
    assert receiver.requests == []
    [attempt] = _attempts()
    assert not attempt.ok and "private" in attempt.error
