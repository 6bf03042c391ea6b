"""`prm demo --scale s|m`: a large, deterministic program for benchmarks and dashboards at scale.

Scale ``m`` is 2,000 partners, 200,000 deals and 5,000,000 events (plus referral clicks and conversions);
``s`` the same shape at a tenth of the partners. The counts of partners, deals and events are exact.

It is the small demo's program (the same partners, contacts, agreements, logins, programs and referral
traffic, from ``loader._Load``) with the volume written by the bulk paths:

* partners through the partners' bulk service (``PartnerBulkWriter``, as the small demo);
* deals through the deals' bulk service (``DealBulkWriter``), see ``scale_deals``;
* events generated a partner at a time and appended in chunks (``EVENT_CHUNK`` rows: COPY on PostgreSQL,
  ``executemany`` on SQLite), see ``scale_events``: no per-event validation or rollup queue — the rollups
  are rebuilt once at the end instead (``rollups_rebuild``), which gives the same table as increments;
* then the deal rollups (``deal_rollups_rebuild``: when the deals app provides a rebuild) and ANALYZE.

Everything up to the rollups is one transaction: a failed load leaves the workspace empty. Memory stays
bounded by a chunk of events and a batch of deals (plus the partners' plans), in the server too: foreign
keys are checked as each statement ends, not all at the commit.
"""

from __future__ import annotations

import datetime
import importlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from openprm.accounts.services import workspace_default
from openprm.activity.models import Event
from openprm.activity.rollups import rollups_rebuild
from openprm.core.bulk import analyze_tables
from openprm.core.models import AuditEntry, Workspace
from openprm.core.scoping import scope
from openprm.demo import deals as demo_deals
from openprm.demo.loader import DemoResult, _Load
from openprm.demo.partners import programs_ensure
from openprm.demo.people import logins_path, logins_write
from openprm.demo.rows import insert_rows
from openprm.demo.scale_deals import customer_names, deals_load
from openprm.demo.scale_events import EVENT_COLUMNS, budgets, event_rows
from openprm.partners.models import Contact, Partner, Program
from openprm.partners.services import workspace_bootstrap

EVENT_CHUNK = 50_000
ANALYZED_APPS = ("partners", "deals", "activity")  # every table of these: the load writes most of them


@dataclass(frozen=True)
class Scale:
    name: str
    partners: int
    deals: int
    events: int


SCALES = {
    "s": Scale("s", partners=200, deals=20_000, events=500_000),
    "m": Scale("m", partners=2_000, deals=200_000, events=5_000_000),
}


def deal_rollups_rebuild(workspace_id: int) -> bool:
    """The hook for the deals' rollups: rebuild them when ``openprm.deals.rollups`` offers
    ``rollups_rebuild(*, workspace_id)``; returns whether it did."""
    try:
        module = importlib.import_module("openprm.deals.rollups")
    except ImportError:
        return False
    rebuild = getattr(module, "rollups_rebuild", None)
    if rebuild is None:
        return False
    rebuild(workspace_id=workspace_id)
    return True


def _check_references_per_statement() -> None:
    """PostgreSQL checks Django's foreign keys (deferrable, initially deferred) at commit: millions of
    rows would queue tens of millions of checks in the server's memory until then. Checked as each
    statement ends instead, the queue holds one chunk's."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class _ScaleLoad(_Load):
    """The small demo's load, with the events and deals of a scale."""

    def scale_events(self, total: int) -> None:
        self.say(f"Generating {total:,} events…")
        when = connection.ops.adapt_datetimefield_value
        types: Counter[str] = Counter()
        shares = budgets(self.dice, self.plans, total)
        rows = event_rows(
            shares,
            rng=self.dice.rng,
            now=self.dice.now,
            workspace_id=self.workspace.pk,
            when=when,
            chunk=EVENT_CHUNK,
        )
        source = EVENT_COLUMNS.index("source")
        for chunk in rows:
            insert_rows(Event, EVENT_COLUMNS, chunk)
            types.update(row[source] for row in chunk)
            self.result.events += len(chunk)
        self.result.interactions = types["ui"]

    def scale_deals(self, total: int, managers: list[int], program: Program) -> None:
        self.say(f"Generating {total:,} deals…")
        analyze_tables(Partner, Contact, rows=len(self.plans) * 100, in_transaction=True)
        done = deals_load(
            actor=self.actor,
            program=program,
            partners=[
                demo_deals.DemoPartner(
                    partner=plan.partner,
                    status=plan.partner.status,
                    type_key=plan.type_key,
                    registrar_ids=[c.user.pk for c in plan.contacts if c.user is not None],
                )
                for plan in self.plans
            ],
            customers=customer_names(self.dice, size=max(600, total // 5)),
            owner_ids=managers,
            total=total,
            rng=self.dice.rng,
            now=self.dice.now,
        )
        self.result.deals, self.result.co_sellers = done.deals, done.co_sellers


def scale_load(
    *,
    scale: Scale,
    seed: int = 42,
    now: datetime.datetime | None = None,
    workspace: Workspace | None = None,
    logins_file: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Load a scale dataset into ``workspace`` (default: the default workspace; it should be empty)."""
    workspace = workspace or workspace_default()
    now = now or timezone.now()
    started = time.monotonic()
    say = progress or (lambda message: None)

    def timed(message: str) -> None:
        say(f"[{time.monotonic() - started:6.1f} s] {message}")

    load = _ScaleLoad(workspace=workspace, seed=seed, now=now, say=timed)
    result = load.result
    with transaction.atomic(), scope(load.actor.access_scope()):
        _check_references_per_statement()
        workspace_bootstrap(workspace=workspace)
        managers = load.staff_accounts()
        programs = programs_ensure(actor=load.actor)
        load.partners(scale.partners, managers, programs)
        load.scale_events(scale.events)
        load.scale_deals(scale.deals, managers, programs.default)
        load.referrals()
        timed("Committing…")
    timed("Building the activity rollups…")
    result.rollup_cells = rollups_rebuild(workspace_id=workspace.pk)
    if deal_rollups_rebuild(workspace.pk):
        timed("Built the deal rollups.")
    else:
        timed("No deal rollups to build (openprm.deals.rollups has no rollups_rebuild).")
    timed("Analyzing…")
    written = [m for label in ANALYZED_APPS for m in apps.get_app_config(label).get_models()]
    analyze_tables(*written, AuditEntry, rows=result.partners + result.events + result.deals)
    result.logins = load.logins
    result.logins_path = logins_file or logins_path()
    logins_write(result.logins_path, result.logins, seed=seed, now=now)
    timed("Done.")
    return result
