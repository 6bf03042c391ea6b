"""Benchmarks run by `prm bench NAME`: our code path against a raw baseline, side by side in one run.

``deals-import``: N generated canonical deal rows (deterministic) are imported twice into the same
``deals_deal`` table of the current database, each time into a fresh scratch workspace:

* **ours** — ``deals_import``, the service behind `prm import deals` and the import pages: parsing and
  validation of every cell, partner/stage/customer resolution, then the deals bulk service: the deal rows,
  their stage history, blocking keys, one audit entry per deal and the batched conflict check of the
  deals in play, in one transaction;
* **baseline** — the same file read with the ``csv`` module and only the conversions a valid row needs
  (partner and stage ids from dicts, ``Decimal``, ISO dates, a UUID), written with PostgreSQL ``COPY``
  (psycopg 3 ``cursor.copy()``) or SQLite ``executemany`` in batches of 1,000, in one transaction, into
  ``deals_deal`` alone: every column of the file, plus the other NOT NULL columns with their default or
  an empty value (the database assigns the ids).

Both timings include reading the file. The baseline runs first, so ours writes into the larger table.
Customers are drawn from a pool (real pipelines have several deals per customer), which is also what
keeps the cost of normalizing company names for the conflict index bounded. Each customer mostly buys
through its own partner, some deals (``OVERLAP``) go through another one; open deals are recent ones and
the newest may await a decision, so the conflict check finds rivals to score and conflicts to store
(``ours_conflicts_found``). Scratch workspaces and everything in them are deleted afterwards unless
``keep``.
"""

from __future__ import annotations

import csv
import datetime
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import scope, unscoped
from openprm.deals.models import (
    CustomerKey,
    Deal,
    DealConflict,
    DealCoSeller,
    DealLineItem,
    DealStageChange,
)
from openprm.deals.services import program_stages
from openprm.integrations.formats.deals import DEAL_COLUMNS
from openprm.integrations.services.deals import deals_import
from openprm.partners.models import Partner, PartnerType, Program
from openprm.partners.services import workspace_bootstrap

DEALS_TARGET = 0.3
OPEN_STAGES = [("registered", 35), ("qualified", 30), ("proposal_sent", 20), ("negotiating", 15)]
OPEN_HORIZON_DAYS = 120  # deals registered within this many days of the file's last day may still be open
OPEN_SHARE = 0.8  # ... and are, this often (the others closed); older ones are won or lost
PENDING_DAYS = 14  # open deals registered within this many days may still await a decision
PENDING_SHARE = 0.5  # ... and do, this often (an approval_status of submitted)
WON_SHARE = 0.6  # of closed deals
OVERLAP = 0.05  # share of a customer's deals registered by another partner than its own
DAYS = 700
SYLLABLES = [
    "ka", "lo", "mi", "ra", "zen", "tor", "vex", "quin", "dal", "bri", "sol", "tek", "nor", "vi", "lu",
    "mar", "phi", "gra", "den", "cor", "fin", "ly", "sa", "ter", "ox", "ul", "wen", "jo", "pri", "sto",
]  # fmt: skip
INDUSTRIES = [
    "Logistics", "Analytics", "Robotics", "Foods", "Textiles", "Energy", "Pharma", "Media", "Software",
    "Motors", "Dynamics", "Systems", "Consulting", "Retail", "Insurance", "Aerospace", "Labs", "Health",
]  # fmt: skip
SUFFIXES = ["GmbH", "Inc", "Ltd", "LLC", "SA", "AG", "Group", "Holdings", "Corp", "BV"]


def _customers(rng: random.Random, count: int, partners: int) -> list[tuple[str, str, int]]:
    """(name, domain, home partner) of ``count`` customers with distinct made-up brands; a third have no
    domain. Each customer mostly buys through its home partner."""
    brands: set[str] = set()
    pool: list[tuple[str, str, int]] = []
    while len(pool) < count:
        brand = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3))))
        if brand in brands:
            continue
        brands.add(brand)
        name = f"{brand.capitalize()} {rng.choice(INDUSTRIES)} {rng.choice(SUFFIXES)}"
        domain = f"{brand}.example" if len(pool) % 3 else ""
        pool.append((name, domain, rng.randrange(partners)))
    return pool


def _stage_and_status(rng: random.Random, age_days: int) -> tuple[str, str]:
    """A deal's stage and approval status (blank: approved) for its age: open deals are recent ones, and
    the newest of them may await a decision."""
    if age_days <= OPEN_HORIZON_DAYS and rng.random() < OPEN_SHARE:
        stage = rng.choices([k for k, _ in OPEN_STAGES], [w for _, w in OPEN_STAGES])[0]
        pending = age_days <= PENDING_DAYS and rng.random() < PENDING_SHARE
        return stage, "submitted" if pending else ""
    return ("closed_won" if rng.random() < WON_SHARE else "closed_lost"), ""


def generate_deals_csv(path: Path, *, rows: int, partners: int, customers: int, seed: int = 42) -> None:
    """Write ``rows`` canonical deal rows (the same file for the same arguments): several deals per
    customer over two years, most through the customer's own partner, some (``OVERLAP``) through
    another one, so that open deals of two partners for one customer make conflicts to find."""
    rng = random.Random(seed)
    pool = _customers(rng, customers, partners)
    start = datetime.date(2024, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*DEAL_COLUMNS, "approval_status"])
        for i in range(rows):
            name, domain, home = pool[rng.randrange(customers)]
            partner = rng.randrange(partners) if rng.random() < OVERLAP else home
            day = rng.randrange(DAYS)
            stage, status = _stage_and_status(rng, DAYS - 1 - day)
            registered = start + datetime.timedelta(days=day)
            closing = registered + datetime.timedelta(days=rng.randrange(5, 200))
            closed = stage.startswith("closed_")
            writer.writerow(
                [
                    f"BENCH-{i:08d}",
                    f"BP-{partner:05d}",
                    name,
                    domain,
                    f"{rng.randrange(100, 500_000)}.{rng.randrange(100):02d}",
                    "USD",
                    stage,
                    "influenced" if i % 5 == 0 else "sourced",
                    registered.isoformat(),
                    "" if closed else closing.isoformat(),
                    closing.isoformat() if closed else "",
                    "",
                    status,
                ]
            )


def _scratch_workspace(label: str, partners: int) -> tuple[Workspace, Program, dict[str, int]]:
    """A fresh workspace with its default program, stages and ``partners`` partners (BP-00000...)."""
    token = uuid.uuid4().hex[:10]
    with unscoped(), transaction.atomic():
        workspace = Workspace.objects.create(name=f"Bench {label} {token}", slug=f"bench-{label}-{token}")
        workspace_bootstrap(workspace=workspace)
        program = Program.objects.get(workspace=workspace, is_default=True)
        program_stages(program=program)
        reseller = PartnerType.objects.get(workspace=workspace, key="reseller")
        Partner.objects.bulk_create(
            Partner(workspace=workspace, external_id=f"BP-{i:05d}", name=f"Bench Partner {i}", type=reseller)
            for i in range(partners)
        )
        found = Partner.objects.filter(workspace=workspace).values_list("external_id", "id")
        ids = {external_id: pk for external_id, pk in found if external_id}
    return workspace, program, ids


def _delete_workspaces(workspace_ids: list[int]) -> None:
    """Delete the scratch workspaces and all their rows: raw deletes for the big tables, then the rest.

    Their audit entries too: on PostgreSQL a trigger refuses to delete audit entries, so it is disabled
    inside this transaction only (ALTER TABLE is transactional; no other session writes audit entries
    meanwhile, the table is locked). The one place that deletes audit entries: throwaway bench data."""
    quote = connection.ops.quote_name
    big = [CustomerKey, DealStageChange, DealLineItem, DealConflict, DealCoSeller, AuditEntry, Deal]
    marks = ", ".join(["%s"] * len(workspace_ids))
    audit = quote(AuditEntry._meta.db_table)
    with unscoped(), transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # checks deferred so far first: ALTER waits for none
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {audit} DISABLE TRIGGER core_auditentry_no_update")
            for model in big:
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id IN ({marks})", workspace_ids)  # noqa: S608
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {audit} ENABLE TRIGGER core_auditentry_no_update")
        Partner.objects.filter(workspace_id__in=workspace_ids).delete()  # before the types they protect
        Workspace.objects.filter(pk__in=workspace_ids).delete()


def _baseline(path: Path, workspace: Workspace, program: Program, partner_ids: dict[str, int]) -> int:
    """The raw loader: csv rows → minimal deal rows → COPY / executemany, one transaction."""
    stage_ids = {s.key: s.pk for s in program_stages(program=program)}
    columns = [
        "public_id",
        "created_at",
        "updated_at",
        "workspace_id",
        "partner_id",
        "program_id",
        "external_id",
        "title",
        "customer_name",
        "customer_key",
        "customer_domain",
        "customer_domain_root",
        "contact_name",
        "contact_email",
        "amount",
        "currency",
        "description",
        "source",
        "stage_id",
        "stage_changed_at",
        "approval_status",
        "decision_note",
        "registered_at",
        "lost_reason",
        "properties",
        "expected_close_date",
        "closed_at",
    ]
    quote = connection.ops.quote_name
    fields = {f.attname: f.column for f in Deal._meta.concrete_fields}
    column_sql = ", ".join(quote(fields[name]) for name in columns)
    table = quote(Deal._meta.db_table)
    now = timezone.now()
    sqlite = connection.vendor != "postgresql"
    now_value: Any = str(now.replace(tzinfo=None)) if sqlite else now
    properties: Any = "{}"
    if not sqlite:
        from psycopg.types.json import Jsonb

        properties = Jsonb({})
    ws, prog = workspace.pk, program.pk
    count = 0
    with transaction.atomic(), path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        with connection.cursor() as cursor:
            batch: list[list[Any]] = []

            def flush() -> None:
                if sqlite:
                    marks = ", ".join(["%s"] * len(batch[0]))
                    query = f"INSERT INTO {table} ({column_sql}) VALUES ({marks})"  # noqa: S608
                    cursor.executemany(query, batch)
                else:
                    with cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                batch.clear()

            def when(text: str) -> Any:
                if not text:
                    return None
                day = datetime.date.fromisoformat(text)
                moment = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
                return str(moment.replace(tzinfo=None)) if sqlite else moment

            for row in reader:
                ext, partner, name, domain, amount, currency, stage, source, registered, expected, closed = (
                    row[:11]
                )
                batch.append(
                    [
                        uuid.uuid4().hex if sqlite else uuid.uuid4(),
                        now_value,
                        now_value,
                        ws,
                        partner_ids[partner],
                        prog,
                        ext,
                        "",
                        name,
                        "",
                        domain,
                        "",
                        "",
                        "",
                        Decimal(amount),
                        currency,
                        "",
                        source,
                        stage_ids[stage],
                        now_value,
                        "submitted",
                        "",
                        when(registered),
                        "",
                        properties,
                        expected or None,
                        when(closed),
                    ]
                )
                if len(batch) >= 1000:
                    flush()
                count += 1
            if batch:
                flush()
    return count


@dataclass
class _Round:
    ours_seconds: float
    baseline_seconds: float
    ours_deals: int
    baseline_deals: int
    baseline_rows_read: int
    stage_changes: int
    keys: int
    conflicts: int
    audit_entries: int


def _deals_round(path: Path, partners: int, keep: bool) -> _Round:
    """One baseline run then one run of ours, each into its own fresh scratch workspace."""
    created: list[int] = []
    try:
        base_ws, base_program, base_partners = _scratch_workspace("baseline", partners)
        created.append(base_ws.pk)
        ours_ws, _, _ = _scratch_workspace("ours", partners)
        created.append(ours_ws.pk)

        started = time.perf_counter()
        with unscoped():
            rows_read = _baseline(path, base_ws, base_program, base_partners)
        baseline_seconds = time.perf_counter() - started

        actor = Actor.system(ours_ws.pk, label="bench")
        started = time.perf_counter()
        with scope(actor.access_scope()), path.open("rb") as stream:
            result = deals_import(actor=actor, stream=stream)
        ours_seconds = time.perf_counter() - started
        if result.refused or result.rejected:
            raise RuntimeError(f"The import refused the generated file: {result.errors[:3]}")

        with unscoped():
            return _Round(
                ours_seconds=ours_seconds,
                baseline_seconds=baseline_seconds,
                ours_deals=Deal.objects.filter(workspace=ours_ws).count(),
                baseline_deals=Deal.objects.filter(workspace=base_ws).count(),
                baseline_rows_read=rows_read,
                stage_changes=DealStageChange.objects.filter(workspace=ours_ws).count(),
                keys=CustomerKey.objects.filter(workspace=ours_ws).count(),
                conflicts=DealConflict.objects.filter(workspace=ours_ws).count(),
                audit_entries=AuditEntry.objects.filter(workspace=ours_ws, object_type="deals.deal").count(),
            )
    finally:
        if created and not keep:
            _delete_workspaces(created)


def bench_deals_import(
    *,
    rows: int = 100_000,
    keep: bool = False,
    repeat: int = 1,
    partners: int = 200,
    customers: int = 5_000,
) -> dict[str, Any]:
    """Run the deals-import benchmark on the current database; returns the JSON-ready result.

    With ``repeat`` > 1 both sides run that many times, alternating, each time into fresh workspaces
    (deleted in between, so the table does not grow); each side's best time is reported, which filters
    out the noise of a busy machine without favouring either side.
    """
    rounds: list[_Round] = []
    with tempfile.TemporaryDirectory(prefix="prm-bench-") as tmp:
        path = Path(tmp) / "deals.csv"
        generate_deals_csv(path, rows=rows, partners=partners, customers=customers)
        for number in range(max(1, repeat)):
            rounds.append(_deals_round(path, partners, keep=keep and number == repeat - 1))
    ours_seconds = min(r.ours_seconds for r in rounds)
    baseline_seconds = min(r.baseline_seconds for r in rounds)
    last = rounds[-1]
    ours_rate = rows / ours_seconds
    baseline_rate = rows / baseline_seconds
    return {
        "bench": "deals-import",
        "database": connection.vendor,
        "rows": rows,
        "ours_rows_per_s": round(ours_rate, 1),
        "baseline_rows_per_s": round(baseline_rate, 1),
        "ratio": round(ours_rate / baseline_rate, 3),
        "target": DEALS_TARGET,
        "ours_seconds": round(ours_seconds, 3),
        "baseline_seconds": round(baseline_seconds, 3),
        "repeat": len(rounds),
        "ours_seconds_all": [round(r.ours_seconds, 3) for r in rounds],
        "baseline_seconds_all": [round(r.baseline_seconds, 3) for r in rounds],
        "ours_deals_written": last.ours_deals,
        "baseline_deals_written": last.baseline_deals,
        "baseline_rows_read": last.baseline_rows_read,
        "ours_stage_changes_written": last.stage_changes,
        "ours_keys_written": last.keys,
        "ours_conflicts_found": last.conflicts,
        "ours_audit_entries_written": last.audit_entries,
        "partners": partners,
        "customers": customers,
        "kept": keep,
    }


def _bench_ingest(**options: Any) -> dict[str, Any]:
    from openprm.bench.ingest import bench_ingest

    return bench_ingest(**options)


def _bench_redirect(**options: Any) -> dict[str, Any]:
    from openprm.bench.redirect import bench_redirect

    return bench_redirect(**options)


BENCHES: dict[str, Callable[..., dict[str, Any]]] = {
    "deals-import": bench_deals_import,
    "ingest": _bench_ingest,
    "redirect": _bench_redirect,
}
