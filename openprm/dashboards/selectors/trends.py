"""The trend and pipeline panels (program overview and partner dashboard): revenue, win rate,
active-partner share and engagement by month, and the open pipeline by stage."""

from __future__ import annotations

from collections.abc import Sequence

from openprm.core.actors import Actor
from openprm.dashboards.charts import PERCENT, Unit, axis_chart, count
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.selectors.common import (
    ENGAGEMENT_KEYS,
    MISSING,
    Panel,
    currency_of,
    empty_message,
    label_of,
    series,
    trend_table,
)
from openprm.dashboards.tables import Column, Table
from openprm.deals.selectors.pipeline import stages_for
from openprm.metrics import engine, figures


def revenue_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    """Partner-sourced and partner-influenced won revenue per month (stacked)."""
    currency = currency_of(actor)
    keys = ("sourced_revenue", "influenced_revenue")
    months, values = series(actor, f, keys, partners)
    unit = Unit.currency(currency)
    chart = axis_chart(
        title="Partner revenue by month",
        subtitle="Won deals, by the day they were won",
        categories=[m.label for m in months],
        series=[(label_of(k), values[k]) for k in keys],
        unit=unit,
        x_name="Month",
        kind="bar",
        stack=True,
        empty=empty_message(
            values, "No won partner deals in these 12 months. Register or import deals, or widen the filters."
        ),
    )
    table = trend_table(
        "revenue",
        "Partner revenue by month",
        months,
        [Column.of(k, currency) for k in keys],
        [values[k] for k in keys],
    )
    return Panel("revenue", chart, table)


def win_rate_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    keys = ("win_rate", "won_count", "lost_count")
    months, values = series(actor, f, keys, partners)
    chart = axis_chart(
        title="Win rate by month",
        subtitle="Won ÷ (won + lost), deals closed in the month",
        categories=[m.label for m in months],
        series=[(label_of("win_rate"), values["win_rate"])],
        unit=PERCENT,
        x_name="Month",
        empty=empty_message(
            values,
            "No deals were won or lost in these 12 months. Close deals (won or lost) to see the win rate.",
        ),
    )
    table = trend_table(
        "win_rate", "Win rate by month", months, [Column.of(k) for k in keys], [values[k] for k in keys]
    )
    return Panel("win_rate", chart, table)


def active_share_panel(actor: Actor, f: DashboardFilters) -> Panel:
    keys = ("active_partner_share", "active_partners", "enrolled_partners")
    months, values = series(actor, f, keys)
    chart = axis_chart(
        title="Active-partner share by month",
        subtitle="Partners with a qualifying activity in the program's active window",
        categories=[m.label for m in months],
        series=[(label_of("active_partner_share"), values["active_partner_share"])],
        unit=PERCENT,
        x_name="Month",
        empty=empty_message(
            values, "No partner was active in these 12 months. Record activities or import them."
        ),
    )
    table = trend_table(
        "active_share",
        "Active-partner share by month",
        months,
        [Column.of(k) for k in keys],
        [values[k] for k in keys],
    )
    return Panel("active_share", chart, table)


def engagement_panel(actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None) -> Panel:
    months, values = series(actor, f, ENGAGEMENT_KEYS, partners)
    chart = axis_chart(
        title="Engagement by month",
        subtitle="Contacts, meetings, portal logins and downloads",
        categories=[m.label for m in months],
        series=[(label_of(k), values[k]) for k in ENGAGEMENT_KEYS],
        unit=count("events"),
        x_name="Month",
        empty=empty_message(
            values, "No partner activity in these 12 months. Log interactions or send events to the API."
        ),
    )
    table = trend_table(
        "engagement",
        "Engagement by month",
        months,
        [Column.of(k) for k in ENGAGEMENT_KEYS],
        [values[k] for k in ENGAGEMENT_KEYS],
    )
    return Panel("engagement", chart, table)


def _open_stages(actor: Actor, f: DashboardFilters) -> list[tuple[str, str]]:
    """(key, name) of the open pipeline stages, in board order, once per key (programs share keys)."""
    stages = stages_for(actor=actor).filter(outcome="open")
    if f.program:
        stages = stages.filter(program__public_id=f.program)
    seen: dict[str, str] = {}
    for key, name in stages.values_list("key", "name"):
        seen.setdefault(key, name)
    return list(seen.items())


def pipeline_by_stage(
    actor: Actor, f: DashboardFilters, partners: Sequence[int] | None = None
) -> tuple[list[tuple[str, str]], engine.Table]:
    """The open pipeline at the period's end split by stage (``figures.pipeline_by_stage``)."""
    stages = _open_stages(actor, f)
    table = figures.pipeline_by_stage(
        actor=actor,
        stage_keys=[key for key, _ in stages],
        period=f.period_value,
        filters=f.partners(),
        partners=partners,
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
        series=[(label_of("pipeline_value"), amounts)],
        unit=Unit.currency(currency),
        x_name="Stage",
        kind="bar",
        every_label=True,
        empty=empty_message(
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
