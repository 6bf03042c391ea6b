"""Notification pages: the staff list and header count (own notifications only), mark read and mark all
read, the preferences page for staff and partner users, and the admins' webhook endpoints and delivery log
pages (404/403 for everyone else)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from openprm.accounts.models import Notification
from openprm.core.scoping import unscoped
from openprm.notifications.models import Preference, WebhookEndpoint
from openprm.notifications.services import notify
from openprm.notifications.tests.conftest import Receiver, deliver


def _tell(world: Any, user: Any, title: str, partner: Any = None, **extra: Any) -> None:
    with transaction.atomic():
        notify(
            workspace_id=world.workspace.pk,
            kind="test",
            title=title,
            users=[user.pk],
            partner_id=partner.pk if partner else None,
            **extra,
        )


@pytest.mark.django_db
def test_the_staff_list_shows_only_ones_own_and_marks_read(
    world: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        _tell(world, world.admin, f"Admin thing {n}", severity="critical" if n == 29 else "info")
    _tell(world, world.manager, "Manager thing")
    _tell(world, world.a_admin, "Acme thing", world.partner_a)
    admin = client_for(world.admin)
    with django_assert_max_num_queries(12):
        page = admin.get(reverse("notifications:list")).content.decode()
    assert "Admin thing 29" in page and "Manager thing" not in page and "Acme thing" not in page
    assert "Unread (30)" in page and 'id="read-all"' in page
    assert page.count('class="card notification unread"') == 25  # first page
    count = admin.get(reverse("notifications:count")).content.decode()
    assert 'aria-label="30 unread"' in count
    first = Notification.objects.get(title="Admin thing 29")
    answer = admin.post(
        reverse("notifications:read", args=[first.public_id]), {"next": "/notifications/?unread=1"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/notifications/?unread=1"
    assert "Admin thing 29" not in admin.get(reverse("notifications:list") + "?unread=1").content.decode()
    assert admin.post(reverse("notifications:read_all")).status_code == 302
    assert admin.get(reverse("notifications:count")).content.decode().strip() == ""
    assert Notification.objects.filter(user=world.manager, read_at__isnull=True).count() == 1  # untouched


@pytest.mark.django_db
def test_one_cannot_mark_another_users_notification(world: Any, client_for: Any) -> None:
    _tell(world, world.admin, "Admin thing")
    _tell(world, world.a_admin, "Acme thing", world.partner_a)
    for user, other in ((world.manager, "Admin thing"), (world.b_admin, "Acme thing")):
        target = Notification.objects.get(title=other)
        assert (
            client_for(user).post(reverse("notifications:read", args=[target.public_id])).status_code == 404
        )
    assert not Notification.objects.filter(read_at__isnull=False).exists()


@pytest.mark.django_db
def test_the_staff_list_and_count_are_not_the_portals(world: Any, client_for: Any) -> None:
    acme = client_for(world.a_admin)
    assert acme.get(reverse("notifications:list")).status_code == 404
    assert acme.get(reverse("notifications:count")).status_code == 404
    assert client_for(world.admin).get(reverse("portal:notifications")).status_code == 404
    header = client_for(world.manager).get(reverse("notifications:list")).content.decode()
    assert reverse("notifications:count") in header  # the header's unread count


@pytest.mark.django_db
def test_the_portal_list_shows_only_the_partner_users_own(world: Any, client_for: Any) -> None:
    _tell(world, world.a_admin, "Acme thing", world.partner_a, severity="warning")
    _tell(world, world.b_admin, "Globex thing", world.partner_b)
    page = client_for(world.a_admin).get(reverse("portal:notifications")).content.decode()
    assert "Acme thing" in page and "Globex thing" not in page and "warning" in page
    assert reverse("notifications:preferences") in page
    assert client_for(world.a_rep).get(reverse("portal:notification_count")).content.decode().strip() == ""


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "analyst", "a_rep", "b_admin"])
def test_every_user_has_a_preferences_page(world: Any, client_for: Any, who: str) -> None:
    user = getattr(world, who)
    client = client_for(user)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="critical"' in page and 'value="digest"' in page
    answer = client.post(
        reverse("notifications:preferences"), {"severities": ["warning", "critical"], "mode": "digest"}
    )
    assert answer.status_code == 302
    saved = Preference.objects.get(user=user)
    assert (saved.severities, saved.email, saved.mode) == (["warning", "critical"], False, "digest")
    assert Preference.objects.count() == 1  # nobody else's
    bad = client.post(
        reverse("notifications:preferences"), {"severities": [], "mode": "digest", "email": "on"}
    )
    assert bad.status_code == 200 and "This field is required" in bad.content.decode()


@pytest.mark.django_db
def test_admins_manage_endpoints_and_see_the_secret_once(
    world: Any, client_for: Any, receiver: Receiver
) -> None:
    admin = client_for(world.admin)
    answer = admin.post(
        reverse("notifications:endpoints"),
        {"name": "Ops Slack", "url": receiver.url, "kind": "slack", "enabled": "on", "kinds": "alert, deal"},
    )
    assert answer.status_code == 302
    with unscoped():
        endpoint = WebhookEndpoint.objects.get()
    assert endpoint.kinds == ["alert", "deal"] and endpoint.severities == []
    shown = admin.get(reverse("notifications:endpoints")).content.decode()
    assert endpoint.secret in shown and "Ops Slack" in shown
    assert endpoint.secret not in admin.get(reverse("notifications:endpoints")).content.decode()  # once
    edit = reverse("notifications:endpoint_edit", args=[endpoint.public_id])
    assert admin.post(edit, {"name": "Ops", "url": "ftp://x", "kind": "generic"}).status_code == 200
    admin.post(edit, {"name": "Ops", "url": receiver.url, "kind": "generic", "severities": ["critical"]})
    with unscoped():
        endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.kind, endpoint.enabled, endpoint.severities) == (
        "Ops",
        "generic",
        False,
        ["critical"],
    )
    for user in (world.manager, world.a_admin, world.b_admin):
        client = client_for(user)
        assert client.get(reverse("notifications:endpoints")).status_code in (403, 404)
        assert client.get(edit).status_code in (403, 404)
        assert client.get(reverse("notifications:deliveries")).status_code in (403, 404)
        assert client.post(
            reverse("notifications:endpoint_delete", args=[endpoint.public_id])
        ).status_code in (
            403,
            404,
        )
    assert admin.post(reverse("notifications:endpoint_delete", args=[endpoint.public_id])).status_code == 302
    with unscoped():
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_delivery_log_page(
    world: Any, client_for: Any, receiver: Receiver, django_assert_max_num_queries: Any
) -> None:
    admin = client_for(world.admin)
    admin.post(
        reverse("notifications:endpoints"),
        {"name": "Ops", "url": receiver.url, "kind": "generic", "enabled": "on"},
    )
    receiver.script = ["500"]
    for n in range(5):
        _tell(world, world.manager, f"Thing {n}")
    deliver(world.workspace.pk)
    with django_assert_max_num_queries(14):
        page = admin.get(reverse("notifications:deliveries")).content.decode()
    assert page.count('id="delivery-') == 10  # 5 e-mails and 5 webhooks
    assert "HTTP 500" in page and "manager@vendor.test" in page
    webhooks = admin.get(
        reverse("notifications:deliveries") + "?channel=webhook&status=pending"
    ).content.decode()
    assert webhooks.count('id="delivery-') == 1
