"""Accrual: sources → engine → ledger rows, batch-first and idempotent.

One run per workspace at a time (the workspace's ``AccrualState`` row is locked for the run), and every
row has a unique idempotency key, so two workers reading the same events never write a row twice. A
source already evaluated (its key stem in the ledger) is never evaluated again: late events are accrued
when they arrive, continuing the period's tiers and caps from the ledger; corrections produce new rows:

- a refund (a ``refund`` conversion with ``refund_of``) reverses the sale's commission and overrides at
  their own rate and FX, prorated by the refunded share (cumulative refunds reach exactly zero); after a
  payout the reversal is a clawback, approved at once and netted at the next payout;
- a source that no longer counts for its evaluation (a deal moved out of won, a rejected conversion, a
  conversion attributed to another partner, a currency corrected) has what it earned reversed; a deal won
  again, the new partner's conversion or the source in its new currency is evaluated as a new generation
  (its own keys, ``services.sources.stem``);
- a source whose amount changed (a won deal's, a sale's), or the other inputs its rules' conditions read
  (a deal's products, a conversion's metadata, the customer facts a late purchase moved:
  ``services.inputs``, a fingerprint per evaluation), is evaluated again through the engine with the
  version, FX rate and date of its rows; the differences are adjustments linked to them;
- the periods all these land in are re-evaluated from their start at the events' net amounts (tiers,
  thresholds and period caps; ``services.periods``); refunded volume does not count toward tiers and
  thresholds (``services.running.load_state`` nets it out, and sources that no longer count); the
  parents' overrides follow.

Every evaluated event gets rows, also when it earned nothing (a zero row whose explanation names the
rules and the conditions that failed); an event no plan applies to gets none.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from openprm.commissions import engine
from openprm.commissions.models import AccrualState, AccrualWaiting, LedgerEntry
from openprm.commissions.services import corrections, inputs, lifetime_review, periods, stale, waiting
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import Context, LifetimeFields, SourceFields, load_context
from openprm.commissions.services.corrections import deal_correction_rows, refund_rows, void_rows
from openprm.commissions.services.lifetime import EXPLAINED
from openprm.commissions.services.rows import (
    COLUMNS,
    EMPTY_LIST,
    JSON_COLUMNS,
    POS,
    as_json,
    collector_paused,
    encode_json,
    statistics_behind,
)
from openprm.commissions.services.rows import row as _row
from openprm.commissions.services.running import load_state
from openprm.core.bulk import FastTable, analyze_tables, uuid4_hex
from openprm.core.scoping import AccessScope, ScopeError, active_scope_or_none, scope

ZERO = Decimal(0)
KIND = LedgerEntry.Kind
STATE = LedgerEntry.State
_POS = POS


@dataclass(slots=True)
class AccrualResult:
    evaluated: int = 0
    rows: int = 0
    amount: Decimal = ZERO
    reversals: int = 0
    skipped_no_plan: int = 0
    missing_fx: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: dict[tuple[str, int], str] = field(default_factory=dict)  # (kind, id) → why

    def as_dict(self) -> dict[str, Any]:
        return {
            "evaluated": self.evaluated,
            "rows": self.rows,
            "amount": f"{self.amount:.2f}",
            "reversals": self.reversals,
            "skipped_no_plan": self.skipped_no_plan,
            "missing_fx": self.missing_fx[:20],
            "failed": self.failed[:20],
        }


class Fx:
    """FX for a run: the finance app's table (``finance.selectors.fx``) loaded once for the range."""

    def __init__(self, workspace_id: int, start: datetime.date, end: datetime.date) -> None:
        from openprm.finance.selectors import fx

        self.missing = fx.MissingRate
        self.table = fx.fx_table(workspace_id=workspace_id, start=start, end=end)

    def rate(self, base: str, quote: str, day: datetime.date) -> tuple[Decimal, datetime.date]:
        if base == quote or not base:
            return Decimal(1), day
        return self.table.rate(base, quote, day)


@contextmanager
def workspace_scope(workspace_id: int) -> Iterator[None]:
    """Run in the workspace's staff scope (jobs, CLI, tests call these services without one); inside an
    active scope it must be this workspace's and not a partner's."""
    active = active_scope_or_none()
    if active is None:
        with scope(AccessScope(workspace_id=workspace_id)):
            yield
        return
    if active.workspace_id != workspace_id or active.partner_id is not None:
        raise ScopeError("Accrual runs for the workspace, by staff or jobs")
    yield


def evaluate_sources(
    ctx: Context,
    todo: list[src.Source],
    state: engine.State,
    fx: Fx,
    now: datetime.datetime,
    result: AccrualResult,
) -> list[list[Any]]:
    """Rows (``[id, *COLUMNS]``, ids left None) for sources in engine order; advances ``state``.

    Per event only what varies is computed: the plan in force, the exchange rate, a row's constant
    columns (workspace, plan, version, state, ...) and the hold date are looked up per plan, partner, day;
    a row is a copy of its plan version's template with the event's columns set, and the explanation is
    encoded to JSON once the event is done (rows hold text, not trees of dicts)."""
    rows: list[list[Any]] = []
    plan_of: dict[tuple[int, int | None, datetime.date, tuple[int, ...]], Any] = {}
    rates: dict[tuple[str, str, datetime.date], tuple[Decimal, datetime.date]] = {}
    templates: dict[tuple[int, int], list[Any]] = {}
    holds: dict[tuple[datetime.date, int], tuple[datetime.date, datetime.date]] = {}
    nothing = (engine.Line("", KIND.ACCRUAL, engine.cents(ZERO), None),)
    fingerprints = inputs.Inputs()
    lifetime = ctx.lifetime
    if lifetime is not None:  # the partners' lifetime totals: read at the first lookup, all at once
        lifetime.expect({s.partner_id for s in todo})
    with collector_paused():
        for source in todo:
            at = source.occurred_at
            day = at.date()
            partner = ctx.partners.get(source.partner_id)
            where = (source.partner_id, source.program_id, day, partner.tier_state(at) if partner else ())
            found = plan_of.get(where, False)
            if found is False:
                found = plan_of[where] = ctx.plan_for(source)
            if found is None:
                result.skipped_no_plan += 1
                continue
            info, version_id, compiled = found
            base_ccy = source.currency or info.currency
            pair = (base_ccy, info.currency, day)
            known = rates.get(pair)
            if known is None:
                try:
                    known = rates[pair] = fx.rate(base_ccy, info.currency, day)
                except fx.missing as exc:
                    result.missing_fx.append(f"{source.key}: {exc}")
                    result.waiting[(source.kind, source.id)] = f"waiting for an exchange rate: {exc}"[:300]
                    continue
            rate, fx_day = known
            amount = source.amount * rate
            fields = (
                SourceFields(source, partner, amount)
                if lifetime is None
                else LifetimeFields(source, partner, amount, lifetime, info.currency)
            )
            facts = engine.Facts(
                event=source.event,
                partner_id=source.partner_id,
                day=day,
                amount=amount,
                fields=fields,
                customer_months=source.customer_months,
            )
            try:  # conditions are all tested before the state advances: a missing rate leaves it as it was
                outcome = engine.evaluate(compiled, facts, state)
            except fx.missing as exc:  # a sale in the partner's lifetime amount without its rate
                result.missing_fx.append(f"{source.key}: the partner's lifetime amount: {exc}")
                why = f"waiting for an exchange rate (the partner's lifetime amount): {exc}"
                result.waiting[(source.kind, source.id)] = why[:300]
                continue
            result.evaluated += 1
            if (seen := fingerprints.of(source, version_id, compiled)) is not None:
                outcome.explanation[inputs.KEY] = seen  # what its conditions read besides the amount
                if source.customer:  # whose facts they were: a customer id edited later is found again
                    outcome.explanation[inputs.CUSTOMER] = source.customer
            if lifetime is not None and isinstance(fields, LifetimeFields) and fields.lifetime_read:
                value = fields.lifetime_value
                outcome.explanation[EXPLAINED] = "unknown" if value is None else f"{value:.2f}"
            if rate != 1:
                fx_used = {"rate": f"{rate:f}", "date": fx_day.isoformat(), "from": base_ccy}
                outcome.explanation["fx"] = fx_used
            explained = as_json(outcome.explanation)
            template = templates.get((info.id, version_id))
            if template is None:
                template = templates[(info.id, version_id)] = _row(
                    workspace_id=ctx.workspace_id,
                    state=STATE.PENDING,
                    plan_id=info.id,
                    plan_version_id=version_id,
                    currency=info.currency,
                    note="",
                    created_at=now,
                )
            dates = holds.get((day, info.hold_days))
            if dates is None:
                dates = holds[(day, info.hold_days)] = (
                    day.replace(day=1),
                    day + datetime.timedelta(days=info.hold_days),
                )
            stem = source.key
            base = engine.cents(source.amount)
            for line in outcome.lines or nothing:
                suffix = line.rule_key or "-"
                if line.kind == KIND.ADJUSTMENT:
                    suffix += ":trueup"
                parent_row = template.copy()
                parent_row[POS["public_id"]] = uuid4_hex()
                parent_row[POS["partner_id"]] = source.partner_id
                parent_row[POS["kind"]] = line.kind
                parent_row[POS["source_kind"]] = source.kind
                parent_row[POS["source_id"]] = source.id
                parent_row[POS["source_event"]] = source.event
                parent_row[POS["idempotency_key"]] = f"{stem}:{suffix}"
                parent_row[POS["rule_key"]] = line.rule_key
                parent_row[POS["occurred_at"]] = at
                parent_row[POS["period"]], parent_row[POS["hold_until"]] = dates
                parent_row[POS["base_amount"]] = base if line.kind != KIND.ADJUSTMENT else ZERO
                parent_row[POS["base_currency"]] = base_ccy
                parent_row[POS["fx_rate"]] = rate
                parent_row[POS["fx_date"]] = fx_day
                parent_row[POS["amount"]] = line.amount
                parent_row[POS["rate"]] = line.rate
                parent_row[POS["caps"]] = as_json(list(line.caps))
                parent_row[POS["explanation"]] = explained
                rows.append(parent_row)
                result.amount += line.amount
                if not compiled.override_levels or not line.amount:
                    continue
                parents = ctx.parents_of(source.partner_id, day, len(compiled.override_levels))
                for (level, level_rate, value), parent in zip(
                    engine.override_amounts(compiled.override_levels, line.amount), parents, strict=False
                ):
                    override = parent_row.copy()
                    override[POS["public_id"]] = uuid4_hex()
                    override[POS["partner_id"]] = parent
                    override[POS["kind"]] = KIND.OVERRIDE
                    override[POS["idempotency_key"]] = f"{stem}:{suffix}:o{level}"
                    override[POS["base_amount"]] = line.amount
                    override[POS["amount"]] = value
                    override[POS["rate"]] = level_rate
                    override[POS["caps"]] = EMPTY_LIST
                    override[POS["explanation"]] = as_json(
                        {
                            "override": level,
                            "of_partner": source.partner_id,
                            "detail": f"{level_rate:f}% of a level-{level} sub-partner's {line.amount:.2f}",
                        }
                    )
                    override[POS["fx_rate"]] = Decimal(1)
                    override[POS["base_currency"]] = info.currency
                    override.append(parent_row)  # resolved to derived_from_id at write time
                    rows.append(override)
                    result.amount += value
    return rows


def write_rows(rows: list[list[Any]]) -> int:
    """Insert rows (COPY on PostgreSQL, executemany on SQLite); overrides get their parent's id."""
    if not rows:
        return 0
    with collector_paused():
        table = FastTable(LedgerEntry, COLUMNS, with_ids=True, encoded=JSON_COLUMNS)
        ids = table.ids(len(rows))
        for row, pk in zip(rows, ids, strict=True):
            row[0] = pk
        for row in rows:
            if len(row) > len(COLUMNS) + 1:  # an override: the parent row rides at the end
                row[_POS["derived_from_id"]] = row.pop()[0]
        encode_json(rows)
        table.insert(rows)
    # In the transaction: the next batch's reads of the ledger (evaluated keys, period state) are planned
    # on statistics that count these rows (a ledger the planner believes empty was scanned per key).
    if statistics_behind(rows):
        analyze_tables(LedgerEntry, rows=len(rows), in_transaction=True)
    return len(rows)


def write_corrections(workspace_id: int, rows: list[list[Any]], result: AccrualResult) -> list[list[Any]]:
    """Insert correction rows as ``ON CONFLICT (workspace, idempotency_key) DO NOTHING`` would (keys
    already in the ledger are left out), each source in its own savepoint: one source whose rows cannot be
    written is recorded in ``result.failed`` and the others go on. Returns the rows written."""
    if not rows:
        return []
    keys = [r[_POS["idempotency_key"]] for r in rows]
    taken = set(
        LedgerEntry.objects.filter(workspace_id=workspace_id, idempotency_key__in=keys)
        .values_list("idempotency_key", flat=True)
        .order_by()
    )
    by_source: dict[tuple[str, int], list[list[Any]]] = defaultdict(list)
    for r in rows:
        if r[_POS["idempotency_key"]] not in taken:
            by_source[(r[_POS["source_kind"]], r[_POS["source_id"]])].append(r)
    written: list[list[Any]] = []
    for (kind, source_id), group in by_source.items():
        try:
            with transaction.atomic():
                write_rows(group)
        except DatabaseError as exc:
            result.failed.append(f"{kind} {source_id}: {exc}"[:300])
            continue
        written.extend(group)
    return written


def _write_touching(
    workspace_id: int, rows: list[list[Any]], result: AccrualResult, touched: set[tuple[int, datetime.date]]
) -> list[list[Any]]:
    """``write_corrections``, noting the (partner, day) of every row (the periods to re-evaluate)."""
    touched.update((r[_POS["partner_id"]], r[_POS["occurred_at"]].date()) for r in rows)
    return write_corrections(workspace_id, rows, result)


def _lock(workspace_id: int) -> AccrualState:
    AccrualState.objects.get_or_create(workspace_id=workspace_id)
    return AccrualState.objects.select_for_update().get(workspace_id=workspace_id)


def accrue(
    *,
    workspace_id: int,
    conversion_ids: Iterable[int] | None = None,
    deal_ids: Iterable[int] | None = None,
    event_ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
    result: AccrualResult | None = None,
    retry_waiting: bool = False,
    firsts: src.FirstPurchases | None = None,
) -> AccrualResult:
    """Accrue the given sources (by ids, by occurrence range, or changed after a moment; all of them
    when nothing is given) in one transaction. Idempotent. Sources skipped for a missing exchange rate
    are kept in ``AccrualWaiting`` (``retry_waiting``: the given ids leave it first, and those still
    without a rate come back; ``firsts``: the customers' first purchases a range run read already)."""
    result = result or AccrualResult()
    earlier, result.waiting = result.waiting, {}
    now = timezone.now()
    with workspace_scope(workspace_id), transaction.atomic():
        _lock(workspace_id)
        if retry_waiting:
            for kind, ids in (("conversion", conversion_ids), ("deal", deal_ids), ("event", event_ids)):
                AccrualWaiting.objects.filter(
                    workspace_id=workspace_id, source_kind=kind, source_id__in=list(ids or [])
                ).delete()
        ctx = load_context(workspace_id)
        if ctx.empty:
            result.waiting = earlier
            return result
        wanted = ctx.events()
        only_ids = conversion_ids is not None or deal_ids is not None or event_ids is not None
        convs: list[src.Source] = []
        if not only_ids or conversion_ids is not None:
            convs = src.conversions(
                workspace_id,
                ids=conversion_ids,
                changed_after=changed_after,
                start=start,
                end=end,
                customers=ctx.needs_customers(),
                firsts=firsts.current(workspace_id, now) if firsts is not None else None,
            )
        run = (only_ids, changed_after, start, end)
        convs += inputs.later_sales(ctx, convs, run, wanted, conversion_ids)  # their customer facts moved
        deals: list[src.DealState] = []
        if not only_ids or deal_ids is not None:
            deals = src.deals(workspace_id, ids=deal_ids, changed_after=changed_after, start=start, end=end)
        custom = [e for e in wanted if e.startswith("custom:") or e in ("lead_accepted", "target_reached")]
        events: list[src.Source] = []
        if custom and (not only_ids or event_ids is not None):
            events = src.activity_events(
                workspace_id, types=custom, ids=event_ids, received_after=changed_after, start=start, end=end
            )
            events += stale.changed_events(  # edited since: re-read (their date, type, properties)
                workspace_id, types=custom, have=events, changed_after=changed_after, ids=event_ids
            )
        sales = [c for c in convs if c.event != "refund" and c.event in wanted]
        sales += [s for d in deals for s in d.sources if s.event in wanted] + events
        done = waiting.evaluated_keys(workspace_id, sales)
        evaluated = [s for s in sales if (s.kind, s.id, s.event) in done]
        again = corrections.revisit(workspace_id, evaluated, now, inputs.for_context(ctx))
        fresh = [s for s in sales if (s.kind, s.id, s.event) not in done]
        todo = sorted([*fresh, *again.renewed], key=lambda s: s.order)
        rows: list[list[Any]] = []
        if todo:
            ctx.partners = src.partner_facts(workspace_id, {s.partner_id for s in todo})
            days = [s.occurred_at.date() for s in todo]
            fx = Fx(workspace_id, min(days), max(days))
            rows = evaluate_sources(ctx, todo, load_state(ctx, todo), fx, now, result)
            written = write_rows(rows)
            result.rows += written
        refunds = [c for c in convs if c.event == "refund"]
        held: set[int] = set()
        if refunds or again.changed:  # a refund of a sale still waiting for its rate waits with it
            held = waiting.waiting_ids(workspace_id, "conversion") | {
                i for k, i in result.waiting if k == "conversion"
            }
            for r in refunds:
                if r.refund_of in held:
                    result.waiting[("conversion", r.id)] = "waiting for its sale's exchange rate"
            refunds = [r for r in refunds if r.refund_of not in held]
        waiting.update_waiting(workspace_id, [*todo, *refunds], result, now)
        # Sources that no longer count for their evaluation: reversed (moved, deal no longer won, rejected)
        closing = again.closing + deal_correction_rows(workspace_id, deals, now)
        rejected: list[int] = []
        if not only_ids or conversion_ids is not None:
            rejected = src.rejected_conversions(
                workspace_id, ids=conversion_ids, changed_after=changed_after, start=start, end=end
            )
            closing += void_rows(workspace_id, "conversion", rejected, now, "conversion rejected")
            closing += stale.closing_rows(  # attribution removed, type changed
                workspace_id,
                conversions=convs,
                sales=sales,
                evaluated=done,
                now=now,
                ids=conversion_ids,
                start=start,
                end=end,
                changed_after=changed_after,
                closing=closing,
            )
        if not only_ids or event_ids is not None:  # activity events deleted or retyped
            closing += stale.event_closing_rows(
                workspace_id, now=now, ids=event_ids, start=start, end=end, changed_after=changed_after
            )
        touched: set[tuple[int, datetime.date]] = set()
        fixed = _write_touching(workspace_id, closing, result, touched)
        # Amounts changed: evaluated again through the engine (rules without period state here), read
        # again after the closings (a rejected refund's rows given back are part of what they hold now)
        changed = lifetime_review.reread(workspace_id, again.changed) if fixed else again.changed
        rows = inputs.stamp(periods.changed_rows(ctx, changed, now), again.inputs)
        fixed += _write_touching(workspace_id, rows, result, touched)
        changed_sales = {s.id for s, _ in again.changed if s.kind == "conversion"}
        if changed_sales:  # their refunds are prorated again on what the sale now earns
            refunds += [
                r
                for r in src.conversions(workspace_id, refunds_of=changed_sales, customers=False)
                if r.refund_of not in held
            ]
        fixed += _write_touching(workspace_id, refund_rows(workspace_id, refunds, now), result, touched)
        # The periods all this lands in: re-evaluated from their start (tiers, thresholds, period caps)
        touched |= {(s.partner_id, s.occurred_at.date()) for s in again.renewed}
        touched |= {(s.partner_id, e.anchors[0]["occurred_at"].date()) for s, e in again.changed}
        if refunds and (only_ids or changed_after is not None):  # a re-read of everything: what it wrote
            touched |= periods.touched_by_refunds(workspace_id, {r.refund_of for r in refunds if r.refund_of})
        if ctx.lifetime is not None:  # later events whose partner's lifetime amount moved under them
            moved = lifetime_review.moved(
                workspace_id,
                convs=convs,
                deals=deals,
                written=touched,
                rejected=rejected,
                run=run,
            )
            rows = lifetime_review.lifetime_rows(ctx, moved, now, touched=touched)
            fixed += _write_touching(workspace_id, rows, result, touched)
            rows = lifetime_review.refunds_after(workspace_id, rows, now, held)  # prorated on those rows
            fixed += _write_touching(workspace_id, rows, result, touched)
        changed_keys = [(s.kind, s.id, s.event) for s, _ in again.changed]
        rows = inputs.stamp(periods.period_rows(ctx, touched, now, changed=changed_keys), again.inputs)
        fixed += write_corrections(workspace_id, rows, result)
        fixed += write_corrections(
            workspace_id, inputs.markers(again.changed, again.inputs, fixed, now), result
        )
        corrections_written = fixed
        result.reversals += len(corrections_written)
        result.rows += len(corrections_written)
        result.amount += sum((r[_POS["amount"]] for r in corrections_written), ZERO)
    result.waiting = {**earlier, **result.waiting}
    return result


def accrue_range(*, workspace_id: int, start: datetime.datetime, end: datetime.datetime) -> AccrualResult:
    """Accrue everything that occurred in ``[start, end)``, a month per transaction (bounded memory; the
    ledger carries tiers and caps from one month to the next). A customer's first purchase is looked up
    once per run while no conversion is written meanwhile (``sources.FirstPurchases``)."""
    result = AccrualResult()
    firsts = src.FirstPurchases()
    cursor = start
    while cursor < end:
        following = (cursor.replace(day=1) + datetime.timedelta(days=32)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        accrue(workspace_id=workspace_id, start=cursor, end=min(following, end), result=result, firsts=firsts)
        cursor = following
    return result


def has_published_plan(*, workspace_id: int) -> bool:
    from openprm.commissions.models import PlanVersion

    with workspace_scope(workspace_id):
        return PlanVersion.objects.filter(workspace_id=workspace_id, status="published").exists()


def accrual_workspaces() -> list[int]:
    """Workspaces with a published plan (the schedule's loop; the versions table is read unscoped)."""
    from openprm.commissions.models import PlanVersion
    from openprm.core.scoping import unscoped

    with unscoped():
        rows = PlanVersion.objects.filter(status="published").values_list("workspace_id", flat=True)
        return sorted(set(rows.order_by()))


OVERLAP = datetime.timedelta(hours=2)  # writes that may commit late (long imports), where none can be seen
MARGIN = datetime.timedelta(minutes=5)  # app and database clocks apart; an updated_at set before its BEGIN


def watermark(started: datetime.datetime) -> datetime.datetime:
    """Where the next catch-up reads from (``changed_after``) when this one starts at ``started``: a
    write still open now may commit after this run's reads with an earlier ``updated_at``. PostgreSQL
    says which transactions are open: from the oldest one's start (less ``MARGIN``), so after a large
    import the next runs no longer re-read every row it wrote for hours — at most ``OVERLAP`` back. Where
    that cannot be seen (SQLite; sessions of another database role, whose activity is hidden),
    ``OVERLAP`` back."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # not a view kept since the transaction began
            cursor.execute(
                "SELECT MIN(xact_start), COALESCE(bool_or(state IS NULL), FALSE) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
            oldest, hidden = cursor.fetchone()
        if not hidden:  # an open transaction older than OVERLAP moves it back no further than before
            return max(min(started, oldest or started) - MARGIN, started - OVERLAP)
    return started - OVERLAP


def accrue_catch_up(*, workspace_id: int) -> int:
    """The periodic and after-commit accrual: whatever changed since the last run's watermark (see
    ``watermark``; idempotency keys make re-reading harmless). Returns the rows written."""
    mark = watermark(timezone.now())
    with workspace_scope(workspace_id), transaction.atomic():
        state = _lock(workspace_id)
        since = state.deals_changed_after
    result = accrue(workspace_id=workspace_id, changed_after=since)
    with workspace_scope(workspace_id):
        waits = {k: sorted(waiting.waiting_ids(workspace_id, k)) for k in ("conversion", "deal", "event")}
    if any(waits.values()):  # sources skipped for a missing rate, until the rate exists
        accrue(
            workspace_id=workspace_id,
            conversion_ids=waits["conversion"],
            deal_ids=waits["deal"],
            event_ids=waits["event"],
            result=result,
            retry_waiting=True,
        )
    with workspace_scope(workspace_id), transaction.atomic():
        state = _lock(workspace_id)
        state.deals_changed_after = mark
        state.ran_at = timezone.now()
        state.save(update_fields=["deals_changed_after", "ran_at"])
    return result.rows


def vendor_supports_copy() -> bool:
    return connection.vendor == "postgresql"
