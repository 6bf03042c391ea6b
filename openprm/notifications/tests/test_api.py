"""The notifications API: everyone's own notifications (list, unread count, mark read, mark all read) and
preferences — never another user's, never another partner's; webhook endpoints and the delivery log for
admins only, the secret shown once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from openprm.accounts.models import Notification
from openprm.notifications.services import notify
from openprm.notifications.tests.conftest import Receiver, deliver

API = "/api/v1"


def _tell(world: Any, user: Any, title: str, partner: Any = None) -> None:
    with transaction.atomic():
        notify(
            workspace_id=world.workspace.pk,
            kind="test",
            title=title,
            users=[user.pk],
            partner_id=partner.pk if partner else None,
        )


@pytest.fixture
def told(world: Any) -> Any:
    _tell(world, world.admin, "For the admin")
    _tell(world, world.manager, "For the manager")
    _tell(world, world.a_admin, "For Acme's admin", world.partner_a)
    _tell(world, world.a_admin, "Also for Acme's admin", world.partner_a)
    _tell(world, world.b_admin, "For Globex's admin", world.partner_b)
    return world


def _titles(client: Any, query: str = "") -> list[str]:
    answer = client.get(f"{API}/notifications{query}")
    assert answer.status_code == 200
    return [n["title"] for n in answer.json()["items"]]


def _id_of(title: str) -> str:
    return str(Notification.objects.get(title=title).public_id)


@pytest.mark.django_db
def test_each_user_sees_only_their_own_notifications(told: Any, client_for: Any) -> None:
    assert _titles(client_for(told.admin)) == ["For the admin"]
    assert _titles(client_for(told.manager)) == ["For the manager"]
    assert _titles(client_for(told.a_admin)) == ["Also for Acme's admin", "For Acme's admin"]
    assert _titles(client_for(told.a_rep)) == []
    assert _titles(client_for(told.b_admin)) == ["For Globex's admin"]


@pytest.mark.django_db
def test_marking_read_and_all_read(told: Any, client_for: Any) -> None:
    acme = client_for(told.a_admin)
    assert acme.get(f"{API}/notifications/unread-count").json() == {"unread": 2}
    answer = acme.post(f"{API}/notifications/{_id_of('For Acme' + chr(39) + 's admin')}/read")
    assert answer.status_code == 200 and answer.json()["read_at"] is not None
    assert _titles(acme, "?unread=true") == ["Also for Acme's admin"]
    assert acme.post(f"{API}/notifications/read-all").json() == {"marked": 1}
    assert acme.get(f"{API}/notifications/unread-count").json() == {"unread": 0}
    assert _titles(client_for(told.b_admin), "?unread=true") == ["For Globex's admin"]  # untouched


@pytest.mark.django_db
def test_another_users_notification_answers_404(told: Any, client_for: Any) -> None:
    globex, manager = client_for(told.b_admin), client_for(told.manager)
    for other in ("For Acme's admin", "For the admin"):
        answer = globex.post(f"{API}/notifications/{_id_of(other)}/read")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert manager.post(f"{API}/notifications/{_id_of('For the admin')}/read").status_code == 404
    assert Notification.objects.filter(read_at__isnull=False).count() == 0
    globex.post(f"{API}/notifications/read-all")
    assert Notification.objects.filter(read_at__isnull=False).count() == 1  # only Globex's own


@pytest.mark.django_db
def test_preferences_round_trip_and_validation(world: Any, client_for: Any) -> None:
    rep = client_for(world.a_rep)
    assert rep.get(f"{API}/notifications/preferences").json() == {
        "severities": ["info", "warning", "critical"],
        "email": True,
        "mode": "immediate",
    }
    body = {"severities": ["critical", "warning"], "email": True, "mode": "digest"}
    answer = rep.put(f"{API}/notifications/preferences", body, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json() == {"severities": ["warning", "critical"], "email": True, "mode": "digest"}
    assert rep.get(f"{API}/notifications/preferences").json()["mode"] == "digest"
    assert client_for(world.b_admin).get(f"{API}/notifications/preferences").json()["mode"] == "immediate"
    for bad in ({"severities": [], "email": True}, {"severities": ["loud"], "email": True}, {"email": True}):
        answer = rep.put(f"{API}/notifications/preferences", bad, content_type="application/json")
        assert answer.status_code == 422, bad


@pytest.mark.django_db
def test_webhook_endpoints_are_for_admins_and_the_secret_is_shown_once(
    world: Any, client_for: Any, receiver: Receiver
) -> None:
    admin = client_for(world.admin)
    body = {"name": "Ops", "url": receiver.url, "kind": "generic", "severities": ["critical"]}
    answer = admin.post(f"{API}/webhook-endpoints", body, content_type="application/json")
    assert answer.status_code == 201
    created = answer.json()
    assert created["secret"].startswith("whsec_") and created["severities"] == ["critical"]
    endpoint_id = created["id"]
    listed = admin.get(f"{API}/webhook-endpoints").json()["items"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    assert "secret" not in admin.get(f"{API}/webhook-endpoints/{endpoint_id}").json()
    patched = admin.patch(
        f"{API}/webhook-endpoints/{endpoint_id}", {"enabled": False}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    rotated = admin.post(f"{API}/webhook-endpoints/{endpoint_id}/rotate-secret").json()["secret"]
    assert rotated.startswith("whsec_") and rotated != created["secret"]
    for user in (world.manager, world.analyst):
        other = client_for(user)
        assert other.get(f"{API}/webhook-endpoints").status_code == 403
        assert other.get(f"{API}/notification-deliveries").status_code == 403
        assert (
            other.post(f"{API}/webhook-endpoints", body, content_type="application/json").status_code == 403
        )
    for user in (world.a_admin, world.b_admin):
        assert client_for(user).get(f"{API}/webhook-endpoints").status_code in (403, 404)
        assert client_for(user).get(f"{API}/webhook-endpoints/{endpoint_id}").status_code in (403, 404)
    assert admin.delete(f"{API}/webhook-endpoints/{endpoint_id}").status_code == 204
    assert admin.get(f"{API}/webhook-endpoints/{endpoint_id}").status_code == 404


@pytest.mark.django_db
def test_webhook_urls_are_validated(world: Any, client_for: Any, settings: Any) -> None:
    settings.PRM_WEBHOOK_ALLOW_PRIVATE = False
    admin = client_for(world.admin)
    for url in ("ftp://example.com/x", "http://127.0.0.1:9/hook", "http://10.0.0.5/hook"):
        body = {"name": "Bad", "url": url}
        answer = admin.post(f"{API}/webhook-endpoints", body, content_type="application/json")
        assert answer.status_code == 422 and answer.json()["field"] == "url", url


@pytest.mark.django_db
def test_the_delivery_log_lists_every_attempt(
    world: Any, client_for: Any, receiver: Receiver, django_assert_max_num_queries: Any
) -> None:
    admin = client_for(world.admin)
    body = {"name": "Ops", "url": receiver.url}
    endpoint_id = admin.post(f"{API}/webhook-endpoints", body, content_type="application/json").json()["id"]
    receiver.script = ["500"]
    for n in range(3):
        _tell(world, world.admin, f"Thing {n}")
    deliver(world.workspace.pk)
    deliver(world.workspace.pk, after_seconds=31)
    with django_assert_max_num_queries(12):
        answer = admin.get(f"{API}/notification-deliveries?channel=webhook")
    assert answer.status_code == 200
    rows = answer.json()["items"]
    assert len(rows) == 3 and answer.json()["count"] == 3
    attempts = sorted((len(r["attempts"]), r["status"]) for r in rows)
    assert attempts == [(1, "delivered"), (1, "delivered"), (2, "delivered")]
    failed = next(r for r in rows if len(r["attempts"]) == 2)
    first = failed["attempts"][0]
    assert first["ok"] is False and first["status_code"] == 500 and first["error"] == "HTTP 500"
    assert failed["endpoint"] == endpoint_id and failed["target"] == receiver.url
    emails = admin.get(f"{API}/notification-deliveries?channel=email").json()
    assert emails["count"] == 3 and {r["target"] for r in emails["items"]} == {"admin@vendor.test"}
