"""What a report contains: sections (a chart and/or a table) built from the dashboards' panels and the
scorecards' selectors — the figures the pages show, read through the metric engine; nothing is computed
here. A partner-facing document is built with an actor scoped to that one partner, so the access scope
itself keeps every other partner's rows out.

Kinds: program summary, partner scorecard, pipeline review and the quarterly business review (QBR) pack
(scorecard, trends, targets and pace, deals, engagement, top actions). A later kind (commission
statement) adds a member to ``models.Kind`` and a builder to ``BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from openprm.core.actors import Actor
from openprm.dashboards.charts import Chart, Unit, axis_chart
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.selectors import OVERVIEW, PARTNER
from openprm.dashboards.selectors.common import currency_of
from openprm.dashboards.tables import Column, Table
from openprm.metrics.catalog import metric
from openprm.metrics.periods import Period
from openprm.partners.models import Partner
from openprm.reports.models import Kind
from openprm.scorecards.selectors import partner_targets, scorecard_table, tier_progress, trends

TREND_KEYS = ("won_revenue", "pipeline_value", "win_rate", "deal_count", "contacts", "meetings", "logins")
SCORECARD_ROWS = 200  # partners in a staff scorecard report's table
ACTIONS = 6


@dataclass
class Section:
    title: str
    chart: Chart | None = None
    table: Table | None = None
    items: list[str] = field(default_factory=list)  # plain lines (top actions)


@dataclass
class Document:
    title: str
    period: Period
    partner: str  # the partner a partner-facing or QBR document is about ("" for a program document)
    sections: list[Section]

    def tables(self) -> list[Table]:
        return [s.table for s in self.sections if s.table is not None and s.table.rows]


def _panel(title: str, panel: object) -> Section:
    return Section(title, getattr(panel, "chart", None), getattr(panel, "table", None))


def _program_summary(actor: Actor, f: DashboardFilters) -> list[Section]:
    titles = {
        "revenue": "Revenue",
        "pipeline": "Pipeline",
        "win_rate": "Win rate",
        "engagement": "Engagement",
        "top_partners": "Top partners",
        "by_tier": "Partners by tier",
        "targets": "Targets",
    }
    return [_panel(title, OVERVIEW[key](actor, f)) for key, title in titles.items()]


def _scorecards(actor: Actor, f: DashboardFilters) -> list[Section]:
    """Every partner's overall and dimension scores (the scorecard table, best first)."""
    rows = scorecard_table(actor=actor, period=f.period_value, filters=f.partners(), sort="-overall")
    dimensions = sorted({d for r in rows for d in r.dimensions})
    table = Table(
        key="scorecards",
        title=f"Scorecards, {f.period_value.label}",
        columns=[
            Column("Partner"),
            Column("Tier"),
            Column("Overall (0–100)", "number"),
            *[Column(f"{d.title()} (0–100)", "number") for d in dimensions],
            Column("Rank", "count"),
            Column("Recommendation"),
        ],
        rows=[
            [
                r.name,
                r.tier or "—",
                r.overall,
                *[r.dimensions.get(d) for d in dimensions],
                r.rank,
                r.recommendation,
            ]
            for r in rows[:SCORECARD_ROWS]
        ],
        empty="No partner with a scorecard in this period.",
    )
    top = [r for r in rows if r.overall is not None][:15]
    chart = axis_chart(
        title="Overall score",
        subtitle=f.period_value.label,
        categories=[r.name for r in top],
        series=[("Overall", [r.overall for r in top])],
        unit=Unit("score", "count"),
        x_name="Partner",
        kind="bar",
        horizontal=True,
        empty="No scored partner in this period yet.",
    )
    return [Section("Scorecards", chart, table)]


def _pipeline_review(actor: Actor, f: DashboardFilters) -> list[Section]:
    return [
        _panel("Pipeline by stage", OVERVIEW["pipeline"](actor, f)),
        _panel("Win rate", OVERVIEW["win_rate"](actor, f)),
        _panel("Partners by revenue and pipeline", OVERVIEW["top_partners"](actor, f)),
    ]


def _trend_label(key: str, currency: str) -> str:
    """A trend row's label: a money metric's says its currency, as the other tables' headers do
    ("Won revenue (USD)"); the figures are the metric engine's, in the workspace's currency."""
    money = Column.of(key).kind == "currency"  # as the table types the row's figures
    return f"{metric(key).label} ({currency})" if money and currency else metric(key).label


def _trends(actor: Actor, partner: Partner, period: Period) -> Section:
    found = trends(actor=actor, partner=partner, period=period, keys=TREND_KEYS)
    currency = currency_of(actor)
    rows = [[_trend_label(t.metric, currency), t.current.value, t.previous.value, t.change] for t in found]
    table = Table(
        key="trends",
        title=f"Trends, {period.label} vs {period.previous().label}",
        columns=[
            Column("Metric"),
            Column("This period", "metric"),
            Column("Before", "metric"),
            Column("Change", "percent"),
        ],
        rows=rows,
        row_metrics=[t.metric for t in found],
    )
    return Section("Trends", table=table)


def top_actions(actor: Actor, partner: Partner, period: Period) -> list[str]:
    """What to do next, from the selectors' own verdicts: targets behind pace, criteria the next tier still
    needs, and metrics that moved the wrong way."""
    actions: list[str] = []
    for progress in partner_targets(actor=actor, partner=partner, periods=[period]):
        if progress.pace is not None and progress.pace.status == "behind":
            actions.append(f"Target {metric(progress.target.metric).label}: {progress.pace.text}")
    steps = tier_progress(actor=actor, partner=partner, period=period)
    if steps.next_tier:
        for check in steps.next_checks:
            if not check.met and check.text:
                actions.append(f"For {steps.next_tier}: {check.text}")
    for trend in trends(actor=actor, partner=partner, period=period, keys=TREND_KEYS):
        if trend.better is False and trend.change is not None:
            actions.append(
                f"{metric(trend.metric).label} fell {abs(trend.change) * 100:.0f}% vs the period before"
            )
    return actions[:ACTIONS] or ["On track: no target behind pace, no tier gap, no metric falling."]


def _partner_pages(keys: dict[str, str]) -> Callable[[Actor, DashboardFilters, Partner], list[Section]]:
    def build(actor: Actor, f: DashboardFilters, partner: Partner) -> list[Section]:
        return [_panel(title, PARTNER[key](actor, f, partner)) for key, title in keys.items()]

    return build


_partner_scorecard = _partner_pages(
    {
        "scorecard": "Scorecard",
        "revenue": "Revenue",
        "win_rate": "Win rate",
        "engagement": "Engagement",
        "targets": "Targets",
    }
)
_partner_pipeline = _partner_pages(
    {"pipeline": "Pipeline by stage", "win_rate": "Win rate", "deals": "Deals"}
)


def _qbr(actor: Actor, f: DashboardFilters, partner: Partner) -> list[Section]:
    period = f.period_value
    sections = [
        _panel("Scorecard", PARTNER["scorecard"](actor, f, partner)),
        _trends(actor, partner, period),
        _panel("Revenue", PARTNER["revenue"](actor, f, partner)),
        _panel("Targets and pace", PARTNER["targets"](actor, f, partner)),
        _panel("Deals", PARTNER["deals"](actor, f, partner)),
        _panel("Engagement", PARTNER["engagement"](actor, f, partner)),
    ]
    return [*sections, Section("Top actions", items=top_actions(actor, partner, period))]


PROGRAM_BUILDERS: dict[str, Callable[[Actor, DashboardFilters], list[Section]]] = {
    Kind.PROGRAM_SUMMARY: _program_summary,
    Kind.PARTNER_SCORECARD: _scorecards,
    Kind.PIPELINE_REVIEW: _pipeline_review,
}
PARTNER_BUILDERS: dict[str, Callable[[Actor, DashboardFilters, Partner], list[Section]]] = {
    Kind.PROGRAM_SUMMARY: _partner_scorecard,  # a partner's copy of a program report: its own figures
    Kind.PARTNER_SCORECARD: _partner_scorecard,
    Kind.PIPELINE_REVIEW: _partner_pipeline,
    Kind.QBR: _qbr,
}


def build(*, actor: Actor, kind: str, title: str, f: DashboardFilters, partner: Partner | None) -> Document:
    """The document of ``kind`` for the partner set of ``f`` (``partner`` None) or for one partner."""
    if partner is None and kind in PROGRAM_BUILDERS:
        sections = PROGRAM_BUILDERS[kind](actor, f)
    elif partner is not None:
        sections = PARTNER_BUILDERS[kind](actor, f, partner)
    else:
        raise ValueError(f"A {kind} report is about one partner.")
    return Document(
        title=title, period=f.period_value, partner=partner.name if partner else "", sections=sections
    )
