"""``notify``: in-app rows for the right people only, e-mails (HTML + text) to a real SMTP server per each
user's preferences (severities, e-mail off, daily digest), grouping within the group wait, and the deal
decisions going through it to partner users."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.core.actors import Actor
from openprm.core.scoping import scope, unscoped
from openprm.core.tasks import workspace_scope
from openprm.notifications.models import Delivery, Preference
from openprm.notifications.selectors import partner_recipients, staff_recipients
from openprm.notifications.services import digest_send, notify, preference_update
from openprm.notifications.tests.conftest import Inbox, deliver
from openprm.testing import actor_for


def _notify(world: Any, users: list[Any], **kwargs: Any) -> list[Notification]:
    fields = {"kind": "test.thing", "title": "Win rate below 20%", "body": "Acme: 12% (threshold 20%)"}
    with transaction.atomic():
        return notify(workspace_id=world.workspace.pk, users=[u.pk for u in users], **(fields | kwargs))


def _inapp(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("pk"))


def _deliveries() -> list[Delivery]:
    with unscoped():
        return list(Delivery.objects.order_by("pk"))


@pytest.mark.django_db
def test_an_email_goes_to_a_real_smtp_server_in_html_and_text(world: Any, smtp: Inbox, settings: Any) -> None:
    settings.PRM_BASE_URL = "https://prm.example.com"
    _notify(world, [world.admin, world.manager], severity="critical", link="/partners/x/")
    assert smtp.mails == []  # nothing leaves before the outbox delivers
    assert deliver(world.workspace.pk) == 2
    assert sorted(r for m in smtp.mails for r in m.recipients) == ["admin@vendor.test", "manager@vendor.test"]
    mail = smtp.to("admin@vendor.test")[0]
    assert mail.subject == "Win rate below 20%"
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert "[CRITICAL] Win rate below 20%" in text and "Acme: 12% (threshold 20%)" in text
    assert "https://prm.example.com/partners/x/" in text
    assert '<a href="https://prm.example.com/partners/x/"' in html and "Acme: 12% (threshold 20%)" in html
    assert [n.title for n in _inapp(world.admin)] == ["Win rate below 20%"]
    assert {d.status for d in _deliveries()} == {"delivered"}
    assert deliver(world.workspace.pk, after_seconds=3600) == 0 and len(smtp.mails) == 2  # never again


@pytest.mark.django_db
def test_partner_users_only_hear_about_their_own_partner(world: Any, smtp: Inbox) -> None:
    _notify(world, [world.a_admin, world.b_admin, world.admin], partner_id=world.partner_a.pk)
    assert len(_inapp(world.a_admin)) == 1 and len(_inapp(world.admin)) == 1
    assert _inapp(world.b_admin) == []  # a user of partner B never gets partner A's notification
    deliver(world.workspace.pk)
    assert smtp.to("admin@globex.test") == [] and len(smtp.to("admin@acme.test")) == 1
    _notify(world, [world.a_admin])  # about no partner: for staff only
    assert len(_inapp(world.a_admin)) == 1


@pytest.mark.django_db
def test_recipient_lists(world: Any) -> None:
    ids = staff_recipients(workspace_id=world.workspace.pk)
    assert set(ids) == {world.admin.pk, world.manager.pk, world.finance.pk, world.analyst.pk}
    assert staff_recipients(workspace_id=world.workspace.pk, roles=["admin"]) == [world.admin.pk]
    a_users = partner_recipients(workspace_id=world.workspace.pk, partner_id=world.partner_a.pk)
    assert set(a_users) == {world.a_admin.pk, world.a_rep.pk}


@pytest.mark.django_db
def test_preferences_filter_severities_and_switch_email_off(world: Any, smtp: Inbox) -> None:
    preference_update(actor=actor_for(world.admin), severities=["critical"], email=True, mode="immediate")
    preference_update(
        actor=actor_for(world.manager), severities=["info", "critical"], email=False, mode="immediate"
    )
    _notify(world, [world.admin, world.manager, world.finance], severity="warning", title="Warned")
    _notify(world, [world.admin, world.manager, world.finance], severity="critical", title="Critical")
    deliver(world.workspace.pk)
    assert [m.subject for m in smtp.to("admin@vendor.test")] == ["Critical"]  # warnings filtered out
    assert smtp.to("manager@vendor.test") == []  # e-mail off
    assert sorted(m.subject for m in smtp.to("finance@vendor.test")) == ["Critical", "Warned"]  # defaults
    for user in (world.admin, world.manager, world.finance):  # in-app: always everything
        assert sorted(n.title for n in _inapp(user)) == ["Critical", "Warned"]


@pytest.mark.django_db
def test_notifications_with_one_group_key_go_out_as_one_message(
    world: Any, smtp: Inbox, settings: Any
) -> None:
    settings.PRM_NOTIFY_GROUP_WAIT_SECONDS = 60
    for name in ("Acme", "Globex", "Initech"):
        _notify(
            world,
            [world.admin],
            title=f"Win rate below 20%: {name}",
            group_key="rule:7",
            group_title="alerts of rule “Win rate below 20%”",
        )
    _notify(world, [world.admin], title="Ungrouped")
    deliver(world.workspace.pk)
    assert [m.subject for m in smtp.mails] == ["Ungrouped"]  # the group waits for its window
    assert len(_inapp(world.admin)) == 4  # in-app: at once, one each
    deliver(world.workspace.pk, after_seconds=61)
    assert len(smtp.mails) == 2
    grouped = smtp.mails[1]
    assert grouped.subject == "3 notifications: alerts of rule “Win rate below 20%”"
    for name in ("Acme", "Globex", "Initech"):
        assert f"Win rate below 20%: {name}" in grouped.part("text/plain")
    # after the window closed, the same key opens a new group
    _notify(world, [world.admin], title="Win rate below 20%: Hooli", group_key="rule:7")
    deliver(world.workspace.pk, after_seconds=61)
    assert [m.subject for m in smtp.mails][2:] == ["Win rate below 20%: Hooli"]


@pytest.mark.django_db
def test_digest_readers_get_one_daily_email_instead(world: Any, smtp: Inbox) -> None:
    preference_update(
        actor=actor_for(world.admin), severities=["warning", "critical"], email=True, mode="digest"
    )
    preference_update(actor=actor_for(world.manager), severities=["info"], email=False, mode="digest")
    _notify(world, [world.admin, world.manager], title="First", severity="warning")
    _notify(world, [world.admin, world.manager], title="Second", severity="critical")
    _notify(world, [world.admin, world.manager], title="Just info", severity="info")
    deliver(world.workspace.pk)
    assert smtp.mails == []  # nothing immediately
    with workspace_scope(world.workspace.pk):
        assert digest_send(workspace_id=world.workspace.pk) == 1  # the manager has e-mail off
    deliver(world.workspace.pk)
    [digest] = smtp.mails
    assert digest.recipients == ["admin@vendor.test"]
    assert digest.subject == "Your OpenPRM digest: 2 notifications"
    text = digest.part("text/plain")
    assert "First" in text and "Second" in text and "Just info" not in text
    with workspace_scope(world.workspace.pk):  # the next digest starts after this one
        assert digest_send(workspace_id=world.workspace.pk) == 0
        later = timezone.now() + datetime.timedelta(days=1)
        _notify(world, [world.admin], title="Third", severity="critical")
        assert digest_send(workspace_id=world.workspace.pk, now=later) == 1
    deliver(world.workspace.pk, after_seconds=86400 + 60)
    assert "Third" in smtp.mails[1].part("text/plain") and "First" not in smtp.mails[1].part("text/plain")
    assert Preference.objects.get(user=world.admin).last_digest_at == later


@pytest.mark.django_db
def test_notify_runs_in_the_callers_transaction(world: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(workspace_id=world.workspace.pk, kind="x", title="Rolled back", users=[world.admin.pk])
        raise RuntimeError("the change fails")
    assert _inapp(world.admin) == [] and _deliveries() == []


@pytest.mark.django_db
def test_a_deal_decision_reaches_the_partner_users_by_email_too(
    world: Any, smtp: Inbox, client_for: Any
) -> None:
    from openprm.deals.services import deal_register
    from openprm.deals.services.approval import deal_reject

    preference_update(actor=actor_for(world.a_rep), severities=["critical"], email=True, mode="immediate")
    rep = actor_for(world.a_rep)
    with scope(rep.access_scope()):
        deal, _created = deal_register(
            actor=rep,
            data={"customer_name": "Initech", "customer_domain": "initech.example", "amount": "5000"},  # type: ignore[arg-type]
        )
    staff: Actor = actor_for(world.manager)
    with scope(staff.access_scope()):
        deal_reject(actor=staff, deal=deal, reason="Already in our pipeline.")
    deliver(world.workspace.pk)
    [mail] = smtp.to("admin@acme.test")
    assert mail.subject == "Deal rejected: Initech" and "Already in our pipeline." in mail.part("text/plain")
    assert smtp.to("rep@acme.test") == []  # the rep only wants critical ones by e-mail
    assert [n.title for n in _inapp(world.a_rep)] == ["Deal rejected: Initech"]  # but sees it in-app
    assert [n.kind for n in _inapp(world.a_admin)] == ["deal.rejected"]
    assert smtp.to("admin@globex.test") == [] and _inapp(world.b_admin) == []


@pytest.mark.django_db
def test_the_daily_digest_runs_from_the_schedule(world: Any, smtp: Inbox) -> None:
    from config.tasks import notifications_daily_digest
    from openprm.core.tasks import load_jobs, periodic_jobs

    load_jobs()
    assert periodic_jobs()["config.tasks.notifications_daily_digest"].cron is not None
    preference_update(actor=actor_for(world.analyst), severities=["info"], email=True, mode="digest")
    _notify(world, [world.analyst], title="Seen in the digest")
    assert notifications_daily_digest.call_local() == 1
    deliver(world.workspace.pk)
    [mail] = smtp.to("analyst@vendor.test")
    assert mail.subject == "Your OpenPRM digest: 1 notification" and "Seen in the digest" in mail.part(
        "text/html"
    )
