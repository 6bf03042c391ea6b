"""``prm bench ingest``: events per second through ``POST /api/v1/events`` against a raw baseline.

N generated events (deterministic: 2,000 partners, the event-type mix of a real program, the last 365
days, content posts with reach/impressions) are sent in batches of 10,000:

* **ours** — each batch as the JSON body of a real request to the batch endpoint, through the whole WSGI
  stack in this process (middleware, bearer-token authentication, the ingestion service: per-event
  validation, the duplicate check, COPY / executemany, rollup deltas), into a fresh scratch workspace;
  (the rollups are then brought up to date as the job worker would; that time is reported apart);
* **baseline** — the same events as ready-made rows (partner ids resolved, times parsed, properties
  serialized: no validation, no duplicate check, no rollups) written with PostgreSQL ``COPY`` or SQLite
  ``executemany`` into the same ``activity_event`` table (with its indexes), a transaction per batch,
  into another scratch workspace.

Neither side counts building its input (the client's JSON, the baseline's rows). The two sides take
turns, batch by batch, so both write into a table of the same size.
Then every batch is sent again and the run fails unless the endpoint reports all of them as duplicates
and the table still holds exactly N events for the workspace. Scratch workspaces are deleted afterwards.
"""

from __future__ import annotations

import datetime
import json
import random
import time
import uuid
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from openprm.accounts.models import ApiToken, Membership, User
from openprm.accounts.services import token_create
from openprm.activity.models import (
    Event,
    PairedInterval,
    PartnerDay,
    PartnerMonth,
    RollupDirty,
    RollupState,
)
from openprm.activity.rollups import read, rollups_fold, rollups_refresh_pairs
from openprm.core.actors import Actor
from openprm.core.bulk import FastTable
from openprm.core.models import Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Partner, PartnerType
from openprm.partners.services import workspace_bootstrap

INGEST_TARGET = 0.5
BATCH = 10_000
TYPES = [  # (type, share)
    ("portal_login", 30),
    ("resource_download", 15),
    ("email_sent", 10),
    ("email_received", 9),
    ("meeting", 4),
    ("call", 3),
    ("training_started", 4),
    ("training_completed", 3),
    ("support_ticket_opened", 3),
    ("support_ticket_resolved", 3),
    ("content_post", 8),
    ("survey_response", 2),
    ("campaign_deliverable_submitted", 3),
    ("certification_earned", 3),
]
_COLUMNS = (
    "workspace_id",
    "partner_id",
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "direction",
    "value",
    "properties",
    "source",
)


def generate_events(count: int, *, partners: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` event objects as a client would send them (the same list for the same arguments)."""
    rng = random.Random(seed)
    keys = [key for key, _ in TYPES]
    weights = [share for _, share in TYPES]
    end = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    events: list[dict[str, Any]] = []
    types = rng.choices(keys, weights, k=count)
    for i, type_key in enumerate(types):
        at = end - datetime.timedelta(seconds=rng.randrange(365 * 86_400))
        event: dict[str, Any] = {
            "event_id": f"bench-{seed}-{i:09d}",
            "partner_external_id": f"BP-{rng.randrange(partners):05d}",
            "type": type_key,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
        }
        if type_key in ("meeting", "call"):
            event["direction"] = rng.choice(("inbound", "outbound"))
        elif type_key == "content_post":
            event["properties"] = {
                "reach": rng.randrange(100, 50_000),
                "impressions": rng.randrange(1_000, 200_000),
                "engagements": rng.randrange(10, 5_000),
                "network": rng.choice(("linkedin", "youtube", "instagram")),
            }
        elif type_key == "survey_response":
            event["value"] = rng.randrange(0, 11)
        elif type_key.startswith("support_ticket"):
            event["properties"] = {"ticket_id": f"T-{rng.randrange(count // 20 + 1)}"}
        events.append(event)
    return events


def _scratch(label: str, partners: int) -> tuple[Workspace, dict[str, int], str]:
    """A workspace with ``partners`` partners (BP-00000...) and a manager with an API token."""
    token = uuid.uuid4().hex[:10]
    with unscoped(), transaction.atomic():
        workspace = Workspace.objects.create(name=f"Bench {label} {token}", slug=f"bench-{label}-{token}")
        workspace_bootstrap(workspace=workspace)
        kind = PartnerType.objects.get(workspace=workspace, key="reseller")
        Partner.objects.bulk_create(
            Partner(workspace=workspace, external_id=f"BP-{i:05d}", name=f"Bench Partner {i}", type=kind)
            for i in range(partners)
        )
        ids = dict(Partner.objects.filter(workspace=workspace).values_list("external_id", "id"))
        user = User.objects.create_user(email=f"bench-{token}@bench.invalid", password=None)
        Membership.objects.create(workspace=workspace, user=user, role=Role.MANAGER)
    actor = Actor(workspace_id=workspace.pk, role=Role.MANAGER, user_id=user.pk, label="bench")
    with scope(actor.access_scope()):
        _, raw = token_create(actor=actor, name="bench")
    return workspace, {k: v for k, v in ids.items() if k}, raw


def _cleanup(workspaces: list[Workspace]) -> None:
    ids = [w.pk for w in workspaces]
    marks = ", ".join(["%s"] * len(ids))
    quote = connection.ops.quote_name
    with unscoped(), transaction.atomic():
        with connection.cursor() as cursor:
            for model in (Event, PartnerDay, PartnerMonth, PairedInterval, RollupDirty, RollupState):
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id IN ({marks})", ids)  # noqa: S608
        users = list(Membership.objects.filter(workspace_id__in=ids).values_list("user_id", flat=True))
        ApiToken.objects.filter(workspace_id__in=ids).delete()
        Membership.objects.filter(workspace_id__in=ids).delete()
        User.objects.filter(pk__in=users).delete()
        Partner.objects.filter(workspace_id__in=ids).delete()
        Workspace.objects.filter(pk__in=ids).delete()


def _baseline_rows(
    events: list[dict[str, Any]], workspace_id: int, partner_ids: dict[str, int]
) -> list[list[Any]]:
    now = timezone.now()
    return [
        [
            workspace_id,
            partner_ids[e["partner_external_id"]],
            e["event_id"],
            e["type"],
            datetime.datetime.fromisoformat(e["occurred_at"]),
            now,
            e.get("direction", ""),
            e.get("value"),
            json.dumps(e["properties"]) if "properties" in e else "{}",
            "api",
        ]
        for e in events
    ]


def _send(client: Client, body: bytes) -> dict[str, Any]:
    response = client.post("/api/v1/events", data=body, content_type="application/json")
    if response.status_code != 200:
        raise RuntimeError(f"The endpoint answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


def bench_ingest(
    *, rows: int = 1_000_000, keep: bool = False, repeat: int = 1, partners: int = 2_000
) -> dict[str, Any]:
    """Run the ingest benchmark on the current database; returns the JSON-ready result."""
    events = generate_events(rows, partners=partners)
    bodies = [json.dumps(events[i : i + BATCH]).encode() for i in range(0, rows, BATCH)]
    created: list[Workspace] = []
    try:
        base_ws, base_partners, _ = _scratch("ingest-baseline", partners)
        created.append(base_ws)
        ours_ws, _, raw_token = _scratch("ingest-ours", partners)
        created.append(ours_ws)

        table = FastTable(Event, _COLUMNS)
        position = _COLUMNS.index("properties")
        table.convert = [(p, fn) for p, fn in table.convert if p != position]
        batches = [
            _baseline_rows(events[i : i + BATCH], base_ws.pk, base_partners) for i in range(0, rows, BATCH)
        ]
        del events
        client = Client(headers={"Authorization": f"Bearer {raw_token}"})
        stored = 0
        baseline_seconds = ours_seconds = 0.0
        for batch, body in zip(batches, bodies, strict=True):
            started = time.perf_counter()
            with unscoped(), transaction.atomic():
                table.insert(batch)
            baseline_seconds += time.perf_counter() - started
            started = time.perf_counter()
            stored += _send(client, body)["stored"]
            ours_seconds += time.perf_counter() - started
        del batches

        started = time.perf_counter()
        resent = [_send(client, body) for body in bodies]
        resend_seconds = time.perf_counter() - started
        started = time.perf_counter()  # what the job worker does after the batches: fold their deltas
        folded = rollups_fold(workspace_id=ours_ws.pk)
        rollups_refresh_pairs(workspace_id=ours_ws.pk)
        fold_seconds = time.perf_counter() - started
        with unscoped():
            ours_count = Event.objects.filter(workspace=ours_ws).count()
            baseline_count = Event.objects.filter(workspace=base_ws).count()
            cells = PartnerDay.objects.filter(workspace=ours_ws).count()
        totals = read.stock(ours_ws.pk, metrics=[read.ALL_EVENTS], on_or_before=datetime.date.max).values()
        counted = sum(values.get(read.ALL_EVENTS, 0) for values in totals)
        duplicates = sum(r["duplicates"] for r in resent)
        restored = sum(r["stored"] for r in resent)
        if stored != rows or ours_count != rows or restored != 0 or duplicates != rows or counted != rows:
            raise RuntimeError(
                f"Lost or duplicated events: stored {stored}, table {ours_count}, re-sent stored {restored}, "
                f"duplicates {duplicates}, counted in rollups {counted} (expected {rows})."
            )
    finally:
        if created and not keep:
            _cleanup(created)
    ours_rate = rows / ours_seconds
    baseline_rate = rows / baseline_seconds
    return {
        "bench": "ingest",
        "database": connection.vendor,
        "events": rows,
        "batch": BATCH,
        "ours_events_per_s": round(ours_rate, 1),
        "baseline_events_per_s": round(baseline_rate, 1),
        "ratio": round(ours_rate / baseline_rate, 3),
        "target": INGEST_TARGET,
        "ours_seconds": round(ours_seconds, 3),
        "baseline_seconds": round(baseline_seconds, 3),
        "resend_seconds": round(resend_seconds, 3),
        "resend_stored": restored,
        "resend_duplicates": duplicates,
        "ours_events_stored": ours_count,
        "baseline_events_written": baseline_count,
        "worker_fold_seconds": round(fold_seconds, 3),
        "worker_batches_folded": folded,
        "rollup_rows": cells,
        "rollup_events_counted": int(counted),
        "partners": partners,
        "kept": keep,
    }
