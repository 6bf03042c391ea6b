"""What the dashboards show, read through the metric engine (``metrics.figures``): every figure comes from
``figures.metric_table`` / ``figures.metric_series`` for the filtered partner set, so a dashboard agrees
with every other page. Each panel is a chart (``charts``) and/or a table (``tables``) for one set of
filters; the views serve a chart's option as a JSON data request and a table as CSV or XLSX.

Partner attributes (names, tier, type, region, start date) are read once for the set, never per figure.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.urls import reverse

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.dashboards import charts
from openprm.dashboards.charts import PERCENT, Chart, Unit, axis_chart, count, pie_chart
from openprm.dashboards.filters import COHORTS, DashboardFilters
from openprm.dashboards.tables import Column, Table
from openprm.deals.filters import DealFilters
from openprm.deals.selectors import deal_list
from openprm.deals.selectors.pipeline import stages_for
from openprm.metrics import engine, figures
from openprm.metrics.catalog import metric
from openprm.metrics.kpis.common import money
from openprm.metrics.kpis.deals import NEEDS as DEAL_NEEDS
from openprm.metrics.parameters import params_at
from openprm.metrics.periods import Period, parse_period
from openprm.metrics.sources import SOURCES
from openprm.partners.models import Partner, PartnerProgram
from openprm.partners.selectors import agreements_expiring
from openprm.scorecards.filters import TargetFilters
from openprm.scorecards.selectors import Progress, partner_targets, scorecard, target_list, target_progress

LEADERS = 10  # partners in the top and in the bottom list
LEADER_KEYS = ("won_revenue", "pipeline_value", "win_rate", "deal_count", "contacts")
ENGAGEMENT_KEYS = ("contacts", "meetings", "logins", "downloads")
COHORT_KEYS = (
    "won_revenue",
    "revenue_per_partner",
    "sourced_revenue",
    "pipeline_value",
    "win_rate",
    "average_won_deal_size",
    "active_partner_share",
    "contacts",
)
PARTNER_KEYS = (
    "won_revenue",
    "sourced_revenue",
    "influenced_revenue",
    "pipeline_value",
    "weighted_pipeline",
    "win_rate",
    "average_won_deal_size",
    "time_to_close_days",
    "deal_count",
    "contacts",
    "meetings",
    "logins",
)
CURRENCY_KEYS = {
    "won_revenue",
    "sourced_revenue",
    "influenced_revenue",
    "pipeline_value",
    "weighted_pipeline",
    "average_won_deal_size",
}
EXPIRING_DAYS = 90
TARGETS_SHOWN = 30
MISSING = "__missing__"
NO_TIER = "No tier"
NO_REGION = "No region"
NO_START = "No start date"


@dataclass
class Panel:
    """One block of a dashboard: a chart, a table, or both."""

    key: str
    chart: Chart | None = None
    table: Table | None = None


def currency_of(actor: Actor) -> str:
    return str(Workspace.objects.filter(pk=actor.workspace_id).values_list("currency", flat=True).get())


def _label(key: str) -> str:
    return metric(key).label


def _v(value: engine.Value) -> Any:
    return value.value


# --------------------------------------------------------------------------------------------- partners


@dataclass(frozen=True)
class PartnerInfo:
    name: str
    public_id: str
    type: str
    region: str
    start_date: datetime.date | None
    tiers: tuple[str, ...]  # "Program · Tier" per enrolment (of the filtered program only, when set)


def partner_infos(*, ids: Sequence[int], program: str = "") -> dict[int, PartnerInfo]:
    """The attributes the dashboards group and name partners by, for ``ids`` (already scoped by
    ``figures.partner_ids``): two queries whatever the number of partners."""
    if not ids:
        return {}
    tiers: dict[int, list[str]] = defaultdict(list)
    enrolments = PartnerProgram.objects.filter(partner_id__in=ids).order_by("program_id")
    if program:
        enrolments = enrolments.filter(program__public_id=program)
    for partner_id, tier in enrolments.values_list("partner_id", "tier__name"):
        tiers[partner_id].append(tier or NO_TIER)
    rows = Partner.objects.filter(pk__in=ids).values_list(
        "pk", "name", "public_id", "type__label", "region", "start_date"
    )
    return {
        pk: PartnerInfo(
            name, str(public_id), kind or "", region or "", start, tuple(tiers.get(pk, [NO_TIER]))
        )
        for pk, name, public_id, kind, region, start in rows
    }


def region_list(*, actor: Actor) -> list[str]:
    """The regions of the partners the actor sees (the filter bar's choices)."""
    del actor  # the active access scope narrows Partner to the actor's partners
    regions = Partner.objects.exclude(region="").order_by("region").values_list("region", flat=True)
    return list(regions.distinct())


def _partner_url(info: PartnerInfo) -> str:
    return reverse("dashboards:partner", args=[info.public_id])


# --------------------------------------------------------------------------------------------- trends


def _months(f: DashboardFilters) -> list[Period]:
    return f.trend_periods()


def _trend_table(
    key: str, title: str, months: Sequence[Period], columns: Sequence[Column], values: Sequence[Sequence[Any]]
) -> Table:
    rows = [[month.key, *[series[i] for series in values]] for i, month in enumerate(months)]
    return Table(key=key, title=title, columns=[Column("Month"), *columns], rows=rows)


def _series(
    actor: Actor, f: DashboardFilters, keys: Sequence[str], partners: Sequence[int] | None = None
) -> tuple[list[Period], dict[str, list[Any]]]:
    """The 12 months of the trend and each key's value for the whole set per month; under the key
    ``MISSING``, the engine's "no data: needs …" of the first key the workspace has no inputs for."""
    months = _months(f)
    tables = figures.metric_series(
        actor=actor, keys=keys, periods=months, filters=f.partners(), partners=partners
    )
    values: dict[str, list[Any]] = {key: [t.total(key).value for t in tables] for key in keys}
    last = tables[-1] if tables else None
    values[MISSING] = (
        [next((last.total(k).missing for k in keys if last.total(k).missing), "")] if last else [""]
    )
    return months, values


def _empty(values: dict[str, list[Any]], message: str) -> str:
    """What an empty chart says: the engine's "no data: needs …" when that is why, else ``message``."""
    missing = values.get(MISSING, [""])[0]
    return f"{missing[:1].upper()}{missing[1:]}." if missing else message


def revenue_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    """Partner-sourced and partner-influenced won revenue per month (stacked)."""
    currency = currency_of(actor)
    keys = ("sourced_revenue", "influenced_revenue")
    months, values = _series(actor, f, keys, partners)
    unit = Unit.currency(currency)
    chart = axis_chart(
        title="Partner revenue by month",
        subtitle="Won deals, by the day they were won",
        categories=[m.label for m in months],
        series=[(_label(k), values[k]) for k in keys],
        unit=unit,
        x_name="Month",
        kind="bar",
        stack=True,
        empty=_empty(
            values, "No won partner deals in these 12 months. Register or import deals, or widen the filters."
        ),
    )
    table = _trend_table(
        "revenue",
        "Partner revenue by month",
        months,
        [Column.of(k, currency) for k in keys],
        [values[k] for k in keys],
    )
    return Panel("revenue", chart, table)


def win_rate_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    keys = ("win_rate", "won_count", "lost_count")
    months, values = _series(actor, f, keys, partners)
    chart = axis_chart(
        title="Win rate by month",
        subtitle="Won ÷ (won + lost), deals closed in the month",
        categories=[m.label for m in months],
        series=[(_label("win_rate"), values["win_rate"])],
        unit=PERCENT,
        x_name="Month",
        empty=_empty(
            values,
            "No deals were won or lost in these 12 months. Close deals (won or lost) to see the win rate.",
        ),
    )
    table = _trend_table(
        "win_rate", "Win rate by month", months, [Column.of(k) for k in keys], [values[k] for k in keys]
    )
    return Panel("win_rate", chart, table)


def active_share_panel(actor: Actor, f: DashboardFilters) -> Panel:
    keys = ("active_partner_share", "active_partners", "enrolled_partners")
    months, values = _series(actor, f, keys)
    chart = axis_chart(
        title="Active-partner share by month",
        subtitle="Partners with a qualifying activity in the program's active window",
        categories=[m.label for m in months],
        series=[(_label("active_partner_share"), values["active_partner_share"])],
        unit=PERCENT,
        x_name="Month",
        empty=_empty(values, "No partner was active in these 12 months. Record activities or import them."),
    )
    table = _trend_table(
        "active_share",
        "Active-partner share by month",
        months,
        [Column.of(k) for k in keys],
        [values[k] for k in keys],
    )
    return Panel("active_share", chart, table)


def engagement_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    months, values = _series(actor, f, ENGAGEMENT_KEYS, partners)
    chart = axis_chart(
        title="Engagement by month",
        subtitle="Contacts, meetings, portal logins and downloads",
        categories=[m.label for m in months],
        series=[(_label(k), values[k]) for k in ENGAGEMENT_KEYS],
        unit=count("events"),
        x_name="Month",
        empty=_empty(
            values, "No partner activity in these 12 months. Log interactions or send events to the API."
        ),
    )
    table = _trend_table(
        "engagement",
        "Engagement by month",
        months,
        [Column.of(k) for k in ENGAGEMENT_KEYS],
        [values[k] for k in ENGAGEMENT_KEYS],
    )
    return Panel("engagement", chart, table)


# --------------------------------------------------------------------------------------------- pipeline


def _open_stages(actor: Actor, f: DashboardFilters) -> list[tuple[str, str]]:
    """(key, name) of the open pipeline stages, in board order, once per key (programs share keys)."""
    stages = stages_for(actor=actor).filter(outcome="open")
    if f.program:
        stages = stages.filter(program__public_id=f.program)
    seen: dict[str, str] = {}
    for key, name in stages.values_list("key", "name"):
        seen.setdefault(key, name)
    return list(seen.items())


def _stage_formula(name: str, compute: Callable[[engine.Inputs], engine.Raw]) -> engine.Formula:
    return engine.Formula(inputs=(name,), compute=compute, needs=DEAL_NEEDS)


def _money_of(name: str) -> Callable[[engine.Inputs], engine.Raw]:
    return lambda inputs: money(inputs[name])


def _count_of(name: str) -> Callable[[engine.Inputs], engine.Raw]:
    return lambda inputs: int(inputs[name])


def pipeline_by_stage(
    actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None
) -> tuple[list[tuple[str, str]], engine.Table]:
    """The open pipeline at the period's end split by stage: the catalog's ``pipeline_value`` and
    ``open_count`` restricted to one stage each, from the deal rollups' stage inputs
    (``pipeline.stage.<key>.amount`` / ``.count``) through the engine."""
    stages = _open_stages(actor, f)
    formulas: dict[str, engine.Formula] = {}
    for key, _ in stages:
        amount, number = f"pipeline.stage.{key}.amount", f"pipeline.stage.{key}.count"
        formulas[f"{key}.amount"] = _stage_formula(amount, _money_of(amount))
        formulas[f"{key}.count"] = _stage_formula(number, _count_of(number))
    period = f.period_value
    visible = figures.partner_ids(actor=actor, filters=f.partners())
    ids = visible if partners is None else sorted(set(partners) & set(visible))
    table = engine.compute(
        workspace_id=actor.workspace_id,
        formulas=formulas,
        partner_ids=ids,
        period=period,
        params=params_at(actor.workspace_id, period.start),
        sources=SOURCES,
    )
    return stages, table


def pipeline_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    currency = currency_of(actor)
    stages, found = pipeline_by_stage(actor, f, partners)
    amounts = [found.total(f"{key}.amount").value for key, _ in stages]
    counts = [found.total(f"{key}.count").value for key, _ in stages]
    period = f.period_value
    chart = axis_chart(
        title="Open pipeline by stage",
        subtitle=f"Open deals at the end of {period.label}",
        categories=[name for _, name in stages],
        series=[(_label("pipeline_value"), amounts)],
        unit=Unit.currency(currency),
        x_name="Stage",
        kind="bar",
        every_label=True,
        empty=_empty(
            {MISSING: [found.total(f"{stages[0][0]}.amount").missing if stages else ""]},
            "No open deals at the end of the period. Register deals or pick a later period.",
        ),
    )
    table = Table(
        key="pipeline",
        title="Open pipeline by stage",
        columns=[Column("Stage"), Column.of("open_count"), Column.of("pipeline_value", currency)],
        rows=[[name, n, a] for (_, name), n, a in zip(stages, counts, amounts, strict=True)],
    )
    return Panel("pipeline", chart, table)


# --------------------------------------------------------------------------------------------- leaders


def _leaders(actor: Actor, f: DashboardFilters) -> tuple[engine.Table, dict[int, PartnerInfo], list[int]]:
    table = figures.metric_table(
        actor=actor, keys=LEADER_KEYS, period=f.period_value, filters=f.partners(), totals=False
    )

    def rank(pid: int) -> tuple[Decimal, Decimal, int]:
        revenue = table.value(pid, "won_revenue").value or 0
        pipeline = table.value(pid, "pipeline_value").value or 0
        return Decimal(str(revenue)), Decimal(str(pipeline)), -pid

    ordered = sorted(table.partner_ids, key=rank, reverse=True)
    chosen = ordered[:LEADERS] + [p for p in ordered[-LEADERS:] if p not in ordered[:LEADERS]]
    return table, partner_infos(ids=chosen, program=f.program), ordered


def _leader_table(
    key: str,
    title: str,
    ids: Sequence[int],
    found: engine.Table,
    infos: dict[int, PartnerInfo],
    currency: str,
) -> Table:
    columns = [Column("Partner"), Column("Tier"), *[Column.of(k, currency) for k in LEADER_KEYS]]
    rows, links = [], []
    for pid in ids:
        info = infos[pid]
        rows.append([info.name, ", ".join(info.tiers), *[found.value(pid, k).value for k in LEADER_KEYS]])
        links.append(_partner_url(info))
    return Table(
        key=key,
        title=title,
        columns=columns,
        rows=rows,
        links=links,
        empty="No partners match these filters.",
    )


def top_partners_panel(actor: Actor, f: DashboardFilters) -> Panel:
    currency = currency_of(actor)
    found, infos, ordered = _leaders(actor, f)
    top = ordered[:LEADERS]
    chart = axis_chart(
        title=f"Top {LEADERS} partners by won revenue",
        subtitle=f.period_value.label,
        categories=[infos[p].name for p in top],
        series=[(_label("won_revenue"), [found.value(p, "won_revenue").value for p in top])],
        unit=Unit.currency(currency),
        x_name="Partner",
        kind="bar",
        horizontal=True,
        empty=_empty(
            {MISSING: [found.value(top[0], "won_revenue").missing if top else ""]},
            "No partner won a deal in this period. Pick a longer period or check the filters.",
        ),
    )
    table = _leader_table("top_partners", f"Top {LEADERS} partners", top, found, infos, currency)
    return Panel("top_partners", chart, table)


def bottom_partners_panel(actor: Actor, f: DashboardFilters) -> Panel:
    currency = currency_of(actor)
    found, infos, ordered = _leaders(actor, f)
    bottom = list(reversed(ordered[-LEADERS:])) if len(ordered) > LEADERS else []
    table = _leader_table("bottom_partners", f"Bottom {LEADERS} partners", bottom, found, infos, currency)
    if not bottom:
        table.empty = f"Fewer than {LEADERS + 1} partners match: every one is in the top list."
    return Panel("bottom_partners", None, table)


# --------------------------------------------------------------------------------------------- mix


def _group_counts(infos: dict[int, PartnerInfo], by: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    for info in infos.values():
        for label in _groups_of(info, by):
            counts[label] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _groups_of(info: PartnerInfo, by: str) -> list[str]:
    if by == "tier":
        return sorted(set(info.tiers))
    if by == "type":
        return [info.type or "No type"]
    if by == "region":
        return [info.region or NO_REGION]
    if info.start_date is None:
        return [NO_START]
    return [Period.quarter_of(info.start_date).key]


def mix_panel(actor: Actor, f: DashboardFilters, by: str) -> Panel:
    """How many of the filtered partners are in each tier, type or region (a pie and its table)."""
    ids = figures.partner_ids(actor=actor, filters=f.partners())
    counts = _group_counts(partner_infos(ids=ids, program=f.program), by)
    title = f"Partners by {COHORTS[by].lower()}"
    note = " (some in several tiers)" if by == "tier" and not f.program else ""
    chart = pie_chart(
        title=title,
        subtitle=f"{len(ids):,} partners{note}",
        items=counts,
        unit=count("partners"),
        empty="No partners match these filters. Clear a filter or add partners.",
    )
    table = Table(
        key=f"by_{by}",
        title=title,
        columns=[Column(COHORTS[by]), Column("Partners", "count")],
        rows=[[label, n] for label, n in counts],
    )
    return Panel(f"by_{by}", chart, table)


# --------------------------------------------------------------------------------------------- others


def _attainment_value(progress: Progress) -> Decimal | None:
    """A partner target's attainment, a tier's or program's median attainment (as a ratio)."""
    found = progress.attainment if progress.partner_id is not None else progress.median_attainment
    return None if found is None else found / 100


def _target_row(progress: Progress, currency: str) -> list[Any]:
    target = progress.target
    if target.partner is not None:
        who = target.partner.name
    elif target.tier is not None:
        who = f"{target.tier.program.name} · {target.tier.name} (tier)"
    else:
        who = f"{target.program.name if target.program else ''} (program)"
    label = metric(target.metric).label
    unit = f" {currency}" if metric(target.metric).unit.value == "currency" else ""
    pace = progress.pace.text if progress.pace is not None else progress.missing
    if target.partner_id is None:
        pace = f"{progress.on_track} of {progress.partners} partners on track"
    return [
        label,
        who,
        target.period,
        f"{target.value.normalize():,f}{unit}",
        _attainment_value(progress),
        pace,
    ]


def targets_panel(actor: Actor, f: DashboardFilters, partner: Partner | None = None) -> Panel:
    """Target attainment for the targets set on the period (or a period inside it): a partner's own
    attainment and pace, a tier's or program's median attainment and how many partners are on track
    (``scorecards.selectors.target_progress``). With ``partner``: that partner's effective targets."""
    currency = currency_of(actor)
    period = f.period_value
    if partner is not None:
        progress = partner_targets(actor=actor, partner=partner)
    else:
        visible = set(figures.partner_ids(actor=actor, filters=f.partners()))
        targets = [
            t
            for t in target_list(actor=actor, filters=TargetFilters(program=f.program)).select_related(
                "partner", "tier", "tier__program", "program"
            )[:500]
            if _inside(t.period, period) and (t.partner_id is None or t.partner_id in visible)
        ][:TARGETS_SHOWN]
        progress = target_progress(actor=actor, targets=targets)
    rows = [_target_row(p, currency) for p in progress]
    table = Table(
        key="targets",
        title="Targets and pace" if partner is not None else f"Target attainment, {period.label}",
        columns=[
            Column("Metric"),
            Column("For"),
            Column("Period"),
            Column("Target"),
            Column("Attainment", "percent"),
            Column("Pace"),
        ],
        rows=rows,
        empty="No targets for this period yet. Set targets per partner, tier or program (Scorecards → "
        "Targets) to follow them here.",
    )
    chart = axis_chart(
        title="Target attainment",
        subtitle="Partner targets: attainment; tier and program targets: the median partner's",
        categories=[f"{row[0]} · {row[1]} · {row[2]}" for row in rows],
        series=[("Attainment", [row[4] for row in rows])],
        unit=PERCENT,
        x_name="Target",
        kind="bar",
        horizontal=True,
        empty=table.empty,
    )
    chart.option["xAxis"].pop("max", None)  # attainment may pass 100 %
    return Panel("targets", chart, table)


def _inside(key: str, period: Period) -> bool:
    try:
        found = parse_period(key)
    except ValueError:
        return False
    return period.start <= found.start and found.end <= period.end


def agreements_panel(actor: Actor, f: DashboardFilters) -> Panel:
    ids = set(figures.partner_ids(actor=actor, filters=f.partners()))
    rows, links = [], []
    for agreement in agreements_expiring(actor=actor, within_days=EXPIRING_DAYS)[:200]:
        if agreement.partner_id not in ids:
            continue
        rows.append(
            [agreement.partner.name, agreement.title, agreement.get_kind_display(), agreement.end_date]
        )
        links.append(reverse("dashboards:partner", args=[agreement.partner.public_id]))
    table = Table(
        key="agreements",
        title=f"Agreements expiring within {EXPIRING_DAYS} days",
        columns=[Column("Partner"), Column("Agreement"), Column("Kind"), Column("Ends", "date")],
        rows=rows[:50],
        links=links[:50],
        empty=f"No agreement without auto-renewal ends in the next {EXPIRING_DAYS} days.",
    )
    return Panel("agreements", None, table)


OVERVIEW: dict[str, Callable[[Actor, DashboardFilters], Panel]] = {
    "revenue": revenue_panel,
    "pipeline": pipeline_panel,
    "win_rate": win_rate_panel,
    "active_share": active_share_panel,
    "engagement": engagement_panel,
    "top_partners": top_partners_panel,
    "bottom_partners": bottom_partners_panel,
    "by_tier": lambda a, f: mix_panel(a, f, "tier"),
    "by_type": lambda a, f: mix_panel(a, f, "type"),
    "by_region": lambda a, f: mix_panel(a, f, "region"),
    "targets": targets_panel,
    "agreements": agreements_panel,
}
"""The program overview's panels, by the key their data request and export use."""


# --------------------------------------------------------------------------------------------- partner


def partner_figures_panel(actor: Actor, f: DashboardFilters, partner: Partner) -> Panel:
    """The partner's key figures for the period beside the previous period and the whole program."""
    currency = currency_of(actor)
    period = f.period_value
    now = figures.metric_table(actor=actor, keys=PARTNER_KEYS, period=period, partners=[partner.pk])
    before = figures.metric_table(
        actor=actor, keys=PARTNER_KEYS, period=period.previous(), partners=[partner.pk]
    )
    rows = []
    for key in PARTNER_KEYS:
        value, previous = now.value(partner.pk, key), before.value(partner.pk, key)
        label = f"{metric(key).label} ({currency})" if key in CURRENCY_KEYS else metric(key).label
        rows.append([label, value.value, previous.value, value.missing])
    return Panel(
        "figures",
        None,
        Table(
            key="figures",
            title=f"Key figures, {period.label}",
            columns=[
                Column("Metric"),
                Column(period.label, "metric"),
                Column(period.previous().label, "metric"),
                Column("Note"),
            ],
            rows=rows,
            row_metrics=list(PARTNER_KEYS),
        ),
    )


def partner_deals_panel(actor: Actor, f: DashboardFilters, partner: Partner) -> Panel:
    del f  # the latest deals, whatever the period
    deals = deal_list(actor=actor, filters=DealFilters(partner=str(partner.public_id)))[:25]
    rows, links = [], []
    for deal in deals:
        rows.append(
            [
                deal.customer_name,
                deal.stage.name,
                deal.amount,
                deal.currency,
                deal.registered_at.date(),
                deal.expected_close_date,
            ]
        )
        links.append(reverse("deals:detail", args=[deal.public_id]))
    table = Table(
        key="deals",
        title="Latest deals",
        columns=[
            Column("Customer"),
            Column("Stage"),
            Column("Amount", "currency"),
            Column("Currency"),
            Column("Registered", "date"),
            Column("Expected close", "date"),
        ],
        rows=rows,
        links=links,
        empty="This partner has registered no deals yet.",
    )
    return Panel("deals", None, table)


def partner_scorecard_panel(actor: Actor, f: DashboardFilters, partner: Partner) -> Panel:
    """The partner's scorecard for the period (``scorecards.selectors.scorecard``): each dimension's
    score, weight and contribution, as a bar chart and a table."""
    card = scorecard(actor=actor, partner=partner, period=f.period_value)
    rows = [[d.label, d.score, d.share / 100, _contribution(d)] for d in card.dimensions]
    table = Table(
        key="scorecard",
        title=f"Scorecard, {card.period.label}",
        columns=[
            Column("Dimension"),
            Column("Score (0–100)", "number"),
            Column("Weight", "percent"),
            Column("Points", "number"),
        ],
        rows=rows,
        empty="No scorecard: the partner is not enrolled in a program with a scorecard.",
    )
    chart = axis_chart(
        title=f"Scorecard: {_score(card.overall)} overall",
        subtitle=" · ".join(
            [card.program or "No program", card.tier or "no tier", card.rank_band or "not ranked"]
        ),
        categories=[d.label for d in card.dimensions],
        series=[("Score", [d.score for d in card.dimensions])],
        unit=Unit("score", "count"),
        x_name="Dimension",
        kind="bar",
        every_label=True,
        empty="No scored metric for this period yet: record deals and activities, or set targets.",
    )
    chart.option["yAxis"].update(min=0, max=100)
    return Panel("scorecard", chart, table)


def _contribution(dimension: Any) -> Decimal | None:
    points = [m.contribution for m in dimension.metrics if m.contribution is not None]
    return sum(points, Decimal(0)) if points else None


def _score(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.0f}"


PARTNER: dict[str, Callable[[Actor, DashboardFilters, Partner], Panel]] = {
    "figures": partner_figures_panel,
    "revenue": lambda a, f, p: revenue_panel(a, f, [p.pk]),
    "win_rate": lambda a, f, p: win_rate_panel(a, f, [p.pk]),
    "engagement": lambda a, f, p: engagement_panel(a, f, [p.pk]),
    "pipeline": lambda a, f, p: pipeline_panel(a, f, [p.pk]),
    "deals": partner_deals_panel,
    "targets": lambda a, f, p: targets_panel(a, f, p),
    "scorecard": partner_scorecard_panel,
}


# --------------------------------------------------------------------------------------------- cohorts


def cohorts(actor: Actor, f: DashboardFilters) -> tuple[list[tuple[str, list[int]]], list[engine.Table]]:
    """The filtered partners grouped by ``f.by`` (tier, type, region or start quarter), and the engine's
    figures for each group as a whole (one table per group, its TOTAL row)."""
    ids = figures.partner_ids(actor=actor, filters=f.partners())
    infos = partner_infos(ids=ids, program=f.program)
    groups: dict[str, list[int]] = defaultdict(list)
    for pid, info in infos.items():
        for label in _groups_of(info, f.by):
            groups[label].append(pid)
    ordered = sorted(groups.items(), key=lambda item: (item[0].startswith("No "), item[0]))
    if f.by == "tier":
        ordered.sort(key=lambda item: (item[0] == NO_TIER, -len(item[1])))
    tables = [
        figures.metric_table(
            actor=actor, keys=COHORT_KEYS, period=f.period_value, partners=members, filters=f.partners()
        )
        for _, members in ordered
    ]
    return ordered, tables


def cohort_table(
    actor: Actor,
    f: DashboardFilters,
    groups: list[tuple[str, list[int]]],
    tables: list[engine.Table],
    currency: str,
) -> Table:
    del actor
    label = COHORTS[f.by]
    rows = [
        [name, len(members), *[t.total(k).value for k in COHORT_KEYS]]
        for (name, members), t in zip(groups, tables, strict=True)
    ]
    return Table(
        key="cohorts",
        title=f"Partners by {label.lower()}, {f.period_value.label}",
        columns=[Column(label), Column("Partners", "count"), *[Column.of(k, currency) for k in COHORT_KEYS]],
        rows=rows,
        empty="No partners match these filters.",
    )


def cohort_panels(actor: Actor, f: DashboardFilters) -> list[Panel]:
    """The cohort table with its two charts (revenue per partner and win rate per group)."""
    currency = currency_of(actor)
    groups, tables = cohorts(actor, f)
    label = COHORTS[f.by]
    table = cohort_table(actor, f, groups, tables, currency)
    chart = axis_chart(
        title=f"Revenue per partner by {label.lower()}",
        subtitle=f"{f.period_value.label}: won revenue ÷ partners in the group, and win rate",
        categories=[name for name, _ in groups],
        series=[(_label("revenue_per_partner"), [t.total("revenue_per_partner").value for t in tables])],
        unit=Unit.currency(currency),
        x_name=label,
        kind="bar",
        every_label=True,
        empty=_empty(
            {MISSING: [tables[0].total("revenue_per_partner").missing if tables else ""]},
            "No won revenue in this period for these partners. Pick a longer period.",
        ),
    )
    win = axis_chart(
        title=f"Win rate by {label.lower()}",
        subtitle=f.period_value.label,
        categories=[name for name, _ in groups],
        series=[(_label("win_rate"), [t.total("win_rate").value for t in tables])],
        unit=PERCENT,
        x_name=label,
        kind="bar",
        every_label=True,
        empty=_empty(
            {MISSING: [tables[0].total("win_rate").missing if tables else ""]},
            "No deals were won or lost in this period by these partners.",
        ),
    )
    return [Panel("cohorts", chart, table), Panel("cohort_win_rate", win, None)]


__all__ = ["OVERVIEW", "PARTNER", "Panel", "charts"]
