"""Copy the interaction log into activity events (one timeline, not two stores).

note → ``note``, call → ``call``, meeting → ``meeting``, e-mail → ``email_sent`` (outbound) /
``email_received`` (inbound); subject and body go into ``properties``; logged_by → ``actor_user``,
contact → ``actor_contact``; direction "internal" → ""; source "ui"; ``event_id`` "interaction-<public
id>" (so the interaction's public id keeps working in the API, and re-running adds nothing).

The daily rollups of the copied events are added here too (the logic is frozen below, as migrations must
not follow the live code); partners with messages are marked dirty so the job worker computes their
reply times (``activity.rollups.rollups_refresh_pairs``).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import migrations
from django.db.models import F

BATCH = 2000
CONTACT_TYPES = {"call", "meeting", "email_sent", "email_received"}
IMPLIED = {"email_sent": "outbound", "email_received": "inbound"}


def _type(kind: str, direction: str) -> str:
    if kind == "email":
        return "email_received" if direction == "inbound" else "email_sent"
    return kind


def forwards(apps: Any, schema_editor: Any) -> None:
    Interaction = apps.get_model("partners", "Interaction")
    Event = apps.get_model("activity", "Event")
    PartnerDayMetric = apps.get_model("activity", "PartnerDayMetric")
    RollupDirty = apps.get_model("activity", "RollupDirty")
    db = schema_editor.connection.alias
    sums: dict[tuple[int, int, datetime.date, str], int] = defaultdict(int)
    dirty: dict[tuple[int, int], datetime.date] = {}
    rows = Interaction.objects.using(db).order_by("pk").iterator(chunk_size=BATCH)
    batch: list[Any] = []

    def flush() -> None:
        existing = set(
            Event.objects.using(db)
            .filter(event_id__in=[e.event_id for e in batch])
            .values_list("workspace_id", "event_id")
        )
        fresh = [e for e in batch if (e.workspace_id, e.event_id) not in existing]
        Event.objects.using(db).bulk_create(fresh, batch_size=BATCH)
        for e in fresh:
            day = e.occurred_at.astimezone(datetime.UTC).date()
            key = (e.workspace_id, e.partner_id)
            sums[(*key, day, f"events.{e.type}")] += 1
            if e.type in CONTACT_TYPES:
                sums[(*key, day, "contact")] += 1
                if direction := e.direction or IMPLIED.get(e.type, ""):
                    sums[(*key, day, f"contact.{direction}")] += 1
                    dirty[key] = min(day, dirty.get(key, day))
        batch.clear()

    for i in rows:
        direction = "" if i.direction == "internal" else i.direction
        batch.append(
            Event(
                workspace_id=i.workspace_id,
                partner_id=i.partner_id,
                event_id=f"interaction-{i.public_id}",
                type=_type(i.kind, i.direction),
                occurred_at=i.occurred_at,
                received_at=i.created_at,
                actor_contact_id=i.contact_id,
                actor_user_id=i.logged_by_id,
                direction=direction,
                properties={"subject": i.subject, "body": i.body},
                source="ui",
            )
        )
        if len(batch) >= BATCH:
            flush()
    flush()

    for (workspace_id, partner_id, day, metric), value in sorted(sums.items()):
        cell = PartnerDayMetric.objects.using(db).filter(
            workspace_id=workspace_id, partner_id=partner_id, day=day, metric=metric
        )
        if not cell.update(value=F("value") + value):
            PartnerDayMetric.objects.using(db).create(
                workspace_id=workspace_id, partner_id=partner_id, day=day, metric=metric, value=Decimal(value)
            )
    for (workspace_id, partner_id), since in sorted(dirty.items()):
        entry = RollupDirty.objects.using(db).filter(workspace_id=workspace_id, partner_id=partner_id).first()
        if entry is None:
            RollupDirty.objects.using(db).create(
                workspace_id=workspace_id, partner_id=partner_id, since=since
            )
        elif since < entry.since:
            entry.since = since
            entry.save(update_fields=["since"])


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0004_program_attribution_and_activity_windows"),
        ("activity", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
