"""The metric engine: any catalogued metric, for any set of partners and any period, from summary tables only.

Every figure the product shows — pages, the API, exports, targets, scorecards, alerts, reports — comes from
:func:`compute`, so every figure agrees with every other. The path is::

    sources (rollups and small input tables) → inputs per partner → formulas (``metrics.kpis``) → values

* A **source** (``metrics.sources``) answers named *inputs* — sums, stocks, latest days, medians — per
  partner over a period, plus their aggregate over the whole set under :data:`TOTAL`, each with one grouped
  query over a rollup or a small table (never a scan of raw events or of all deals).
* A **formula** (:class:`Formula`) names the inputs it reads (which may depend on the effective-dated
  parameters, ``metrics.parameters``) and computes the value from them. The value for the whole set is the
  formula over the aggregated inputs (a win rate over all deals, not a mean of partners' win rates) unless
  the formula says otherwise (``total``).
* A metric whose inputs the workspace has never provided reads ``no data: needs …`` (:attr:`Value.missing`),
  never 0.

Closed periods (``metrics.closing``) are served from their snapshot by the selectors, not from here.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from openprm.metrics.periods import Period

TOTAL = 0
"""The key of the aggregate over the whole partner set (partner ids are positive)."""

Raw = Decimal | int | float | datetime.date | None


@dataclass(frozen=True)
class Inputs:
    """What a formula reads: the inputs of one partner (or of the whole set) over the period."""

    values: Mapping[str, Raw]
    period: Period
    params: Mapping[str, Any]
    partners: int = 1  # how many partners these inputs cover (the set's size for TOTAL)

    def __getitem__(self, name: str) -> Decimal:
        """An additive input as a Decimal (0 when the source had nothing for this partner)."""
        value = self.values.get(name)
        if value is None:
            return Decimal(0)
        if isinstance(value, Decimal):
            return value
        if isinstance(value, datetime.date):
            raise TypeError(f"input {name!r} is a date; read it with .raw()")
        return Decimal(str(value))

    def raw(self, name: str) -> Raw:
        """An input as the source gave it (None when absent): dates, medians."""
        return self.values.get(name)

    def total(self, names: Iterable[str]) -> Decimal:
        return sum((self[n] for n in names), Decimal(0))


InputNames = Callable[[Mapping[str, Any]], Collection[str]]


class Aggregate(StrEnum):
    """How the value over a set of partners is formed."""

    INPUTS = "inputs"  # the formula over the set's aggregated inputs (the default)
    SUM = "sum"  # the sum of the partners' values
    MEAN = "mean"  # the mean of the partners' values (a partner without a value is left out)
    MEDIAN = "median"
    NONE = "none"  # a per-partner figure only (e.g. a date)


@dataclass(frozen=True)
class Formula:
    """How one catalogued metric is computed: the inputs it reads and the arithmetic on them."""

    inputs: Collection[str] | InputNames
    compute: Callable[[Inputs], Raw]
    needs: str  # what the workspace must provide, as read in "no data: needs …"
    total: Aggregate = Aggregate.INPUTS
    required: Collection[str] | None = None  # inputs whose absence means "no data" (default: all of them)

    def names(self, params: Mapping[str, Any]) -> Collection[str]:
        return self.inputs(params) if callable(self.inputs) else self.inputs

    def required_names(self, params: Mapping[str, Any]) -> Collection[str]:
        return self.names(params) if self.required is None else self.required


@dataclass(frozen=True)
class Value:
    """One figure: the value, or why there is none."""

    value: Raw
    missing: str = ""  # "no data: needs …" when the workspace lacks the inputs
    late: Raw = None  # a closed period's live value when late data changed it (``metrics.closing``)
    adjusted: bool = False  # True when ``late`` holds a late adjustment (the live value may be None)

    @property
    def available(self) -> bool:
        return not self.missing


Fetched = dict[int, dict[str, Raw]]
Fetch = Callable[[int, Sequence[int], Period, set[str], Mapping[str, Any]], Fetched]
SeriesFetch = Callable[
    [int, Sequence[int], Sequence[Period], set[str], Mapping[str, Any], bool], dict[str, Fetched] | None
]


@dataclass(frozen=True)
class Source:
    """Where a family of inputs comes from (see ``metrics.sources``)."""

    key: str
    prefixes: tuple[str, ...]  # the inputs it answers: names starting with one of these
    fetch: Fetch  # (workspace_id, partner_ids, period, names, params) -> {partner_id | TOTAL: {name: value}}
    available: Callable[[int, set[str]], Collection[str]]  # which of the names the workspace has data for
    series: SeriesFetch | None = None
    """Optional: the inputs of several periods at once — (workspace_id, partner_ids, periods, names, params,
    per_partner) -> {period key: what ``fetch`` gives for it}; with ``per_partner`` False only TOTAL is
    needed. None (or answering None) when it cannot: the engine then fetches period by period."""

    def answers(self, name: str) -> bool:
        return name.startswith(self.prefixes)


@dataclass
class Table:
    """Values of some metrics for a set of partners and one period, plus the set's aggregate."""

    period: Period
    keys: tuple[str, ...]
    partner_ids: tuple[int, ...]
    rows: dict[int, dict[str, Value]] = field(default_factory=dict)
    inputs: dict[int, dict[str, Raw]] = field(default_factory=dict)

    def value(self, partner_id: int, key: str) -> Value:
        return self.rows.get(partner_id, {}).get(key) or Value(None)

    def total(self, key: str) -> Value:
        return self.value(TOTAL, key)


def _source_of(name: str, sources: Sequence[Source]) -> Source:
    for source in sources:
        if source.answers(name):
            return source
    raise LookupError(f"no source answers the input {name!r}")


def _aggregate(values: list[Raw], how: Aggregate) -> Raw:
    numbers = [v for v in values if v is not None and not isinstance(v, datetime.date)]
    if how == Aggregate.NONE or not numbers:
        return None
    decimals = [v if isinstance(v, Decimal) else Decimal(str(v)) for v in numbers]
    if how == Aggregate.SUM:
        return sum(decimals, Decimal(0))
    if how == Aggregate.MEAN:
        return sum(decimals, Decimal(0)) / len(decimals)
    return statistics.median(decimals)


def _wanted(
    formulas: Mapping[str, Formula],
    params: Mapping[str, Any],
    sources: Sequence[Source],
    *,
    required: bool = False,
) -> dict[Source, set[str]]:
    """The inputs the formulas read, by source (``required``: also the names whose absence means "no
    data", which a formula may require without reading them — asked for availability only)."""
    wanted: dict[Source, set[str]] = {}
    for formula in formulas.values():
        names = [*formula.names(params), *(formula.required_names(params) if required else ())]
        for name in names:
            wanted.setdefault(_source_of(name, sources), set()).add(name)
    return wanted


def _available(workspace_id: int, wanted: Mapping[Source, set[str]]) -> set[str]:
    available: set[str] = set()
    for source, names in wanted.items():
        available |= set(source.available(workspace_id, names))
    return available


def compute(
    *,
    workspace_id: int,
    formulas: Mapping[str, Formula],
    partner_ids: Sequence[int],
    period: Period,
    params: Mapping[str, Any],
    sources: Sequence[Source],
    totals: bool = True,
    per_partner: bool = True,
) -> Table:
    """The values of ``formulas`` (key → formula) for each of ``partner_ids`` and, with ``totals``, for
    the whole set (:data:`TOTAL`), over ``period``: one fetch per source that any formula needs.
    ``per_partner=False``: only the set's values are wanted (see :func:`compute_series`)."""
    wanted = _wanted(formulas, params, sources)
    fetched: Fetched = {}
    if partner_ids:
        for source, names in wanted.items():
            for key, values in source.fetch(workspace_id, partner_ids, period, names, params).items():
                fetched.setdefault(key, {}).update(values)
    available = _available(workspace_id, _wanted(formulas, params, sources, required=True))
    rows = per_partner or any(f.total != Aggregate.INPUTS for f in formulas.values())
    return _table(formulas, partner_ids, period, params, fetched, available, totals=totals, rows=rows)


def compute_series(
    *,
    workspace_id: int,
    formulas: Mapping[str, Formula],
    partner_ids: Sequence[int],
    periods: Sequence[Period],
    params: Callable[[Period], Mapping[str, Any]],
    sources: Sequence[Source],
    totals: bool = True,
    per_partner: bool = True,
) -> list[Table]:
    """:func:`compute` for each of ``periods`` (a trend) — the same values — with each source asked once
    for all the periods sharing their parameters when it can (``Source.series``; once per version when an
    effective-dated parameter changes during the trend), and the workspace's data availability asked once.

    ``per_partner=False``: only the set's values (:data:`TOTAL`) are wanted; the tables then hold no
    partner rows, unless a formula's set value is built from the partners' values (``Aggregate`` other
    than INPUTS), and the sources may answer the totals alone."""
    all_params = [params(p) for p in periods]
    rows = per_partner or any(f.total != Aggregate.INPUTS for f in formulas.values())
    wanted: dict[Source, set[str]] = {}  # what the sources are asked for
    asked: dict[Source, set[str]] = {}  # what availability is asked for (the required names too)
    for p in {id(x): x for x in all_params}.values():
        for source, names in _wanted(formulas, p, sources).items():
            wanted.setdefault(source, set()).update(names)
        for source, names in _wanted(formulas, p, sources, required=True).items():
            asked.setdefault(source, set()).update(names)
    available = _available(workspace_id, asked)
    fetched: dict[str, Fetched] = {p.key: {} for p in periods}
    groups: list[list[int]] = []  # the periods sharing their parameters (effective-dated versions)
    for index, period_params in enumerate(all_params):
        group = next((g for g in groups if all_params[g[0]] == period_params), None)
        if group is None:
            groups.append([index])
        else:
            group.append(index)
    if partner_ids and periods:
        for source, names in wanted.items():
            for group in groups:
                together = None
                if source.series is not None:
                    shared = [periods[i] for i in group]
                    together = source.series(
                        workspace_id, partner_ids, shared, names, all_params[group[0]], rows
                    )
                for i in group:
                    period = periods[i]
                    found = (
                        together.get(period.key, {})
                        if together is not None
                        else source.fetch(workspace_id, partner_ids, period, names, all_params[i])
                    )
                    into = fetched[period.key]
                    for key, values in found.items():
                        into.setdefault(key, {}).update(values)
    return [
        _table(formulas, partner_ids, p, pp, fetched[p.key], available, totals=totals, rows=rows)
        for p, pp in zip(periods, all_params, strict=True)
    ]


def _table(
    formulas: Mapping[str, Formula],
    partner_ids: Sequence[int],
    period: Period,
    params: Mapping[str, Any],
    fetched: Fetched,
    available: set[str],
    *,
    totals: bool,
    rows: bool,
) -> Table:
    """The values from the fetched inputs (``rows``: also each partner's)."""
    table = Table(period=period, keys=tuple(formulas), partner_ids=tuple(partner_ids))
    table.inputs = fetched
    missing = {key: f.needs for key, f in formulas.items() if not set(f.required_names(params)) <= available}
    if rows:
        for partner_id in partner_ids:
            inputs = Inputs(fetched.get(partner_id, {}), period, params)
            table.rows[partner_id] = {
                k: Value(None, f"no data: needs {missing[k]}") if k in missing else Value(f.compute(inputs))
                for k, f in formulas.items()
            }
    if totals:
        inputs = Inputs(fetched.get(TOTAL, {}), period, params, partners=len(partner_ids))
        row: dict[str, Value] = {}
        for k, f in formulas.items():
            if k in missing:
                row[k] = Value(None, f"no data: needs {missing[k]}")
            elif f.total == Aggregate.INPUTS:
                row[k] = Value(f.compute(inputs) if partner_ids else None)
            else:
                row[k] = Value(_aggregate([table.rows[p][k].value for p in partner_ids], f.total))
        table.rows[TOTAL] = row
    return table
