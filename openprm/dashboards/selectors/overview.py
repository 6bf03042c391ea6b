"""The program overview's own panels — leaders, mix, targets, agreements — and ``OVERVIEW``, every
panel of the page by the key its data request and export use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.urls import reverse

from openprm.core.actors import Actor
from openprm.dashboards.charts import PERCENT, Unit, axis_chart, count, pie_chart
from openprm.dashboards.filters import COHORTS, DashboardFilters
from openprm.dashboards.selectors.common import (
    EXPIRING_DAYS,
    LEADER_KEYS,
    LEADERS,
    MISSING,
    TARGETS_SHOWN,
    Panel,
    PartnerInfo,
    currency_of,
    empty_message,
    group_counts,
    label_of,
    partner_infos,
    partner_url,
)
from openprm.dashboards.selectors.trends import (
    active_share_panel,
    engagement_panel,
    pipeline_panel,
    revenue_panel,
    win_rate_panel,
)
from openprm.dashboards.tables import Column, Table
from openprm.metrics import dataversion, engine, figures
from openprm.metrics.catalog import metric
from openprm.metrics.periods import Period, parse_period
from openprm.partners.models import Partner
from openprm.partners.selectors import agreements_expiring
from openprm.scorecards.filters import TargetFilters
from openprm.scorecards.selectors import Progress, partner_targets, target_list, target_progress


def _leaders(actor: Actor, f: DashboardFilters) -> tuple[engine.Table, dict[int, PartnerInfo], list[int]]:
    """The filtered partners' leader figures, ranked. Every partner's figures are computed (2,000 at
    scale: most of the page's time), so they are kept while the data is unchanged
    (``metrics.dataversion``): the top-10 chart, the page's bottom-10 table and their exports read the
    same table."""
    period, ids = f.period_value, figures.partner_ids(actor=actor, filters=f.partners())
    table = dataversion.cached(
        actor.workspace_id,
        # the reporting currency too: a workspace setting, which the data version does not follow
        ("dashboards.leaders", LEADER_KEYS, period.start, period.end, currency_of(actor), tuple(ids)),
        lambda: figures.metric_table(
            actor=actor, keys=LEADER_KEYS, period=period, partners=ids, totals=False
        ),
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
        links.append(partner_url(info))
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
        series=[(label_of("won_revenue"), [found.value(p, "won_revenue").value for p in top])],
        unit=Unit.currency(currency),
        x_name="Partner",
        kind="bar",
        horizontal=True,
        empty=empty_message(
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


def mix_panel(actor: Actor, f: DashboardFilters, by: str) -> Panel:
    """How many of the filtered partners are in each tier, type or region (a pie and its table)."""
    ids = figures.partner_ids(actor=actor, filters=f.partners())
    counts = group_counts(partner_infos(ids=ids, program=f.program), by)
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
