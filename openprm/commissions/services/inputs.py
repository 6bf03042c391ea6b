"""A rule's other inputs: what its conditions read besides the amount and the partner, recorded per
evaluation as a short fingerprint, so a run sees that they changed under an event evaluated before.

An evaluation records in its explanation (``inputs``) a 12-hex-digit hash of the values its version's
rules for the event test — a deal's or a conversion's ``product``, ``source``, ``program``,
``metadata.<key>``, ``customer.new`` and ``customer.months_since_first``, and the months since the
customer's first purchase where a rule pays recurring payments for N months — one hash per event, and
none when the rules test nothing of the kind. The amount, currency, moment and partner have checks of
their own (``corrections.revisit``); the partner's facts and lifetime amount are read as they were (the
tier on the event's day, from the partner's tier history: a promotion later does not rewrite what it
earned then; ``lifetime_review`` re-checks the lifetime amount).

How a run learns that they changed, as for an amount: a deal whose products, source or properties were
edited, or a conversion whose product, metadata, source or program was, is written again (its
``updated_at``), so the catch-up reads it and ``corrections.revisit`` compares the recorded fingerprint
(the latest of its evaluation's rows) with the current one; a sale that arrives late, or is re-dated,
rejected or moved, changes the customer facts of the same customer's later sales, which the run reads too
(``later_sales``: one query, only when some rule reads customer facts). An event whose fingerprint
differs is evaluated again through the engine like an amount correction (``periods.changed_rows``), and
the adjustments record the new fingerprint (``stamp``)."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from openprm.activity.models import Conversion
from openprm.commissions import engine
from openprm.commissions.engine.conditions import Cond
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import sources as src
from openprm.commissions.services.rows import POS

KEY = "inputs"  # the explanation's key
CUSTOMER = "customer"  # the customer key the facts were read for (with ``inputs``)
MONTHS = "customer_months"  # the recurring window's input (not a condition field)
SKIPPED = ("amount", "currency")
KIND = LedgerEntry.Kind
ZERO = Decimal(0)
CHUNK = 5000  # ids or keys per query
Run = tuple[bool, datetime.datetime | None, datetime.datetime | None, datetime.datetime | None]


def _fields(condition: Cond | None, out: set[str]) -> None:
    if condition is None:
        return
    if condition[0] == "cond":
        out.add(str(condition[1]))
        return
    for child in condition[1]:
        _fields(child, out)


def read_by(rules: Iterable[engine.CompiledRule]) -> tuple[str, ...]:
    """The other inputs ``rules`` read (sorted): condition fields that are not the amount, the currency
    or the partner's, and the customer's months when a rule pays recurring payments for N months."""
    names: set[str] = set()
    for rule in rules:
        _fields(rule.condition, names)
        if rule.recurring_months is not None:
            names.add(MONTHS)
    return tuple(sorted(n for n in names if n not in SKIPPED and not n.startswith("partner.")))


def _value(source: src.Source, name: str) -> Any:
    value = source.customer_months if name == MONTHS else source.fields.get(name)
    if isinstance(value, list | tuple):
        return sorted(str(v) for v in value)  # a deal's products: their order is no input
    return value


def fingerprint(source: src.Source, names: tuple[str, ...]) -> str | None:
    if not names:
        return None
    values = repr([(name, _value(source, name)) for name in names])
    return hashlib.blake2b(values.encode(), digest_size=6).hexdigest()


class Inputs:
    """Fingerprints for one run: the names each compiled version reads per event, computed once."""

    def __init__(self, versions: dict[int, engine.Plan] | None = None, ctx: Any = None) -> None:
        self.versions = versions or {}
        self.ctx = ctx  # the run's context: the plan that applies now (``plan_moved``)
        self._names: dict[tuple[int, str], tuple[str, ...]] = {}
        self._bound: dict[int, frozenset[int]] | None = None

    def of(
        self, source: src.Source, version_id: int | None, compiled: engine.Plan | None = None
    ) -> str | None:
        if version_id is None:
            return None
        names = self._names.get((version_id, source.event))
        if names is None:
            compiled = compiled or self.versions.get(version_id)
            rules = compiled.rules_for(source.event) if compiled is not None else ()
            names = self._names[(version_id, source.event)] = read_by(rules)
        return fingerprint(source, names) if names else None

    def current(self, source: src.Source, version_id: int | None) -> str | None:
        """The fingerprint now under the version its evaluation used; None (not compared) when that
        version is no longer compiled (its plan archived)."""
        if version_id is not None and self.ctx is not None and version_id not in self.versions:
            return None
        return self.of(source, version_id)

    def _programs(self) -> dict[int, frozenset[int]]:
        """The programs each program-bound plan applies to (the plan's own program, or the targets of
        assignments all at program level); unbound plans are left out."""
        if self._bound is None:
            targets: dict[int, set[int]] = {}
            other: set[int] = set()
            for _, _, _, plan_id, level, target in self.ctx.assignments if self.ctx is not None else ():
                if level == "program":
                    targets.setdefault(plan_id, set()).add(target)
                else:
                    other.add(plan_id)
            self._bound = {}
            for plan_id, info in (self.ctx.plans if self.ctx is not None else {}).items():
                if info.program_id:
                    self._bound[plan_id] = frozenset({info.program_id})
                elif plan_id in targets and plan_id not in other:
                    self._bound[plan_id] = frozenset(targets[plan_id])
        return self._bound

    def may_move(self, source: src.Source, plan_id: int | None) -> bool:
        """Whether another plan may apply to the source now: it is in a program its plan is not for (a
        conversion or deal moved to another program). A dict lookup, no query; an archived plan (not in
        the context) is never compared."""
        if self.ctx is None or plan_id is None or source.program_id is None:
            return False
        programs = self._programs().get(plan_id)
        return programs is not None and source.program_id not in programs

    def plan_moved(self, sources: list[src.Source], plans: dict[tuple[str, int, str], int]) -> set[int]:
        """The ids of ``sources`` (their evaluation's plan in ``plans``) to which another plan applies now
        (or none): their evaluation closes and a new generation is evaluated under the plan of now."""
        moving = [s for s in sources if self.may_move(s, plans.get((s.kind, s.id, s.event)))]
        if not moving:
            return set()
        ctx = self.ctx
        missing = {s.partner_id for s in moving} - set(ctx.partners)
        if missing:
            ctx.partners = {**ctx.partners, **src.partner_facts(ctx.workspace_id, missing)}
        out: set[int] = set()
        for s in moving:
            found = ctx.plan_for(s)
            if found is None or found[0].id != plans[(s.kind, s.id, s.event)]:
                out.add(s.id)
        return out


def for_context(ctx: Any) -> Inputs:
    """``Inputs`` over every published version of a run's context."""
    versions = {vid: compiled for versions in ctx.versions.values() for _, vid, compiled in versions}
    return Inputs(versions, ctx)


def recorded(workspace_id: int, kind: str, ids: Iterable[int]) -> dict[int, tuple[int | None, str]]:
    """The fingerprints the rows of these sources recorded: row id → (the row it corrects, fingerprint)."""
    out: dict[int, tuple[int | None, str]] = {}
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), 5000):
        rows = LedgerEntry.objects.filter(
            workspace_id=workspace_id,
            source_kind=kind,
            source_id__in=ordered[i : i + 5000],
            explanation__has_key=KEY,
        )
        for pk, reverses, value in rows.values_list("id", "reverses_id", f"explanation__{KEY}").order_by():
            out[pk] = (reverses, str(value))
    return out


def latest(found: dict[int, tuple[int | None, str]], entry_ids: set[int]) -> str | None:
    """The fingerprint an evaluation (its rows ``entry_ids``) stands at: its latest row's, or the latest
    correction's linked to them."""
    best: tuple[int, str] | None = None
    for pk, (reverses, value) in found.items():
        if (pk in entry_ids or reverses in entry_ids) and (best is None or pk > best[0]):
            best = (pk, value)
    return best[1] if best else None


def stamp(rows: list[list[Any]], now: dict[tuple[str, int, str], str]) -> list[list[Any]]:
    """Record the current fingerprint in the re-evaluation's rows of these sources (not the overrides)."""
    for row in rows:
        value = now.get((row[POS["source_kind"]], row[POS["source_id"]], row[POS["source_event"]]))
        explanation = row[POS["explanation"]]
        if value and row[POS["kind"]] != KIND.OVERRIDE and isinstance(explanation, dict):
            explanation[KEY] = value
    return rows


def _customer_keys(ws: int, rows: Any) -> tuple[list[str], list[str]]:
    """The customer ids and email hashes of these conversion rows, read into Python (one read), and the
    customers their evaluations recorded when another (a customer id edited: its old customer's sales)."""
    ids: set[str] = set()
    emails: set[str] = set()
    changed: list[int] = []
    values = rows.values_list("id", "customer_external_id", "customer_email_hash").order_by()
    for pk, external_id, email_hash in values:
        changed.append(pk)
        if external_id:
            ids.add(external_id)
        if email_hash:
            emails.add(email_hash)
    for i in range(0, len(changed), CHUNK):
        recorded_for = LedgerEntry.objects.filter(
            workspace_id=ws,
            source_kind="conversion",
            source_id__in=changed[i : i + CHUNK],
            kind__in=[KIND.ACCRUAL, KIND.BONUS],
            explanation__has_key=CUSTOMER,
        )
        for key in recorded_for.values_list(f"explanation__{CUSTOMER}", flat=True).distinct().order_by():
            if key and key not in ids and key not in emails:
                ids.add(str(key))  # an id or an email hash: looked up as both
                emails.add(str(key))
    return sorted(ids), sorted(emails)


def _customers_sales(ws: int, ids: list[str], emails: list[str]) -> set[int]:
    """The conversions of these customers: one lookup per key kind on its index (not an OR over both)."""
    found: set[int] = set()
    for field_name, keys in (("customer_external_id", ids), ("customer_email_hash", emails)):
        for i in range(0, len(keys), CHUNK):
            rows = Conversion.objects.filter(workspace_id=ws, **{f"{field_name}__in": keys[i : i + CHUNK]})
            found.update(rows.values_list("id", flat=True).order_by())
    return found


def later_sales(
    ctx: Any, convs: list[src.Source], run: Run, wanted: frozenset[str], conversion_ids: Any
) -> list[src.Source]:
    """The same customers' later sales evaluated before that the run does not read (their customer facts
    may have changed: a purchase arrived late, was re-dated, retyped, rejected or moved). Nothing when no
    rule reads customer facts or the run reads everything. Index reads only: the changed rows' customer
    keys, those customers' conversions, and their commission rows by source id."""
    only_ids, changed_after, start, end = run
    if not ctx.needs_customers() or (
        not only_ids and changed_after is None and start is None and end is None
    ):
        return []
    if only_ids and conversion_ids is None:
        return []
    ws = ctx.workspace_id
    # every kind, rejected ones too: a purchase retyped (a signup now) or rejected left its customer
    mine = Conversion.objects.filter(workspace_id=ws)
    if only_ids:
        mine = mine.filter(pk__in=list(conversion_ids))
    if start is not None:
        mine = mine.filter(occurred_at__gte=start)
    if end is not None:
        mine = mine.filter(occurred_at__lt=end)
    if changed_after is not None:
        mine = mine.filter(updated_at__gt=changed_after)
    evaluated = LedgerEntry.objects.filter(
        workspace_id=ws, source_kind="conversion", kind__in=[KIND.ACCRUAL, KIND.BONUS], reverses__isnull=True
    )
    if end is not None:  # the run read its window's sales: the later ones (none in a first accrual)
        evaluated = evaluated.filter(occurred_at__gte=end)
        if not evaluated.exists():
            return []
    customer_ids, emails = _customer_keys(ws, mine)
    read = {c.id for c in convs}
    theirs = sorted(_customers_sales(ws, customer_ids, emails) - read)
    ids: set[int] = set()
    for i in range(0, len(theirs), CHUNK):
        found = evaluated.filter(source_id__in=theirs[i : i + CHUNK])
        ids.update(
            x for x in found.values_list("source_id", flat=True).distinct().order_by() if x is not None
        )
    if not ids:
        return []
    return [
        s
        for s in src.conversions(ws, ids=sorted(ids), customers=True)
        if s.event != "refund" and s.event in wanted
    ]


def markers(
    changed: list[tuple[src.Source, Any]],
    now_inputs: dict[tuple[str, int, str], str],
    written: list[list[Any]],
    now: datetime.datetime,
) -> list[list[Any]]:
    """A zero adjustment recording the new fingerprint for each changed evaluation none of whose rows
    written now carries it (the change settled nothing, or only rules re-evaluated with their period
    moved): without it the event would be evaluated again on every run. Linked to the evaluation's
    first row, like its other corrections (``latest`` reads it)."""
    from openprm.commissions.services.corrections import _reversal

    stamped: set[tuple[str, int, str]] = set()
    for r in written:
        key3 = (r[POS["source_kind"]], r[POS["source_id"]], r[POS["source_event"]])
        if key3 not in now_inputs or key3 in stamped:
            continue
        explanation = r[POS["explanation"]]  # text once written (``rows.encode_json``)
        if isinstance(explanation, str):
            explanation = json.loads(explanation)
        if isinstance(explanation, dict) and explanation.get(KEY) == now_inputs[key3]:
            stamped.add(key3)
    rows: list[list[Any]] = []
    for source, evaluation in changed:
        key3 = (source.kind, source.id, source.event)
        value = now_inputs.get(key3)
        if value is None or key3 in stamped or not evaluation.anchors:
            continue
        anchor = evaluation.anchors[0]
        note = "other inputs changed: nothing to settle"
        row = _reversal(
            anchor, f"{evaluation.stem}:{anchor['rule_key'] or '-'}:mark{anchor['fixes']}", ZERO, now, note
        )
        anchor["fixes"] += 1
        row[POS["kind"]] = KIND.ADJUSTMENT
        row[POS["base_amount"]] = ZERO
        row[POS["explanation"]] = {KEY: value, "detail": note, "reverses": str(anchor["public_id"])}
        rows.append(row)
    return rows
