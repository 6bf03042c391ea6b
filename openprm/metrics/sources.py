"""The engine's sources: which app answers which inputs, and how (see ``metrics.engine``).

Input names:

* activity (event rollups, ``activity.rollups.read``): the rollup metric names summed over the period
  (``events.<type>``, ``events.*``, ``value.<type>``, ``contact``, ``content.reach``, ``clicks``,
  ``conversions.<kind>``, ``reply.partner.count``…), and derived reads written ``kind:argument``:
  ``last:<m1>|<m2>`` — the latest day up to the period's end any of the metrics was non-zero;
  ``stock:<m>`` — the sum since ever up to the period's end; ``median:<interval kind>`` — the exact median
  seconds of replies or ticket resolutions ending in the period; ``first:<gauge>`` / ``final:<gauge>`` — the
  first and last value of a gauge (audience) reported in the period.
* deals (deal rollups, ``deals.rollups.read``): ``deals.*`` flows and ``pipeline.*`` stocks at the end.
* partners: ``partner.tenure_days`` (days from the partner's start date to the period's end, or None).
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.cache import cache

from openprm.activity.models import RollupState
from openprm.activity.rollups import read as activity_read
from openprm.deals.rollups import read as deals_read
from openprm.metrics.engine import TOTAL, Raw, Source
from openprm.metrics.periods import LATEST, Period
from openprm.partners.models import Partner

Fetched = dict[int, dict[str, Raw]]
AVAILABILITY_SECONDS = 300

# --------------------------------------------------------------------------------------------- activity

ACTIVITY_PREFIXES = (
    "events.",
    "value.",
    "contact",
    "content.",
    "clicks",
    "conversions.",
    "reply.",
    "ticket.",
    "deliverable.",
    "last:",
    "stock:",
    "median:",
    "first:",
    "final:",
)


def _add(into: dict[str, Raw], name: str, value: Decimal) -> None:
    current = into.get(name)
    into[name] = value if current is None else Decimal(str(current)) + value


def _activity_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    out: Fetched = {}
    total: dict[str, Raw] = {}
    plain = sorted(n for n in names if ":" not in n)
    if plain:
        found = activity_read.sums(
            workspace_id, start=period.start, end=period.end, metrics=plain, partner_ids=partner_ids
        )
        for partner_id, values in found.items():
            out.setdefault(int(partner_id), {}).update(values)
            for name, value in values.items():
                _add(total, name, value)
    for name in sorted(n for n in names if ":" in n):
        kind, _, argument = name.partition(":")
        if kind == "last":
            days = activity_read.last_days(
                workspace_id, metrics=argument.split("|"), on_or_before=period.end, partner_ids=partner_ids
            )
            for partner_id, day in days.items():
                out.setdefault(partner_id, {})[name] = day
            total[name] = max(days.values(), default=None)
        elif kind == "stock":
            stocks = activity_read.stock(
                workspace_id, metrics=[argument], on_or_before=period.end, partner_ids=partner_ids
            )
            for partner_id, values in stocks.items():
                value = values.get(argument, Decimal(0))
                out.setdefault(partner_id, {})[name] = value
                _add(total, name, value)
        elif kind == "median":
            medians = activity_read.interval_medians(
                workspace_id, kind=argument, start=period.start, end=period.end, partner_ids=partner_ids
            )
            for partner_id, seconds in medians.items():
                (total if partner_id == TOTAL else out.setdefault(partner_id, {}))[name] = seconds
        elif kind in ("first", "final"):
            ends = activity_read.gauge_ends(
                workspace_id, metric=argument, start=period.start, end=period.end, partner_ids=partner_ids
            )
            for partner_id, (first, final) in ends.items():
                value = first if kind == "first" else final
                out.setdefault(partner_id, {})[name] = value
                _add(total, name, value)
        else:
            raise LookupError(f"unknown activity input {name!r}")
    out[TOTAL] = total
    return out


def _underlying(name: str) -> list[str]:
    """The rollup metrics an activity input reads (``last:a|b`` reads a and b)."""
    if ":" not in name:
        return [name]
    kind, _, argument = name.partition(":")
    if kind == "last":
        return argument.split("|")
    if kind == "median":
        return [f"{argument}.count"]
    return [argument]


def _activity_available(workspace_id: int, names: set[str]) -> Collection[str]:
    """The inputs among ``names`` the workspace has any data for: those reading a rollup metric that was
    ever non-zero (cached for a few minutes per metric)."""
    metrics = {m for name in names for m in _underlying(name)}
    states = RollupState.objects.filter(workspace_id=workspace_id)
    state = states.values_list("filled_at", "rebuilt_at").first()
    version = hash(state)  # a fold or a rebuild since: ask again
    keys = {m: f"metrics:seen:{workspace_id}:{version}:{m}" for m in metrics}
    cached = cache.get_many(list(keys.values()))
    seen = {m for m, k in keys.items() if cached.get(k)}
    unknown = sorted(m for m, k in keys.items() if k not in cached)
    if unknown:
        stocks = activity_read.stock(workspace_id, metrics=unknown, on_or_before=LATEST, partner_ids=None)
        found = {m for values in stocks.values() for m, v in values.items() if v}
        cache.set_many({keys[m]: m in found for m in unknown}, AVAILABILITY_SECONDS)
        seen |= found
    return {name for name in names if any(m in seen for m in _underlying(name))}


# --------------------------------------------------------------------------------------------- deals


def _deals_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    found = deals_read.metric_inputs(
        workspace_id, partner_ids=partner_ids, start=period.start, end=period.end, names=names
    )
    return {int(k): dict(v) for k, v in found.items()}


def _deals_available(workspace_id: int, names: set[str]) -> Collection[str]:
    key = f"metrics:available:deals:{workspace_id}"
    found: set[str] | None = cache.get(key)
    if found is None:
        found = set(deals_read.input_availability(workspace_id))
        cache.set(key, found, AVAILABILITY_SECONDS)
    return names & found


# --------------------------------------------------------------------------------------------- partners

PARTNER_INPUTS = ("partner.tenure_days",)


def _partners_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    out: Fetched = {}
    starts = Partner.objects.filter(workspace_id=workspace_id, pk__in=list(partner_ids)).values_list(
        "pk", "start_date"
    )
    for partner_id, start in starts:
        if start is not None and start <= period.end:
            out[partner_id] = {"partner.tenure_days": (period.end - start).days + 1}
    tenures = [int(v["partner.tenure_days"]) for v in out.values()]  # type: ignore[arg-type]
    out[TOTAL] = {"partner.tenure_days": sum(tenures) / len(tenures) if tenures else None}
    return out


def _partners_available(workspace_id: int, names: set[str]) -> Collection[str]:
    return names & set(PARTNER_INPUTS)


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


SOURCES: list[Source] = [
    Source("activity", ACTIVITY_PREFIXES, _activity_fetch, _activity_available),
    Source("deals", ("deals.", "pipeline."), _deals_fetch, _deals_available),
    Source("partners", ("partner.",), _partners_fetch, _partners_available),
]
"""Every source, in the order they are asked (the first whose prefixes match answers an input)."""
