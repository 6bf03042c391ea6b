"""Runs: "send now" sends once per click however often it is retried, the schedule's job sends each slot
once, unsubscribe links work without logging in (and a tampered one does not), an unsubscribed recipient
is skipped by later runs, and a failed delivery is logged and tried again."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from openprm.core.scoping import scope
from openprm.reports.delivery import unsubscribe_token
from openprm.reports.models import ReportDelivery, ReportRun
from openprm.reports.services import send_due
from openprm.reports.tests.conftest import deliver, make_definition, start_run
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def test_send_now_is_idempotent_per_click(world: Any, smtp: Any, client_for: Any) -> None:
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    client = client_for(world.manager)
    url = reverse("reports:detail", args=[definition.public_id])
    for _ in range(3):  # the same form posted three times (a double click, a retried request)
        assert client.post(url, {"key": "click-1"}).status_code == 302
    deliver(world.workspace.pk)
    assert len(smtp.mails) == 1
    client.post(url, {"key": "click-2"})  # a new click: a new run
    deliver(world.workspace.pk)
    assert len(smtp.mails) == 2
    with scope(world.system.access_scope()):
        assert ReportRun.objects.filter(definition=definition).count() == 2
    deliver(world.workspace.pk)  # delivering again sends nothing more
    assert len(smtp.mails) == 2


def test_the_schedule_sends_each_slot_once_and_moves_to_the_next(world: Any, smtp: Any) -> None:
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.analyst.public_id)])
    slot = definition.next_run_at
    assert slot is not None
    with scope(world.system.access_scope()):
        assert send_due(workspace_id=world.workspace.pk, now=slot - datetime.timedelta(minutes=1)) == 0
        assert send_due(workspace_id=world.workspace.pk, now=slot + datetime.timedelta(minutes=2)) == 1
        assert send_due(workspace_id=world.workspace.pk, now=slot + datetime.timedelta(minutes=7)) == 0
        definition.refresh_from_db()
        run = ReportRun.objects.get(definition=definition)
    assert definition.next_run_at == slot + datetime.timedelta(days=7)
    assert run.request_key == f"schedule:{slot.isoformat()}"
    deliver(world.workspace.pk)
    assert [m.recipients for m in smtp.mails] == [["analyst@vendor.test"]]


def test_unsubscribe_works_without_login_and_later_runs_skip_the_recipient(world: Any, smtp: Any) -> None:
    recipients = [str(world.manager.public_id), str(world.analyst.public_id)]
    definition = make_definition(world, formats=["csv"], staff_recipients=recipients)
    start_run(world, definition, key="first")
    deliver(world.workspace.pk)
    mail = smtp.to("manager@vendor.test")[0]
    link = next(w for w in mail.part("text/plain").split() if "/reports/unsubscribe/" in w)
    assert str(mail.message["List-Unsubscribe"]).strip() == f"<{link}>"  # a folded header starts with a space
    path = link.split("127.0.0.1:8000", 1)[1]

    anonymous = Client()
    page = anonymous.get(path)
    assert page.status_code == 200 and "Weekly program summary" in page.content.decode()
    done = anonymous.post(path)
    assert done.status_code == 200 and "will no longer receive" in done.content.decode()

    smtp.mails.clear()
    start_run(world, definition, key="second")
    deliver(world.workspace.pk)
    assert [m.recipients for m in smtp.mails] == [["analyst@vendor.test"]]
    with scope(world.system.access_scope()):
        skipped = ReportDelivery.objects.get(run__request_key="second", email="manager@vendor.test")
    assert skipped.status == "skipped"


def test_a_tampered_unsubscribe_token_is_refused(world: Any) -> None:
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    token = unsubscribe_token(definition=definition, email="manager@vendor.test")
    forged = unsubscribe_token(definition=definition, email="analyst@vendor.test")
    tampered = forged.split(":")[0] + ":" + token.split(":", 1)[1]  # another payload, the first signature
    anonymous = Client()
    for bad in (tampered, token[:-2] + "xx", "nonsense"):
        response = anonymous.post(reverse("reports:unsubscribe", args=[bad]))
        assert response.status_code == 404
    with scope(world.system.access_scope()):
        assert not definition.unsubscribes.exists()


def test_a_failed_delivery_is_logged_and_tried_again(world: Any, smtp: Any, settings: Any) -> None:
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nobody listens: the send fails
    start_run(world, definition)
    deliver(world.workspace.pk)
    with scope(world.system.access_scope()):
        failed = ReportDelivery.objects.get()
    assert failed.status == "failed" and failed.attempts == 1 and "Error" in failed.error
    settings.EMAIL_PORT = port
    deliver(world.workspace.pk, after_seconds=31)  # the outbox's first backoff is 30 s
    with scope(world.system.access_scope()):
        failed.refresh_from_db()
    assert failed.status == "sent" and failed.attempts == 2 and failed.error == ""
    assert len(smtp.mails) == 1


def test_partner_users_reach_no_report_page(world: Any, client_for: Any) -> None:
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    client = client_for(world.a_admin)
    for url in (
        reverse("reports:list"),
        reverse("reports:create"),
        reverse("reports:qbr"),
        reverse("reports:detail", args=[definition.public_id]),
        reverse("reports:preview", args=[definition.public_id]),
    ):
        assert client.get(url).status_code in (403, 404), url
    assert client.post(reverse("reports:detail", args=[definition.public_id]), {"key": "x"}).status_code in (
        403,
        404,
    )
    assert actor_for(world.a_admin).is_partner_user
