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
* partners: ``partner.tenure_days`` (days from the partner's start date to the period's end, or None);
  ``partner.agreement_in_force`` (1 when an active or expiring agreement has started by the period's end
  and has not ended before it, or renews itself); ``partner.tier_rank_change`` (never available: tier
  changes are not recorded with their dates yet).
* finance (``finance.selectors.metric_inputs``): ``cost.*``, ``invoices.*``, ``sellthrough.*`` and
  ``company.revenue`` (workspace-level: repeated for every partner so a share reads per partner), with the
  pricing tolerance from the parameters; plus ``invoices.disputed`` and ``invoices.disputes_corrected``
  (invoices issued in the period that were disputed, and of those corrected), one grouped query here.
* customers (``customers.selectors.metric_inputs``): ``accounts.*``, ``renewals.*``, ``upsells.*``,
  ``csat.*`` and ``usage.*``.
* lifetime: ``lifetime:<deal input>`` — a deal flow summed from the beginning up to the period's end
  (the revenue won to date of the partner lifetime value).
* model: ``model.*`` — outputs of predictive models (churn risk); none is built yet, so never available.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Q, Sum

from openprm.activity.models import RollupState
from openprm.activity.rollups import read as activity_read
from openprm.activity.rollups.columns import GAUGES
from openprm.customers import selectors as customers_inputs
from openprm.deals.rollups import read as deals_read
from openprm.finance import selectors as finance_inputs
from openprm.finance.models import Invoice
from openprm.metrics.engine import TOTAL, Fetched, Raw, Source
from openprm.metrics.periods import EARLIEST, LATEST, Period
from openprm.partners.models import Agreement, AgreementStatus, Partner, TierChange

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
    "active:",
    "stock:",
    "median:",
    "first:",
    "final:",
    "survey.",
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
    stocks: dict[int, dict[str, Decimal]] | None = None
    for name in sorted(n for n in names if ":" in n):
        kind, _, argument = name.partition(":")
        if kind == "last":
            days = activity_read.last_days(
                workspace_id, metrics=argument.split("|"), on_or_before=period.end, partner_ids=partner_ids
            )
            for partner_id, day in days.items():
                out.setdefault(partner_id, {})[name] = day
            total[name] = max(days.values(), default=None)
        elif kind == "active":
            active = _active(workspace_id, partner_ids, [period], name, per_partner=True)[period.key]
            for key, active_values in active.items():
                (total if key == TOTAL else out.setdefault(key, {})).update(active_values)
        elif kind == "stock":
            if stocks is None:  # every stock input in one read
                wanted = sorted(n.partition(":")[2] for n in names if n.startswith("stock:"))
                stocks = activity_read.stock(
                    workspace_id, metrics=wanted, on_or_before=period.end, partner_ids=partner_ids
                )
            for partner_id, values in stocks.items():
                if argument not in values:
                    continue
                value = values[argument]
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


def _monthly(periods: Sequence[Period]) -> bool:
    """Whether every period is made of whole calendar months (months, quarters, years)."""
    return all(
        p.start.day == 1 and (p.end + datetime.timedelta(days=1)).day == 1 and p.start <= p.end
        for p in periods
    )


def _combine(kind: str, values: list[Any]) -> Any:
    """The latest of the days (``last``) or the sum of the stocks."""
    return max(values) if kind == "last" else sum(values, Decimal(0))


def _month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _activity_series(
    workspace_id: int,
    partner_ids: Sequence[int],
    periods: Sequence[Period],
    names: set[str],
    params: Mapping[str, Any],
    per_partner: bool,
) -> dict[str, Fetched] | None:
    """The activity inputs of periods made of whole months, month by month in one query per kind of
    read: sums grouped by (partner and) month and added up per period; the latest days (``last:``) and
    stocks (``stock:``) carried forward from what came before the first period. Medians and gauge ends
    are read period by period (they do not add up)."""
    if not _monthly(periods) or names & set(GAUGES):  # a gauge's largest value does not add up by month
        return None
    first, end = min(p.start for p in periods), max(p.end for p in periods)
    of_month = {}
    for p in periods:
        day = p.start
        while day <= p.end:
            of_month[day] = p.key
            day = (day + datetime.timedelta(days=32)).replace(day=1)
    out: dict[str, Fetched] = {p.key: {} for p in periods}
    by: activity_read.By = "partner_month" if per_partner else "month"

    def split(key: Any) -> tuple[int, datetime.date]:
        return (int(key[0]), key[1]) if per_partner else (TOTAL, key)

    plain = sorted(n for n in names if ":" not in n)
    if plain:
        found = activity_read.sums(
            workspace_id, start=first, end=end, metrics=plain, partner_ids=partner_ids, by=by
        )
        for key, values in found.items():
            partner_id, month = split(key)
            if month not in of_month:  # between two of the periods
                continue
            fetched = out[of_month[month]]
            for name, value in values.items():
                if partner_id != TOTAL:
                    _add(fetched.setdefault(partner_id, {}), name, value)
                _add(fetched.setdefault(TOTAL, {}), name, value)
    carried_kinds = ("last", "stock")
    rest = {n for n in names if ":" in n and n.partition(":")[0] not in (*carried_kinds, "active")}
    for name in sorted(n for n in names if n.startswith("active:")):
        for active_period, found_active in _active(
            workspace_id, partner_ids, periods, name, per_partner=per_partner
        ).items():
            for key, active_values in found_active.items():
                out[active_period].setdefault(key, {}).update(active_values)
    for name in sorted(n for n in names if n.partition(":")[0] in carried_kinds):
        kind, _, argument = name.partition(":")
        carried, months = _carried_reads(workspace_id, partner_ids, kind, argument, first, end, by)
        if not per_partner:  # the whole set's latest day, or stock, before the first period
            before_values = list(carried.values())
            carried = {TOTAL: _combine(kind, before_values) if before_values else None}
        by_month: dict[datetime.date, dict[int, Any]] = defaultdict(dict)
        for key, value in months.items():
            partner_id, month = (int(key[0]), key[1]) if per_partner else (TOTAL, key)
            by_month[month][partner_id] = value
        month = _month(first)
        while month <= end:
            for partner_id, value in by_month.get(month, {}).items():
                current = carried.get(partner_id)
                if kind == "stock":
                    carried[partner_id] = value + (current or Decimal(0))
                else:
                    carried[partner_id] = value if current is None else max(current, value)
            period_key = of_month.get(month)
            following = (month + datetime.timedelta(days=32)).replace(day=1)
            if period_key is not None and of_month.get(following) != period_key:  # the period's last month
                _emit(out[period_key], name, kind, carried)
            month = following
    if rest:
        for p in periods:
            for key, found_rest in _activity_fetch(workspace_id, partner_ids, p, rest, params).items():
                out[p.key].setdefault(key, {}).update(found_rest)
    return out


def _carried_reads(
    workspace_id: int,
    partner_ids: Sequence[int],
    kind: str,
    argument: str,
    first: datetime.date,
    end: datetime.date,
    by: activity_read.By,
) -> tuple[dict[int, Any], dict[Any, Any]]:
    """What a carried-forward input starts from (per partner, before ``first``) and its month groups from
    ``first`` to ``end``: the latest days (``last``) or the sums (``stock``)."""
    before = first - datetime.timedelta(days=1)
    if kind != "stock":
        metrics = argument.split("|")
        carried: dict[int, Any] = dict(
            activity_read.last_days(
                workspace_id, metrics=metrics, on_or_before=before, partner_ids=partner_ids
            )
        )
        months: dict[Any, Any] = activity_read.last_days_by(
            workspace_id, metrics=metrics, start=first, end=end, partner_ids=partner_ids, by=by
        )
        return carried, months
    stocks = activity_read.stock(
        workspace_id, metrics=[argument], on_or_before=before, partner_ids=partner_ids
    )
    sums = activity_read.sums(
        workspace_id, start=first, end=end, metrics=[argument], partner_ids=partner_ids, by=by
    )
    return (
        {k: v.get(argument, Decimal(0)) for k, v in stocks.items()},
        {k: v.get(argument, Decimal(0)) for k, v in sums.items()},
    )


def _emit(fetched: Fetched, name: str, kind: str, carried: dict[int, Any]) -> None:
    """A carried-forward input at a period's end, as the per-period fetch gives it."""
    total = fetched.setdefault(TOTAL, {})
    if kind == "last":
        live = {k: v for k, v in carried.items() if v is not None}
        for partner_id, day in live.items():
            if partner_id != TOTAL:
                fetched.setdefault(partner_id, {})[name] = day
        total[name] = max(live.values(), default=None)
    else:
        for partner_id, value in carried.items():
            if not value:
                continue
            if partner_id != TOTAL:
                fetched.setdefault(partner_id, {})[name] = value
            _add(total, name, value)


def _active(
    workspace_id: int, partner_ids: Sequence[int], periods: Sequence[Period], name: str, *, per_partner: bool
) -> dict[str, Fetched]:
    """``active:<window>:<m1>|<m2>…`` at the end of each period, per period key: 1 per partner with a day
    on which any of the metrics is non-zero within the window's days up to the period's end (with
    ``per_partner``), their count under TOTAL; one read for all the periods."""
    window, _, metrics = name.removeprefix("active:").partition(":")
    found = activity_read.active_at(
        workspace_id,
        metrics=metrics.split("|"),
        ends={p.end for p in periods},
        window=int(window),
        partner_ids=partner_ids,
    )
    out: dict[str, Fetched] = {}
    for period in periods:
        active = found[period.end]
        fetched: Fetched = {partner_id: {name: 1} for partner_id in active} if per_partner else {}
        fetched[TOTAL] = {name: len(active)}
        out[period.key] = fetched
    return out


def _underlying(name: str) -> list[str]:
    """The rollup metrics an activity input reads (``last:a|b`` reads a and b)."""
    if ":" not in name:
        return [name]
    kind, _, argument = name.partition(":")
    if kind == "last":
        return argument.split("|")
    if kind == "active":
        return argument.partition(":")[2].split("|")
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


def _deals_series(
    workspace_id: int,
    partner_ids: Sequence[int],
    periods: Sequence[Period],
    names: set[str],
    params: Mapping[str, Any],
    per_partner: bool,
) -> dict[str, Fetched]:
    """The deal inputs of each period, with the workspace and the rates of the whole range read once."""
    found = deals_read.inputs_of_periods(
        workspace_id, partner_ids=partner_ids, spans=[(p.start, p.end) for p in periods], names=names
    )
    return {p.key: {int(k): dict(v) for k, v in f.items()} for p, f in zip(periods, found, strict=True)}


def _deals_available(workspace_id: int, names: set[str]) -> Collection[str]:
    """Asked on every computation (an EXISTS and the pipeline's stages): a cached answer would read "no
    data" for minutes after a workspace's first deal."""
    return names & deals_read.input_availability(workspace_id)


# --------------------------------------------------------------------------------------------- partners

PARTNER_INPUTS = ("partner.tenure_days", "partner.agreement_in_force", "partner.tier_rank_change")
UNRECORDED: tuple[str, ...] = ()  # inputs a formula asks for that nothing records yet


def _partners_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    out: Fetched = {}
    if "partner.agreement_in_force" in names:
        _agreements(out, workspace_id, partner_ids, period)
    if "partner.tier_rank_change" in names:
        _tier_moves(out, workspace_id, partner_ids, period)
    if "partner.tenure_days" not in names:
        out.setdefault(TOTAL, {})
        return out
    starts = Partner.objects.filter(workspace_id=workspace_id, pk__in=list(partner_ids)).values_list(
        "pk", "start_date"
    )
    for partner_id, start in starts:
        if start is not None and start <= period.end:
            out.setdefault(partner_id, {})["partner.tenure_days"] = (period.end - start).days + 1
    tenures = [
        int(v["partner.tenure_days"])  # type: ignore[arg-type]
        for k, v in out.items()
        if k != TOTAL and "partner.tenure_days" in v
    ]
    out.setdefault(TOTAL, {})["partner.tenure_days"] = sum(tenures) / len(tenures) if tenures else None
    return out


def _agreements(out: Fetched, workspace_id: int, partner_ids: Sequence[int], period: Period) -> None:
    """``partner.agreement_in_force``: one query over the partners' live agreements at the period's end."""
    live = (AgreementStatus.ACTIVE, AgreementStatus.EXPIRING)
    found = (
        Agreement.objects.filter(workspace_id=workspace_id, partner_id__in=list(partner_ids), status__in=live)
        .filter(Q(start_date__isnull=True) | Q(start_date__lte=period.end))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=period.end) | Q(auto_renew=True))
        .order_by()
        .values_list("partner_id", flat=True)
        .distinct()
    )
    in_force = set(found)
    for partner_id in in_force:
        out.setdefault(partner_id, {})["partner.agreement_in_force"] = 1
    out.setdefault(TOTAL, {})["partner.agreement_in_force"] = len(in_force)


def _tier_moves(out: Fetched, workspace_id: int, partner_ids: Sequence[int], period: Period) -> None:
    """``partner.tier_rank_change``: the ranks moved between tiers in the period (up positive, down
    negative; joining or leaving a program is no move), summed over the partner's programs; 0 for a
    partner that did not move. One grouped query over the tier history."""
    moved = (
        TierChange.objects.filter(
            workspace_id=workspace_id,
            partner_id__in=list(partner_ids),
            changed_on__gte=period.start,
            changed_on__lte=period.end,
            from_rank__isnull=False,
            to_rank__isnull=False,
        )
        .order_by()
        .values("partner_id")
        .annotate(ranks=Sum(F("to_rank") - F("from_rank")))
        .values_list("partner_id", "ranks")
    )
    total = 0
    for partner_id, ranks in moved:
        out.setdefault(partner_id, {})["partner.tier_rank_change"] = ranks
        total += ranks
    out.setdefault(TOTAL, {})["partner.tier_rank_change"] = total


def _partners_available(workspace_id: int, names: set[str]) -> Collection[str]:
    found = names & {"partner.tenure_days"}
    if "partner.tier_rank_change" in names and TierChange.objects.filter(workspace_id=workspace_id).exists():
        found.add("partner.tier_rank_change")
    if "partner.agreement_in_force" in names and Agreement.objects.filter(workspace_id=workspace_id).exists():
        found.add("partner.agreement_in_force")
    return found


# --------------------------------------------------------------------------------------------- finance

FINANCE_PREFIXES = ("cost.", "invoices.", "sellthrough.", "company.")
WORKSPACE_LEVEL = ("company.revenue",)  # answered under TOTAL only: repeated for each partner here
DISPUTES = ("invoices.disputed", "invoices.disputes_corrected")


def _finance_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    found = finance_inputs.metric_inputs(
        workspace_id,
        partner_ids=partner_ids,
        start=period.start,
        end=period.end,
        names=names - set(DISPUTES),
        tolerance=Decimal(str(params["pricing_tolerance"])),
    )
    out: Fetched = {int(k): dict(v) for k, v in found.items()}
    total = out.setdefault(TOTAL, {})
    for name in WORKSPACE_LEVEL:
        if name in names and total.get(name) is not None:
            for partner_id in partner_ids:
                out.setdefault(partner_id, {})[name] = total[name]
    if names & set(DISPUTES):
        _disputes(out, workspace_id, partner_ids, period)
    return out


def _disputes(out: Fetched, workspace_id: int, partner_ids: Sequence[int], period: Period) -> None:
    """Invoices issued in the period that were disputed, and of those corrected: one grouped query."""
    rows = (
        Invoice.objects.filter(
            workspace_id=workspace_id,
            partner_id__in=list(partner_ids),
            issued_on__gte=period.start,
            issued_on__lte=period.end,
            disputed=True,
        )
        .values("partner_id")
        .order_by("partner_id")
        .annotate(disputed=Count("id"), corrected=Count("id", filter=Q(corrected=True)))
    )
    total = out.setdefault(TOTAL, {})
    for row in rows:
        values = {"invoices.disputed": row["disputed"], "invoices.disputes_corrected": row["corrected"]}
        out.setdefault(row["partner_id"], {}).update(values)
        for name, value in values.items():
            _add(total, name, Decimal(value))


def _finance_available(workspace_id: int, names: set[str]) -> Collection[str]:
    """One EXISTS per finance table (not cached: a first import shows at once)."""
    found = set(finance_inputs.input_availability(workspace_id))
    if "invoices.issued" in found:
        found |= set(DISPUTES)
    return names & found


# --------------------------------------------------------------------------------------------- customers

CUSTOMER_PREFIXES = ("accounts.", "renewals.", "upsells.", "csat.", "usage.")


def _customers_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    found = customers_inputs.metric_inputs(
        workspace_id, partner_ids=partner_ids, start=period.start, end=period.end, names=names
    )
    return {int(k): dict(v) for k, v in found.items()}


def _customers_available(workspace_id: int, names: set[str]) -> Collection[str]:
    """One EXISTS per customers table (not cached: a first import shows at once)."""
    return names & set(customers_inputs.input_availability(workspace_id))


# --------------------------------------------------------------------------------------------- lifetime


def _lifetime_fetch(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    """``lifetime:<deal input>``: the deal flow from the beginning up to the period's end."""
    underlying = {name.partition(":")[2]: name for name in names}
    found = deals_read.metric_inputs(
        workspace_id, partner_ids=partner_ids, start=EARLIEST, end=period.end, names=set(underlying)
    )
    return {
        int(k): {underlying[n]: v for n, v in values.items() if n in underlying}
        for k, values in found.items()
    }


def _lifetime_available(workspace_id: int, names: set[str]) -> Collection[str]:
    underlying = {name.partition(":")[2]: name for name in names}
    return {underlying[n] for n in _deals_available(workspace_id, set(underlying))}


def _never(
    workspace_id: int, partner_ids: Sequence[int], period: Period, names: set[str], params: Mapping[str, Any]
) -> Fetched:
    return {TOTAL: {}}


def _none_available(workspace_id: int, names: set[str]) -> Collection[str]:
    return set()


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


SOURCES: list[Source] = [
    Source("lifetime", ("lifetime:",), _lifetime_fetch, _lifetime_available),
    Source("activity", ACTIVITY_PREFIXES, _activity_fetch, _activity_available, _activity_series),
    Source("deals", ("deals.", "pipeline."), _deals_fetch, _deals_available, _deals_series),
    Source("unrecorded", UNRECORDED, _never, _none_available),
    Source("partners", ("partner.",), _partners_fetch, _partners_available),
    Source("finance", FINANCE_PREFIXES, _finance_fetch, _finance_available),
    Source("customers", CUSTOMER_PREFIXES, _customers_fetch, _customers_available),
    Source("model", ("model.",), _never, _none_available),
]
"""Every source, in the order they are asked (the first whose prefixes match answers an input)."""
