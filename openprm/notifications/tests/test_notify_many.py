"""``notify_many``: many notices in one go give exactly what ``notify`` gives called once per notice, in
order — the same in-app rows (a partner user only about their own partner, a staff member restricted to
their own partners only about those), the same e-mails per preferences, the same webhook posts, grouped
alike (into a delivery already open, or one an earlier notice of the batch opened) — in a few queries."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.core.models import OutboxMessage
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.core.tasks import workspace_scope
from openprm.notifications.models import Delivery
from openprm.notifications.services import (
    TOPIC,
    Notice,
    endpoint_create,
    notify,
    notify_many,
    preference_update,
)
from openprm.notifications.tests.conftest import Receiver
from openprm.testing import actor_for, make_user


@pytest.fixture
def cast(world: Any, receiver: Receiver, settings: Any) -> Any:
    """The world with preferences of every sort, two staff members restricted to their own partners
    (one owns partner A), an inactive partner user, and three endpoints (one wants alerts only)."""
    settings.PRM_NOTIFY_GROUP_WAIT_SECONDS = 60
    world.owner = make_user(world.workspace, "owner@vendor.test", Role.MANAGER, owned_only=True)
    world.other = make_user(world.workspace, "other@vendor.test", Role.MANAGER, owned_only=True)
    world.gone = make_user(world.workspace, "gone@acme.test", Role.PARTNER_REP, partner=world.partner_a)
    with unscoped():
        type(world.partner_a).objects.filter(pk=world.partner_a.pk).update(owner=world.owner)
        type(world.gone).objects.filter(pk=world.gone.pk).update(is_active=False)
    preference_update(actor=actor_for(world.admin), severities=["critical"], email=True, mode="immediate")
    preference_update(actor=actor_for(world.manager), severities=["info"], email=False, mode="immediate")
    preference_update(actor=actor_for(world.finance), severities=["warning"], email=True, mode="digest")
    with workspace_scope(world.workspace.pk):
        for name, kind, kinds in (
            ("Ops", "generic", []),
            ("Chat", "slack", []),
            ("Alerts", "generic", ["alert"]),
        ):
            values = {"name": name, "url": receiver.url, "kind": kind, "kinds": kinds}
            endpoint_create(actor=world.system, values=values)
    return world


def _notices(w: Any) -> list[Notice]:
    staff = (w.admin.pk, w.manager.pk, w.finance.pk, w.analyst.pk, w.owner.pk, w.other.pk)
    everyone = (*staff, w.a_admin.pk, w.a_rep.pk, w.b_admin.pk, w.gone.pk)
    a, b = w.partner_a.pk, w.partner_b.pk
    return [
        Notice(
            kind="alert.firing", title="Rule 1: 3 partners", users=staff, severity="critical", group_key="r1"
        ),
        Notice(kind="alert.firing", title="Rule 2\nfires", users=staff, severity="warning", group_key="r2"),
        Notice(kind="alert.resolved", title="Rule 1: resolved", users=staff, severity="info", group_key="r1"),
        Notice(kind="alert.partner.firing", title="Yours", users=everyone, partner_id=a, group_key="r1:a"),
        Notice(kind="alert.partner.firing", title="Yours", users=everyone, partner_id=b, group_key="r1:b"),
        Notice(
            kind="alert.partner.firing", title="Yours again", users=everyone, partner_id=a, group_key="r1:a"
        ),
        Notice(kind="deal.approved", title="Approved", users=everyone, partner_id=a, webhooks=False),
        Notice(kind="system", title="Ungrouped", users=staff, body="twice", link="/x/"),
        Notice(kind="system", title="Ungrouped", users=staff, body="twice", link="/x/"),
        Notice(kind="system", title="Nobody", users=()),
    ]


def _state(since: datetime.datetime) -> dict[str, Any]:
    """What the notices left, without ids and times: the in-app rows, and each delivery with its items
    (an item's id named by the row it stands for) and its outbox message."""
    with unscoped():
        rows = list(Notification.objects.filter(created_at__gte=since).order_by("pk"))
        names = {str(r.public_id): (r.title, r.partner_id, r.kind) for r in rows}
        deliveries = list(Delivery.objects.order_by("pk"))
        messages = {m.pk: m for m in OutboxMessage.objects.filter(topic=TOPIC)}
    wait = datetime.timedelta(seconds=30)
    return {
        "rows": [
            (r.user_id, r.partner_id, r.kind, r.severity, r.group_key, r.title, r.body, r.link) for r in rows
        ],
        "deliveries": [
            (
                d.channel,
                d.user_id,
                d.endpoint_id,
                d.target,
                d.group_key,
                d.status,
                d.due_at > since + wait,  # grouped: due after the group wait
                [
                    {k: v for k, v in item.items() if k not in ("id", "created_at")}
                    | {"of": names.get(item["id"])}
                    for item in d.items
                ],
                messages[d.outbox_id].payload == {"delivery_id": d.pk},
                messages[d.outbox_id].available_at >= d.due_at,
            )
            for d in deliveries
        ],
        "messages": len(messages),
    }


def _open_group(w: Any) -> None:
    """Deliveries already open before the batch: a critical alert of rule 1 (the admin's e-mail and
    every endpoint's post)."""
    with transaction.atomic():
        notify(
            workspace_id=w.workspace.pk,
            kind="alert.firing",
            title="Rule 1: earlier",
            users=[w.admin.pk],
            severity="critical",
            group_key="r1",
        )


def _one_by_one(w: Any) -> list[list[Notification]]:
    out = []
    for notice in _notices(w):
        with transaction.atomic():
            out.append(notify(workspace_id=w.workspace.pk, **vars(notice)))
    return out


def _at_once(w: Any) -> list[list[Notification]]:
    with transaction.atomic():
        return notify_many(workspace_id=w.workspace.pk, notices=_notices(w))


def _run(w: Any, how: Any) -> tuple[dict[str, Any], list[list[int]], int]:
    """Run ``how`` after the earlier group opened, and roll it all back after reading what it left."""
    since = timezone.now()
    point = transaction.savepoint()
    _open_group(w)
    with CaptureQueriesContext(connection) as queries:
        made = how(w)
    state = _state(since)
    transaction.savepoint_rollback(point)
    return state, [[r.user_id for r in rows] for rows in made], len(queries)


@pytest.mark.django_db(transaction=False)
def test_notify_many_equals_notify_once_per_notice(cast: Any) -> None:
    w = cast
    one_by_one, users_each, queries_each = _run(w, _one_by_one)
    at_once, users_batch, queries_batch = _run(w, _at_once)
    assert at_once == one_by_one
    assert users_batch == users_each
    assert queries_batch <= 16 < queries_each

    staff = {w.admin.pk, w.manager.pk, w.finance.pk, w.analyst.pk, w.owner.pk, w.other.pk}
    by_notice = dict(enumerate(users_batch))
    assert set(by_notice[0]) == staff  # about no partner: every active staff member, restricted or not
    # about partner A: its own active users and the staff who may see it; never partner B's user, the
    # restricted manager who does not own A, or the inactive user
    assert set(by_notice[3]) == staff - {w.other.pk} | {w.a_admin.pk, w.a_rep.pk}
    assert set(by_notice[4]) == staff - {w.owner.pk, w.other.pk} | {w.b_admin.pk}
    assert by_notice[9] == []

    emails = [d for d in at_once["deliveries"] if d[0] == "email"]
    by_user: dict[int, list[Any]] = {}
    for d in emails:
        by_user.setdefault(d[1], []).append(d)
    # the admin wants critical only: the batch's critical alert joined the group opened before it
    [admin_group] = [d for d in by_user[w.admin.pk] if d[4] == "r1"]
    assert [i["title"] for i in admin_group[7]] == ["Rule 1: earlier", "Rule 1: 3 partners"]
    assert w.manager.pk not in by_user  # e-mail off
    assert w.finance.pk not in by_user  # the digest
    # the analyst (defaults): r1's firing and resolution in one message, r2 in another, partner A's two
    # in one, the ungrouped ones each alone; the restricted manager hears of partner A only, which he owns
    analyst = sorted((d[4], [i["title"] for i in d[7]]) for d in by_user[w.analyst.pk])
    assert analyst == [
        ("", ["Approved"]),
        ("", ["Ungrouped"]),
        ("", ["Ungrouped"]),
        ("r1", ["Rule 1: 3 partners", "Rule 1: resolved"]),
        ("r1:a", ["Yours", "Yours again"]),
        ("r1:b", ["Yours"]),
        ("r2", ["Rule 2 fires"]),
    ]
    owner = sorted(d[4] for d in by_user[w.owner.pk])
    assert owner == ["", "", "", "r1", "r1:a", "r2"]
    assert sorted(d[4] for d in by_user[w.other.pk]) == ["", "", "r1", "r2"]
    # partner A's admin: two alerts in one group, the deal decision alone; partner B's only theirs
    a_admin = sorted((d[4], [i["title"] for i in d[7]]) for d in by_user[w.a_admin.pk])
    assert a_admin == [("", ["Approved"]), ("r1:a", ["Yours", "Yours again"])]
    assert [d[4] for d in by_user[w.b_admin.pk]] == ["r1:b"]
    assert all(i["partner"] == w.partner_a.name for d in by_user[w.a_admin.pk] for i in d[7])
    # endpoints: the deal decision is not posted (webhooks off); the "alert" one only gets alerts, all
    # of a group in one post (the earlier critical alert and the batch's r1 notices); a Slack URL masked
    posts = [d for d in at_once["deliveries"] if d[0] != "email"]
    assert "deal.approved" not in {i["kind"] for d in posts for i in d[7]}
    alerts_only = [d for d in posts if d[2] == max(p[2] for p in posts)]
    assert sorted(d[4] for d in alerts_only) == ["r1", "r1:a", "r1:b", "r2"]
    [r1] = [d for d in alerts_only if d[4] == "r1"]
    assert [i["title"] for i in r1[7]] == ["Rule 1: earlier", "Rule 1: 3 partners", "Rule 1: resolved"]
    assert len({d[2] for d in posts}) == 3 and {d[0] for d in posts} == {"slack", "webhook"}
    assert all(d[8] and d[9] for d in at_once["deliveries"])  # each with its own outbox message
    assert at_once["messages"] == len(at_once["deliveries"])


@pytest.mark.django_db
def test_notify_many_checks_every_severity_before_writing(world: Any) -> None:
    notices = [
        Notice(kind="system", title="Fine", users=(world.admin.pk,)),
        Notice(kind="system", title="Wrong", users=(world.admin.pk,), severity="fatal"),
    ]
    with pytest.raises(Exception, match="severity"):
        notify_many(workspace_id=world.workspace.pk, notices=notices)
    with unscoped():
        assert not Notification.objects.filter(title="Fine").exists()
    assert notify_many(workspace_id=world.workspace.pk, notices=[]) == []
