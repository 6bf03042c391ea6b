"""The partner dashboard's panels: key figures, scorecard, latest deals (and the trends of
``trends`` for one partner); ``PARTNER`` by key."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.urls import reverse

from openprm.core.actors import Actor
from openprm.dashboards.charts import Unit, axis_chart
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.selectors.common import CURRENCY_KEYS, PARTNER_KEYS, Panel, currency_of
from openprm.dashboards.selectors.overview import targets_panel
from openprm.dashboards.selectors.trends import (
    engagement_panel,
    pipeline_panel,
    revenue_panel,
    win_rate_panel,
)
from openprm.dashboards.tables import Column, Table
from openprm.deals.filters import DealFilters
from openprm.deals.selectors import deal_list
from openprm.metrics import figures
from openprm.metrics.catalog import metric
from openprm.partners.models import Partner
from openprm.scorecards.selectors import scorecard


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
