"""The cohort comparison: the filtered partners grouped by tier, type, region or start quarter, the
engine's figures for each group as a whole."""

from __future__ import annotations

from collections import defaultdict

from openprm.core.actors import Actor
from openprm.dashboards.charts import PERCENT, Unit, axis_chart
from openprm.dashboards.filters import COHORTS, DashboardFilters
from openprm.dashboards.selectors.common import (
    COHORT_KEYS,
    MISSING,
    NO_TIER,
    Panel,
    currency_of,
    empty_message,
    groups_of,
    label_of,
    partner_infos,
)
from openprm.dashboards.tables import Column, Table
from openprm.metrics import engine, figures


def cohorts(actor: Actor, f: DashboardFilters) -> tuple[list[tuple[str, list[int]]], list[engine.Table]]:
    """The filtered partners grouped by ``f.by`` (tier, type, region or start quarter), and the engine's
    figures for each group as a whole (one table per group, its TOTAL row)."""
    ids = figures.partner_ids(actor=actor, filters=f.partners())
    infos = partner_infos(ids=ids, program=f.program)
    groups: dict[str, list[int]] = defaultdict(list)
    for pid, info in infos.items():
        for label in groups_of(info, f.by):
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
        series=[(label_of("revenue_per_partner"), [t.total("revenue_per_partner").value for t in tables])],
        unit=Unit.currency(currency),
        x_name=label,
        kind="bar",
        every_label=True,
        empty=empty_message(
            {MISSING: [tables[0].total("revenue_per_partner").missing if tables else ""]},
            "No won revenue in this period for these partners. Pick a longer period.",
        ),
    )
    win = axis_chart(
        title=f"Win rate by {label.lower()}",
        subtitle=f.period_value.label,
        categories=[name for name, _ in groups],
        series=[(label_of("win_rate"), [t.total("win_rate").value for t in tables])],
        unit=PERCENT,
        x_name=label,
        kind="bar",
        every_label=True,
        empty=empty_message(
            {MISSING: [tables[0].total("win_rate").missing if tables else ""]},
            "No deals were won or lost in this period by these partners.",
        ),
    )
    return [Panel("cohorts", chart, table), Panel("cohort_win_rate", win, None)]
