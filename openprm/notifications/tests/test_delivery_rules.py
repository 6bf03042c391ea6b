"""Who hears about a partner (staff restricted to their own partners only about theirs), one-line titles,
one worker per delivery attempt (a lost lease, a stray outbox message), digests that never lose an item,
cut kinds and group keys, the mark-read redirect staying on the site, and another workspace's admin seeing
none of this workspace's endpoints, deliveries or notifications."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.core.models import Workspace
from openprm.core.outbox import BACKOFF_SECONDS, LEASE_SECONDS, _claim, _deliver_one, outbox_put
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.core.tasks import load_jobs, workspace_scope
from openprm.notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint
from openprm.notifications.services import (
    DIGEST_MAX_ITEMS,
    TOPIC,
    digest_send,
    endpoint_create,
    notify,
    preference_update,
)
from openprm.notifications.tests.conftest import Inbox, Receiver, deliver
from openprm.testing import actor_for, make_user

API = "/api/v1"


def _notify(world: Any, users: list[Any], **kwargs: Any) -> list[Notification]:
    fields = {"kind": "alert.firing", "title": "Win rate below 20%", "severity": "warning"}
    with transaction.atomic():
        return notify(workspace_id=world.workspace.pk, users=[u.pk for u in users], **(fields | kwargs))


def _endpoint(world: Any, url: str, **values: Any) -> WebhookEndpoint:
    with workspace_scope(world.workspace.pk):
        return endpoint_create(actor=world.system, values={"name": "Ops", "url": url, **values})[0]


def _delivery() -> Delivery:
    with unscoped():
        [delivery] = Delivery.objects.all()
        return delivery


@pytest.mark.django_db
def test_staff_restricted_to_their_partners_hear_only_about_theirs(world: Any) -> None:
    owner = make_user(world.workspace, "owner@vendor.test", Role.MANAGER, owned_only=True)
    other = make_user(world.workspace, "other@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        type(world.partner_a).objects.filter(pk=world.partner_a.pk).update(owner=owner)
    rows = _notify(world, [owner, other, world.admin], partner_id=world.partner_a.pk)
    assert sorted(r.user_id for r in rows) == sorted([owner.pk, world.admin.pk])
    rows = _notify(world, [owner, other, world.admin], partner_id=world.partner_b.pk)  # owned by nobody
    assert [r.user_id for r in rows] == [world.admin.pk]
    rows = _notify(world, [owner, other], kind="system")  # about no partner: every staff member
    assert sorted(r.user_id for r in rows) == sorted([owner.pk, other.pk])


@pytest.mark.django_db
def test_a_title_with_newlines_is_one_line_and_the_email_goes_out(world: Any, smtp: Inbox) -> None:
    rows = _notify(world, [world.admin], title="Win rate\nbelow  20%\r\n", group_title="a\nb")
    assert rows[0].title == "Win rate below 20%"
    deliver(world.workspace.pk)
    [mail] = smtp.mails
    assert mail.subject == "Win rate below 20%"
    assert _delivery().status == "delivered"


@pytest.mark.django_db
def test_kind_and_group_key_are_cut_alike_everywhere(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url)
    [row] = _notify(world, [world.admin], kind="k" * 100, group_key="g" * 300)
    with unscoped():
        deliveries = list(Delivery.objects.all())
    assert len(row.kind) == 60 and row.group_key == "g" * 200
    assert len(deliveries) == 2 and {d.group_key for d in deliveries} == {"g" * 200}
    assert {d.items[0]["kind"] for d in deliveries} == {"k" * 60}


@pytest.mark.django_db
def test_a_delivery_is_never_tried_by_two_workers(world: Any, receiver: Receiver) -> None:
    _endpoint(world, receiver.url)
    receiver.script = ["500", "500", "500"]
    _notify(world, [])
    load_jobs()  # the handlers, as the worker loads them
    with workspace_scope(world.workspace.pk):
        now = timezone.now()
        [stale] = _claim(now, 10)  # worker A's lease runs out before it gets to the message ...
        [current] = _claim(now + datetime.timedelta(seconds=LEASE_SECONDS + 1), 10)  # ... B claims it
        assert stale.pk == current.pk
        assert not _deliver_one(stale)  # A no longer holds the lease: its handler does not run
        assert _deliver_one(current)
    assert len(receiver.requests) == 1
    delivery = _delivery()
    assert delivery.attempts == 1 and delivery.status == "pending"  # the retry waits for its backoff
    # a stray message for the same delivery (a replay, a repeat) is not its current one: ignored
    with transaction.atomic():
        outbox_put(workspace_id=world.workspace.pk, topic=TOPIC, payload={"delivery_id": delivery.pk})
    deliver(world.workspace.pk)
    assert len(receiver.requests) == 1 and DeliveryAttempt.objects.count() == 1
    deliver(world.workspace.pk, after_seconds=BACKOFF_SECONDS + 1)  # the current one tries it
    assert len(receiver.requests) == 2 and _delivery().attempts == 2


@pytest.mark.django_db
def test_digests_never_lose_an_item(world: Any) -> None:
    preference_update(actor=actor_for(world.admin), severities=["warning"], email=True, mode="digest")
    for n in range(DIGEST_MAX_ITEMS + 5):
        _notify(world, [world.admin], title=f"N{n}")
    with workspace_scope(world.workspace.pk):
        first = timezone.now() + datetime.timedelta(seconds=1)
        assert digest_send(workspace_id=world.workspace.pk, now=first) == 1
        # committed late: its time is before the first digest, its row was not there yet
        [late] = _notify(world, [world.admin], title="Late")
        Notification.objects.filter(pk=late.pk).update(created_at=first - datetime.timedelta(seconds=30))
        assert digest_send(workspace_id=world.workspace.pk, now=first + datetime.timedelta(days=1)) == 1
        assert digest_send(workspace_id=world.workspace.pk, now=first + datetime.timedelta(days=2)) == 0
        digests = list(Delivery.objects.filter(digest=True).order_by("due_at"))
    titles = [[i["title"] for i in d.items] for d in digests]
    assert titles[0] == [f"N{n}" for n in range(DIGEST_MAX_ITEMS)]
    assert sorted(titles[1]) == sorted(
        [f"N{n}" for n in range(DIGEST_MAX_ITEMS, DIGEST_MAX_ITEMS + 5)] + ["Late"]
    )


@pytest.mark.django_db
def test_opening_a_notification_never_redirects_off_site(world: Any, client_for: Any) -> None:
    admin = client_for(world.admin)
    for link in ("//evil.example/x", "/\\evil.example/x"):
        [row] = _notify(world, [world.admin], link=link)
        answer = admin.post(reverse("notifications:read", args=[row.public_id]), {"open": "1"})
        assert answer.status_code == 302 and "evil" not in answer["Location"], link
    [row] = _notify(world, [world.admin], link="/partners/")
    answer = admin.post(reverse("notifications:read", args=[row.public_id]), {"open": "1"})
    assert answer["Location"] == "/partners/"


@pytest.mark.django_db
def test_another_workspaces_admin_sees_none_of_it(
    world: Any, receiver: Receiver, api_for: Any, client_for: Any
) -> None:
    endpoint = _endpoint(world, receiver.url)
    [row] = _notify(world, [world.admin])
    deliver(world.workspace.pk)
    other = Workspace.objects.create(name="Other", slug="other")
    stranger = make_user(other, "admin@other.test", Role.ADMIN)
    api = api_for(stranger)
    assert api.get(f"{API}/webhook-endpoints").json()["items"] == []
    assert api.get(f"{API}/webhook-endpoints/{endpoint.public_id}").status_code == 404
    assert api.get(f"{API}/notification-deliveries").json()["items"] == []
    assert api.get(f"{API}/notifications").json()["items"] == []
    assert api.post(f"{API}/notifications/{row.public_id}/read").status_code == 404
    page = client_for(stranger)
    assert page.get(reverse("notifications:endpoint_edit", args=[endpoint.public_id])).status_code == 404
    assert str(endpoint.public_id) not in page.get(reverse("notifications:endpoints")).content.decode()
    assert receiver.url not in page.get(reverse("notifications:deliveries")).content.decode()
    # the admin of this workspace does see them
    assert len(api_for(world.admin).get(f"{API}/notification-deliveries").json()["items"]) == 2
