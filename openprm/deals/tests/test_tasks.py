"""The job worker enforces protection windows on its own: an hourly job of the one schedule
(``config/tasks.py``) runs the expiry in every workspace (before, it ran only when someone typed
`prm deals expire`)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from openprm.accounts.models import Notification
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import ApprovalStatus, Deal
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def approved(world: Any, name: str) -> Deal:
    rep, manager = actor_for(world.a_rep), actor_for(world.manager)
    with scope(rep.access_scope()):
        deal, _ = services.deal_register(actor=rep, data={"customer_name": name, "amount": "1000"})
    with scope(manager.access_scope()):
        services.deal_approve(actor=manager, deal=deal)
    return deal


def test_hourly_task_expires_deals_past_their_protection_window(world: Any) -> None:
    from config.tasks import deals_expire_protection

    Workspace.objects.create(name="Second", slug="second")  # an empty workspace is visited too
    stale, fresh = approved(world, "Stale Co"), approved(world, "Fresh Co")
    with unscoped():
        Deal.objects.filter(pk=stale.pk).update(
            protection_expires_at=timezone.now() - datetime.timedelta(hours=1)
        )
    assert deals_expire_protection.call_local() == 1
    with unscoped():
        assert Deal.objects.get(pk=stale.pk).approval_status == ApprovalStatus.EXPIRED
        assert Deal.objects.get(pk=fresh.pk).approval_status == ApprovalStatus.APPROVED
        assert Notification.objects.filter(title="Registration expired: Stale Co").exists()
    assert deals_expire_protection.call_local() == 0  # nothing left to expire


def test_task_is_on_the_worker_schedule_every_hour() -> None:
    from config.tasks import deals_expire_protection

    [task] = [t for t in HUEY._registry.periodic_tasks if type(t) is deals_expire_protection.task_class]
    hour = datetime.datetime(2026, 12, 5, 10, 0)
    runs = [hour + datetime.timedelta(minutes=m) for m in range(120)]
    assert sum(task.validate_datetime(t) for t in runs) == 2
