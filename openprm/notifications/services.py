"""Writes: ``notify`` (the one way any part of the product tells people something), the delivery of what
it queued (the outbox handler, with an attempt log), the daily digest, read marks, preferences and
webhook endpoints.

``notify`` runs in the caller's transaction: the in-app rows and the outbox messages of the other
channels exist if and only if the change they announce does. Per recipient and channel, notifications
with one ``group_key`` within the group wait (``PRM_NOTIFY_GROUP_WAIT_SECONDS``) become one message: the
first opens a delivery due at the end of the window, the next ones join it. A delivery is tried from the
outbox; each try is logged (``DeliveryAttempt``); a failed try queues the next one after the outbox's
backoff, up to ``PRM_NOTIFY_MAX_ATTEMPTS``; a delivered one is never sent again.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from openprm.accounts.models import Membership, Notification
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry, OutboxMessage
from openprm.core.outbox import backoff_seconds, outbox_put, outbox_put_many
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.core.tasks import workspace_scope
from openprm.notifications import channels, conf
from openprm.notifications.models import (
    SEVERITIES,
    Channel,
    Delivery,
    DeliveryAttempt,
    Preference,
    WebhookEndpoint,
)

TOPIC = "notifications.deliver"  # the outbox topic; ``notifications.tasks`` registers ``delivery_send``
DIGEST_MAX_ITEMS = 200
DIGEST_OVERLAP = datetime.timedelta(minutes=10)  # rows committed late still make the next digest
KIND_MAX, GROUP_KEY_MAX = 60, 200  # Notification.kind, Notification/Delivery.group_key


# --- notify -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One thing to tell (``notify``'s arguments but the workspace): ``users`` are ids of staff users, or
    of users of ``partner_id``."""

    kind: str
    title: str
    users: tuple[int, ...]
    severity: str = "info"
    body: str = ""
    link: str = ""
    partner_id: int | None = None
    group_key: str = ""
    group_title: str = ""
    webhooks: bool = True


def _audiences(
    workspace_id: int, notices: Sequence[Notice], partners: dict[int, tuple[int | None, str]]
) -> list[list[tuple[int, str]]]:
    """Each notice's (user id, e-mail), sorted: the active members among its users — staff, and users of
    its partner; never a user of another partner (a partner user only hears about their own partner),
    nor, about a partner, a staff member restricted to their own partners (``owned_only``) who does not
    own it (``partners``: owner and name by id). One query for the members of every notice."""
    wanted = {uid for notice in notices for uid in notice.users}
    if not wanted:
        return [[] for _notice in notices]
    by_user: dict[int, list[tuple[str, int | None, bool]]] = defaultdict(list)
    with unscoped():
        for uid, email, member_of, owned_only in Membership.objects.filter(
            workspace_id=workspace_id, user_id__in=wanted, is_active=True, user__is_active=True
        ).values_list("user_id", "user__email", "partner_id", "owned_only"):
            by_user[uid].append((email, member_of, owned_only))
    out = []
    for notice in notices:
        partner_id = notice.partner_id
        owner_id = partners.get(partner_id, (None, ""))[0] if partner_id is not None else None
        out.append(
            sorted(
                {
                    (uid, email)
                    for uid in set(notice.users)
                    for email, member_of, owned_only in by_user.get(uid, ())
                    if (member_of is None and (partner_id is None or not owned_only or uid == owner_id))
                    or (member_of is not None and member_of == partner_id)
                }
            )
        )
    return out


def _partners(partner_ids: Iterable[int]) -> dict[int, tuple[int | None, str]]:
    """Partner id → (owner id, name); notifications sit below partners: through the app registry."""
    ids = set(partner_ids)
    if not ids:
        return {}
    with unscoped():
        partner = apps.get_model("partners", "Partner")
        rows = partner.objects.filter(pk__in=ids).values_list("pk", "owner_id", "name")
        return {pk: (owner, str(name or "")) for pk, owner, name in rows}


def _preferences(workspace_id: int, user_ids: Iterable[int]) -> dict[int, Preference]:
    found = Preference.objects.filter(workspace_id=workspace_id, user_id__in=set(user_ids))
    return {p.user_id: p for p in found}


def wants_email_now(preference: Preference | None, severity: str) -> bool:
    if preference is None:
        return True
    severities = preference.severities or SEVERITIES
    return preference.email and preference.mode == Preference.Mode.IMMEDIATE and severity in severities


@dataclass
class _Send:
    """One message to queue: an item for a recipient (a user or an endpoint) on a channel."""

    channel: str
    target: str
    item: dict[str, Any]
    group_key: str
    user_id: int | None = None
    endpoint: WebhookEndpoint | None = None

    @property
    def key(self) -> tuple[str, int | None, int | None, str]:
        return (self.channel, self.user_id, self.endpoint.pk if self.endpoint else None, self.group_key)


def _open_deliveries(sends: list[_Send], now: datetime.datetime) -> dict[tuple[Any, ...], Delivery]:
    """The open delivery (the oldest) of each grouped send's group, recipient and channel, locked on
    PostgreSQL; in one query."""
    grouped = [s for s in sends if s.group_key]
    if not grouped:
        return {}
    users = {s.user_id for s in grouped if s.user_id is not None}
    endpoints = {s.endpoint.pk for s in grouped if s.endpoint is not None}
    open_ = Delivery.objects.filter(
        Q(user_id__in=users) | Q(endpoint_id__in=endpoints),
        channel__in={s.channel for s in grouped},
        group_key__in={s.group_key for s in grouped},
        digest=False,
        status=Delivery.Status.PENDING,
        attempts=0,
        due_at__gt=now,
    )
    if connection.vendor == "postgresql":
        open_ = open_.select_for_update()
    found: dict[tuple[Any, ...], Delivery] = {}
    for delivery in open_.order_by("pk"):
        key = (delivery.channel, delivery.user_id, delivery.endpoint_id, delivery.group_key)
        found.setdefault(key, delivery)
    return found


def _enqueue(workspace_id: int, sends: list[_Send], now: datetime.datetime) -> None:
    """Each send joins the open delivery of its group, recipient and channel, or opens one (with its
    outbox message, due at the end of the group wait; an ungrouped one is due now). In a few queries
    whatever the number of sends: the open deliveries, their new items, the new deliveries and their
    outbox messages."""
    open_ = _open_deliveries(sends, now)
    joined: dict[int, Delivery] = {}
    new: list[Delivery] = []
    wait = datetime.timedelta(seconds=conf.group_wait_seconds())
    for send in sends:
        if send.group_key and (delivery := open_.get(send.key)) is not None:
            delivery.items = [*delivery.items, send.item]
            if delivery.pk is not None:
                joined[delivery.pk] = delivery
            continue
        delivery = Delivery(
            workspace_id=workspace_id,
            channel=send.channel,
            user_id=send.user_id,
            endpoint=send.endpoint,
            target=send.target,
            group_key=send.group_key,
            items=[send.item],
            due_at=now + wait if send.group_key else now,
        )
        new.append(delivery)
        if send.group_key:
            open_[send.key] = delivery  # the next sends of this group in the batch join it
    if joined:
        for delivery in joined.values():
            delivery.updated_at = timezone.now()
        Delivery.objects.bulk_update(list(joined.values()), ["items", "updated_at"])
    if new:
        Delivery.objects.bulk_create(new)
        messages = outbox_put_many(
            workspace_id=workspace_id,
            topic=TOPIC,
            messages=[({"delivery_id": d.pk}, d.due_at) for d in new],
        )
        for delivery, message in zip(new, messages, strict=True):
            delivery.outbox_id = message.pk
        Delivery.objects.bulk_update(new, ["outbox_id"])


def _put(delivery: Delivery, *, at: datetime.datetime) -> None:
    """Queue the delivery's next try: its one current outbox message (any other one is ignored)."""
    message = outbox_put(
        workspace_id=delivery.workspace_id, topic=TOPIC, payload={"delivery_id": delivery.pk}
    )
    if at > message.available_at:
        OutboxMessage.objects.filter(pk=message.pk).update(available_at=at)
    delivery.outbox_id = message.pk
    Delivery.objects.filter(pk=delivery.pk).update(outbox_id=message.pk)


def notify(
    *,
    workspace_id: int,
    kind: str,
    title: str,
    users: Iterable[int],
    severity: str = "info",
    body: str = "",
    link: str = "",
    partner_id: int | None = None,
    group_key: str = "",
    group_title: str = "",
    webhooks: bool = True,
) -> list[Notification]:
    """Tell ``users`` (ids of staff users, or of users of ``partner_id``) something: an in-app notification
    each, an e-mail to those whose preferences want it now (or in their digest), and a post to each
    enabled webhook endpoint that wants this kind and severity (unless ``webhooks`` is False)."""
    notice = Notice(
        kind=kind,
        title=title,
        users=tuple(users),
        severity=severity,
        body=body,
        link=link,
        partner_id=partner_id,
        group_key=group_key,
        group_title=group_title,
        webhooks=webhooks,
    )
    return notify_many(workspace_id=workspace_id, notices=[notice])[0]


@transaction.atomic
def notify_many(*, workspace_id: int, notices: Sequence[Notice]) -> list[list[Notification]]:
    """``notify`` each notice, in order, in a few queries whatever their number: the same rows, e-mails
    and posts, grouped alike (a notice joins the open delivery of its group that an earlier one opened);
    returns each notice's in-app notifications."""
    for notice in notices:
        if notice.severity not in SEVERITIES:
            raise ValidationError({"severity": [f"One of {', '.join(SEVERITIES)}."]})
    if not notices:
        return []
    now = timezone.now()
    partners = _partners(n.partner_id for n in notices if n.partner_id is not None)
    audiences = _audiences(workspace_id, notices, partners)
    made: list[list[Notification]] = []
    items: list[dict[str, Any]] = []
    for notice, recipients in zip(notices, audiences, strict=True):
        # one line (a newline in an e-mail subject fails the send); cut to the columns, the same everywhere
        title, group_key = channels.one_line(notice.title)[:200], notice.group_key[:GROUP_KEY_MAX]
        fields = {
            "kind": notice.kind[:KIND_MAX],
            "severity": notice.severity,
            "title": title,
            "body": notice.body,
            "link": notice.link[:300],
        }
        rows = [
            Notification(
                workspace_id=workspace_id,
                user_id=uid,
                partner_id=notice.partner_id,
                group_key=group_key,
                **fields,
            )
            for uid, _email in recipients
        ]
        made.append(rows)
        items.append(
            {
                **fields,
                "id": str(rows[0].public_id) if rows else "",
                "partner": partners.get(notice.partner_id, (None, ""))[1]
                if notice.partner_id is not None
                else "",
                "group_title": channels.one_line(notice.group_title)[:200],
                "created_at": now.isoformat(),
            }
        )
    Notification.objects.bulk_create([row for rows in made for row in rows])
    with workspace_scope(workspace_id):  # whoever acts (a partner user too) queues staff-only rows
        preferences = _preferences(workspace_id, (uid for rs in audiences for uid, _email in rs))
        endpoints = (
            list(WebhookEndpoint.objects.filter(enabled=True)) if any(n.webhooks for n in notices) else []
        )
        sends: list[_Send] = []
        for notice, recipients, item in zip(notices, audiences, items, strict=True):
            group_key = notice.group_key[:GROUP_KEY_MAX]
            for uid, email in recipients:
                if wants_email_now(preferences.get(uid), notice.severity):
                    sends.append(_Send(Channel.EMAIL, email, item, group_key, user_id=uid))
            for endpoint in endpoints if notice.webhooks else []:
                if endpoint.wants(kind=notice.kind, severity=notice.severity):
                    slack = endpoint.kind == WebhookEndpoint.Kind.SLACK
                    target = channels.masked_url(endpoint.url) if slack else endpoint.url
                    channel = Channel.SLACK if slack else Channel.WEBHOOK
                    sends.append(_Send(channel, target, item, group_key, endpoint=endpoint))
        _enqueue(workspace_id, sends, now)
    return made


# --- delivery ---------------------------------------------------------------------------------------------


def _send(delivery: Delivery) -> channels.Sent:
    if delivery.channel == Channel.EMAIL:
        if delivery.user is None or not delivery.user.is_active:
            raise channels.DeliveryError("The recipient's account is inactive", permanent=True)
        return channels.send_email(to=delivery.user.email, items=delivery.items, digest=delivery.digest)
    endpoint = delivery.endpoint
    if endpoint is None or not endpoint.enabled:
        raise channels.DeliveryError("The endpoint is disabled", permanent=True)
    if delivery.channel == Channel.SLACK:
        return channels.send_slack(url=endpoint.url, items=delivery.items)
    return channels.send_generic(
        url=endpoint.url, secret=endpoint.secret, delivery_id=str(delivery.public_id), items=delivery.items
    )


def delivery_send(message: OutboxMessage) -> None:
    """Try a delivery once (the outbox topic's handler): log the attempt; on failure queue the next try
    after the backoff, or give up after the last attempt. A delivered delivery is never sent again."""
    found = Delivery.objects.select_related("endpoint", "user").filter(pk=message.payload["delivery_id"])
    if connection.vendor == "postgresql":
        found = found.select_for_update(of=("self",))
    delivery = found.first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return  # delivered already, given up, or its endpoint was deleted
    if delivery.outbox_id is not None and delivery.outbox_id != message.pk:
        return  # not its current message (a stale or repeated one): the current one tries it
    number = delivery.attempts + 1
    at, started = timezone.now(), time.monotonic()
    status_code: int | None = None
    error, permanent = "", False
    try:
        status_code = _send(delivery).status_code
    except channels.DeliveryError as exc:
        status_code, error, permanent = exc.status_code, str(exc), exc.permanent
    except ValidationError as exc:  # the URL is no longer allowed
        error = "; ".join(exc.messages)
    except Exception as exc:  # SMTP and socket errors: logged as the attempt's error, retried
        error = f"{type(exc).__name__}: {exc}"
    duration = round((time.monotonic() - started) * 1000)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        at=at,
        ok=not error,
        status_code=status_code,
        error=error[:2000],
        duration_ms=duration,
    )
    delivery.attempts, delivery.last_error = number, error[:2000]
    if not error:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
    elif number >= conf.max_attempts() or permanent:
        delivery.status = Delivery.Status.FAILED  # out of attempts, or nobody left to send to
    else:
        _put(delivery, at=timezone.now() + datetime.timedelta(seconds=backoff_seconds(number)))
    delivery.save(update_fields=["attempts", "last_error", "status", "delivered_at", "updated_at"])


# --- digest -----------------------------------------------------------------------------------------------


def digest_send(*, workspace_id: int, now: datetime.datetime | None = None) -> int:
    """Queue each digest reader's e-mail of what they were notified of since their last digest (at most a
    day back the first time); returns how many digests were queued. Runs in the workspace's scope.

    Nothing is lost: each digest looks ``DIGEST_OVERLAP`` further back than the previous one ended (a row
    committed after a digest read, with an earlier time) and leaves out what an earlier digest carried; one
    with ``DIGEST_MAX_ITEMS`` items ends at its last item, so the next one goes on from there."""
    now = now or timezone.now()
    readers = Preference.objects.filter(
        workspace_id=workspace_id, mode=Preference.Mode.DIGEST, email=True, user__is_active=True
    ).select_related("user")
    queued = 0
    for preference in readers:
        since = preference.last_digest_at or now - datetime.timedelta(days=1)
        sent = {
            str(item.get("id"))
            for items in Delivery.objects.filter(
                user_id=preference.user_id, digest=True, due_at__gte=since - DIGEST_OVERLAP
            ).values_list("items", flat=True)
            for item in items
        }
        rows = list(
            Notification.objects.filter(
                workspace_id=workspace_id,
                user_id=preference.user_id,
                created_at__gt=since - DIGEST_OVERLAP,
                created_at__lte=now,
                severity__in=preference.severities or SEVERITIES,
            )
            .exclude(public_id__in=sent)
            .order_by("created_at", "pk")[:DIGEST_MAX_ITEMS]
        )
        items = [
            {
                "id": str(n.public_id),
                "kind": n.kind,
                "severity": n.severity,
                "title": n.title,
                "body": n.body,
                "link": n.link,
                "created_at": n.created_at.isoformat(),
            }
            for n in rows
        ]
        reached = rows[-1].created_at if len(rows) == DIGEST_MAX_ITEMS else now
        with transaction.atomic():
            if items:
                delivery = Delivery.objects.create(
                    workspace_id=workspace_id,
                    channel=Channel.EMAIL,
                    user_id=preference.user_id,
                    target=preference.user.email,
                    digest=True,
                    items=items,
                    due_at=now,
                )
                _put(delivery, at=now)
                queued += 1
            Preference.objects.filter(pk=preference.pk).update(last_digest_at=reached)
    return queued


# --- read marks -------------------------------------------------------------------------------------------


def _own(actor: Actor) -> Any:
    return Notification.objects.filter(workspace_id=actor.workspace_id, user_id=actor.user_id or 0)


def notification_read(*, actor: Actor, public_id: Any) -> Notification:
    """Mark one of the actor's own notifications read (another user's answers DoesNotExist: a 404)."""
    notification = _own(actor).get(public_id=public_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def notification_read_all(*, actor: Actor) -> int:
    return int(_own(actor).filter(read_at__isnull=True).update(read_at=timezone.now()))


# --- preferences ------------------------------------------------------------------------------------------


def preference_update(*, actor: Actor, severities: list[str], email: bool, mode: str) -> Preference:
    if actor.user_id is None:
        raise ValidationError("Only a user has notification preferences.")
    unknown = [s for s in severities if s not in SEVERITIES]
    if unknown or not severities:
        raise ValidationError({"severities": [f"Choose at least one of {', '.join(SEVERITIES)}."]})
    if mode not in Preference.Mode.values:
        raise ValidationError({"mode": [f"One of {', '.join(Preference.Mode.values)}."]})
    ordered = [s for s in SEVERITIES if s in severities]
    preference, _created = Preference.objects.update_or_create(
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        defaults={"severities": ordered, "email": email, "mode": mode},
    )
    return preference


# --- webhook endpoints ------------------------------------------------------------------------------------


def _endpoint_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    data = snapshot(endpoint)
    data.pop("secret", None)  # never in the audit trail
    if endpoint.kind == WebhookEndpoint.Kind.SLACK and "url" in data:
        data["url"] = channels.masked_url(str(data["url"]))  # a Slack URL's path is its secret
    return data


def _clean_endpoint(values: dict[str, Any]) -> dict[str, Any]:
    if "url" in values:
        values["url"] = channels.webhook_url_check(values["url"])
    if "kind" in values and values["kind"] not in WebhookEndpoint.Kind.values:
        raise ValidationError({"kind": [f"One of {', '.join(WebhookEndpoint.Kind.values)}."]})
    if "severities" in values and any(s not in SEVERITIES for s in values["severities"]):
        raise ValidationError({"severities": [f"Each one of {', '.join(SEVERITIES)}."]})
    if "name" in values and not str(values["name"]).strip():
        raise ValidationError({"name": ["Give the endpoint a name."]})
    return values


@transaction.atomic
def endpoint_create(*, actor: Actor, values: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """Admins: add an endpoint; returns it with its signing secret (shown once)."""
    actor.require(Perm.WORKSPACE_ADMIN)
    values = _clean_endpoint(dict(values))
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    endpoint = WebhookEndpoint.objects.create(workspace_id=actor.workspace_id, secret=secret, **values)
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=endpoint, after=_endpoint_view(endpoint)
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, actor: Actor, endpoint: WebhookEndpoint, values: dict[str, Any]) -> WebhookEndpoint:
    actor.require(Perm.WORKSPACE_ADMIN)
    values = _clean_endpoint(dict(values))
    before = _endpoint_view(endpoint)
    for key, value in values.items():
        setattr(endpoint, key, value)
    endpoint.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=endpoint,
        before=before,
        after=_endpoint_view(endpoint),
    )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> str:
    """Admins: a new signing secret (shown once); the old one stops signing at once."""
    actor.require(Perm.WORKSPACE_ADMIN)
    endpoint.secret = f"whsec_{secrets.token_urlsafe(32)}"
    endpoint.save(update_fields=["secret", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=endpoint,
        before={"secret": "(previous)"},
        after={"secret": "(rotated)"},
    )
    return endpoint.secret


@transaction.atomic
def endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    actor.require(Perm.WORKSPACE_ADMIN)
    audit_record(
        actor=actor, action=AuditEntry.Action.DELETE, instance=endpoint, before=_endpoint_view(endpoint)
    )
    endpoint.delete()
