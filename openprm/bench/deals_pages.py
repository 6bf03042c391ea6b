"""`prm bench deals-pages`: the deal pages and endpoints at scale, against one indexed page query.

A dataset of N partners and M deals (default 2,000 / 200,000) is generated once into its own workspace,
found again by its slug (the marker: ``bench-deals-pages-<partners>-<deals>``) and reused by later runs;
deals are written with PostgreSQL ``COPY`` (SQLite: ``executemany``) and the tables are ANALYZEd. The
pipeline is believable: most deals closed (won or lost) over three years, open deals mostly recent, a
few awaiting a decision, 1 % of the deals on an open conflict, every partner enrolled with a tier.

Then each page and endpoint — deals table (and its program-pipeline panel, loaded after it), board,
pipeline review, ``GET /api/v1/deals?limit=100``, ``GET /api/v1/metrics/deals`` (the program's and one
partner's, read from the deal rollups, which the dataset rebuilds after copying the deals in; the
rebuild is timed too), a deal's page — is requested through the Django test client (the whole
stack but the socket) as a workspace admin, ``repeat`` times after one warm-up, and its p50/p95 are
compared with the p50 of the baseline: one indexed ``SELECT … ORDER BY registered_at DESC LIMIT 50`` of
the same deals. The target is every p95 ≤ 300 ms.
"""

from __future__ import annotations

import datetime
import random
import statistics
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from openprm.accounts.models import Membership, User
from openprm.accounts.services import token_create
from openprm.core.models import Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.deals.models import Deal, DealConflict, DealDayRollup, PipelineStage
from openprm.deals.rollups import rollups_rebuild
from openprm.deals.services import program_stages
from openprm.partners.models import Partner, PartnerProgram, PartnerType, Program, Tier
from openprm.partners.services import workspace_bootstrap

TARGET_MS = 300.0
BENCH_EMAIL = "bench-deals-pages-{token}@bench.invalid"


def _marker(partners: int, deals: int) -> str:
    return f"bench-deals-pages-{partners}-{deals}"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[index]


def _rows(
    *, workspace: Workspace, program: Program, partner_ids: list[int], deals: int, seed: int
) -> list[list[Any]]:
    """The deal rows (one list per deal, in ``_COLUMNS`` order), deterministic for a seed."""
    rng = random.Random(seed)
    stages = {s.key: s for s in program_stages(program=program)}
    open_keys = [s.key for s in stages.values() if s.outcome == "open"]
    now = timezone.now()
    sqlite = connection.vendor != "postgresql"
    rows = []
    for i in range(deals):
        roll = rng.random()
        registered = now - datetime.timedelta(seconds=rng.randrange(3 * 365 * 86_400))
        closed_at = None
        if roll < 0.45:
            key = "closed_won"
        elif roll < 0.75:
            key = "closed_lost"
        else:
            key = open_keys[min(len(open_keys) - 1, int(rng.random() ** 1.5 * len(open_keys)))]
            registered = now - datetime.timedelta(seconds=rng.randrange(150 * 86_400))
        if key.startswith("closed"):
            closed_at = min(now, registered + datetime.timedelta(days=rng.randrange(5, 200)))
            changed = closed_at
        else:
            changed = registered + (now - registered) * rng.random()
        approval = "approved"
        due = None
        if key in open_keys and rng.random() < 0.04:
            approval = "submitted"
            due = registered + datetime.timedelta(days=3)
        expected = (registered + datetime.timedelta(days=rng.randrange(20, 240))).date()
        company = f"Customer {rng.randrange(deals // 3 + 1):06d}"

        def stamp(moment: datetime.datetime | None) -> Any:
            if moment is None or not sqlite:
                return moment
            return str(moment.astimezone(datetime.UTC).replace(tzinfo=None))

        rows.append(
            [
                uuid.uuid4().hex if sqlite else uuid.uuid4(),
                stamp(now),
                stamp(now),
                workspace.pk,
                partner_ids[i % len(partner_ids)],
                program.pk,
                f"BENCH-{i:07d}",
                company,
                company.lower(),
                f"customer{i % 9973}.example",
                Decimal(rng.randrange(500_00, 250_000_00)) / 100,
                workspace.currency,
                "influenced" if i % 5 == 0 else "sourced",
                stages[key].pk,
                stamp(changed),
                approval,
                stamp(due),
                stamp(registered),
                stamp(registered if approval == "approved" else None),
                stamp(closed_at),
                expected,
                "Price" if key == "closed_lost" else "",
                "{}",
            ]
        )
    return rows


_COLUMNS = [
    "public_id",
    "created_at",
    "updated_at",
    "workspace_id",
    "partner_id",
    "program_id",
    "external_id",
    "customer_name",
    "customer_key",
    "customer_domain",
    "amount",
    "currency",
    "source",
    "stage_id",
    "stage_changed_at",
    "approval_status",
    "approval_due_at",
    "registered_at",
    "approved_at",
    "closed_at",
    "expected_close_date",
    "lost_reason",
    "properties",
]
_EMPTY_TEXT = [
    "title",
    "customer_domain_root",
    "contact_name",
    "contact_email",
    "description",
    "decision_note",
]


def _write_deals(rows: list[list[Any]]) -> None:
    quote = connection.ops.quote_name
    fields = {f.attname: f.column for f in Deal._meta.concrete_fields}
    names = [fields[n] for n in _COLUMNS + _EMPTY_TEXT]
    column_sql = ", ".join(quote(n) for n in names)
    table = quote(Deal._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([*row, *([""] * len(_EMPTY_TEXT))])
        else:
            marks = ", ".join(["%s"] * len(names))
            query = f"INSERT INTO {table} ({column_sql}) VALUES ({marks})"  # noqa: S608
            for start in range(0, len(rows), 5_000):
                cursor.executemany(
                    query, [[*row, *([""] * len(_EMPTY_TEXT))] for row in rows[start : start + 5_000]]
                )


def _analyze() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Deal, DealConflict, Partner, PartnerProgram, PipelineStage):
            # VACUUM too: a fresh COPY leaves the visibility map empty, so counts could not be index-only
            # (not possible inside a transaction, e.g. in tests: ANALYZE alone then).
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            cursor.execute(f"{verb} {connection.ops.quote_name(model._meta.db_table)}")


def dataset(*, partners: int, deals: int, seed: int = 7) -> tuple[Workspace, bool]:
    """The benchmark workspace for these sizes: reused when its marker and deal count match, else built.

    Returns (workspace, reused)."""
    marker = _marker(partners, deals)
    with unscoped():
        existing = Workspace.objects.filter(slug=marker).first()
        if existing is not None and Deal.objects.filter(workspace=existing).count() == deals:
            if not DealDayRollup.objects.filter(workspace=existing).exists():  # built before deal rollups
                rollups_rebuild(workspace_id=existing.pk)
            _analyze()
            return existing, True
        if existing is not None:  # a run interrupted while writing: start again
            from openprm.bench.deals_import import _delete_workspaces

            _delete_workspaces([existing.pk])
        with transaction.atomic():
            workspace = Workspace.objects.create(name=f"Bench deal pages {partners}/{deals}", slug=marker)
            workspace_bootstrap(workspace=workspace)
            program = Program.objects.get(workspace=workspace, is_default=True)
            program_stages(program=program)
            kind = PartnerType.objects.filter(workspace=workspace).order_by("pk").first()
            Partner.objects.bulk_create(
                (
                    Partner(
                        workspace=workspace,
                        external_id=f"BDP-{i:05d}",
                        name=f"Bench Partner {i:05d}",
                        type=kind,
                    )
                    for i in range(partners)
                ),
                batch_size=1_000,
            )
            partner_ids = list(
                Partner.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True)
            )
            tiers = list(Tier.objects.filter(program=program).order_by("pk"))
            PartnerProgram.objects.bulk_create(
                (
                    PartnerProgram(
                        workspace=workspace,
                        partner_id=pk,
                        program=program,
                        tier=tiers[i % len(tiers)] if tiers else None,
                    )
                    for i, pk in enumerate(partner_ids)
                ),
                batch_size=1_000,
            )
            _write_deals(
                _rows(workspace=workspace, program=program, partner_ids=partner_ids, deals=deals, seed=seed)
            )
            ids = list(Deal.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True))
            rng = random.Random(seed)
            pairs = {(rng.choice(ids), rng.choice(ids)) for _ in range(max(1, deals // 100))}
            DealConflict.objects.bulk_create(
                (
                    DealConflict(
                        workspace=workspace, deal_id=a, other_id=b, score=Decimal("0.9"), reasons=["name"]
                    )
                    for a, b in pairs
                    if a != b
                ),
                batch_size=5_000,
                ignore_conflicts=True,
            )
    rollups_rebuild(workspace_id=workspace.pk)  # the deals were copied in past the services
    _analyze()
    return workspace, False


def _bench_user(workspace: Workspace) -> User:
    email = BENCH_EMAIL.format(token=workspace.slug)
    with unscoped():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=uuid.uuid4().hex, full_name="Bench Admin")
        Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": Role.ADMIN})
    return user


def _baseline_query(workspace: Workspace) -> Callable[[], None]:
    table = connection.ops.quote_name(Deal._meta.db_table)
    sql = (
        f"SELECT * FROM {table} WHERE workspace_id = %s "  # noqa: S608
        "ORDER BY registered_at DESC, id DESC LIMIT 50"
    )

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [workspace.pk])
            cursor.fetchall()

    return run


def _timed(run: Callable[[], Any], repeat: int) -> list[float]:
    run()  # warm-up (connection, caches, template loading)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_deals_pages(*, partners: int = 2_000, deals: int = 200_000, repeat: int = 7) -> dict[str, Any]:
    """Build or reuse the dataset, then time every deal page/endpoint; returns the JSON-ready result."""
    started = time.perf_counter()
    workspace, reused = dataset(partners=partners, deals=deals)
    build_seconds = time.perf_counter() - started
    user = _bench_user(workspace)
    from openprm.testing import actor_for

    actor = actor_for(user)
    with scope(actor.access_scope()):
        _, raw = token_create(actor=actor, name="bench deals pages")
        sample = Deal.objects.order_by("-registered_at", "-id").values_list("public_id", flat=True).first()
        sample_partner = Partner.objects.order_by("pk").values_list("public_id", flat=True).first()
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    api = Client(headers={"Authorization": f"Bearer {raw}"})

    def get(client: Client, url: str, data: dict[str, Any] | None = None) -> Callable[[], None]:
        def run() -> None:
            response = client.get(url, data or {})
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")

        return run

    targets: dict[str, Callable[[], None]] = {
        "table": get(browser, "/deals/"),
        "table_filtered": get(browser, "/deals/", {"stalled": "1", "sort": "-amount"}),
        "table_summary_panel": get(browser, "/deals/", {"panel": "summary"}),
        "board": get(browser, "/deals/", {"view": "board"}),
        "review": get(browser, "/deals/review/"),
        "api_list": get(api, "/api/v1/deals", {"limit": 100}),
        "api_metrics": get(api, "/api/v1/metrics/deals"),
        "api_metrics_partner": get(api, "/api/v1/metrics/deals", {"partner": str(sample_partner)}),
        "detail": get(browser, f"/deals/{sample}/"),
    }
    baseline = statistics.median(_timed(_baseline_query(workspace), max(repeat, 15)))
    pages: dict[str, dict[str, float]] = {}
    # Static URLs without a collected manifest (the pages' cost is the same; `prm serve` collects them).
    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with unscoped():
        started = time.perf_counter()
        rollups_rebuild(workspace_id=workspace.pk)
        rebuild_seconds = time.perf_counter() - started
    for name, run in targets.items():
        with override_settings(STORAGES=plain):
            times = _timed(run, repeat)
        p50, p95 = statistics.median(times), _percentile(times, 0.95)
        pages[name] = {
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "ratio_p50": round(p50 / baseline, 1) if baseline else 0.0,
            "ratio_p95": round(p95 / baseline, 1) if baseline else 0.0,
        }
    worst = max(page["p95_ms"] for page in pages.values())
    return {
        "benchmark": "deals-pages",
        "database": connection.vendor,
        "partners": partners,
        "deals": deals,
        "dataset_reused": reused,
        "dataset_seconds": round(build_seconds, 1),
        "deal_rollups_rebuild_seconds": round(rebuild_seconds, 2),
        "repeat": repeat,
        "baseline_ms": round(baseline, 2),
        "pages": pages,
        "worst_p95_ms": worst,
        "target_p95_ms": TARGET_MS,
        "within_target": worst <= TARGET_MS,
    }
