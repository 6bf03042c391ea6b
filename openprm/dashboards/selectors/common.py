"""What every dashboard panel builds on: the panel shape, the partner set's attributes, the monthly
trends read through ``metrics.figures``, and how an empty chart explains itself."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.dashboards.charts import Chart
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.tables import Column, Table
from openprm.metrics import figures
from openprm.metrics.catalog import metric
from openprm.metrics.periods import Period
from openprm.partners.models import Partner, PartnerProgram

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


def label_of(key: str) -> str:
    return metric(key).label


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


def partner_url(info: PartnerInfo) -> str:
    return reverse("dashboards:partner", args=[info.public_id])


# --------------------------------------------------------------------------------------------- trends


def months_of(f: DashboardFilters) -> list[Period]:
    return f.trend_periods()


def trend_table(
    key: str, title: str, months: Sequence[Period], columns: Sequence[Column], values: Sequence[Sequence[Any]]
) -> Table:
    rows = [[month.key, *[series[i] for series in values]] for i, month in enumerate(months)]
    return Table(key=key, title=title, columns=[Column("Month"), *columns], rows=rows)


def series(
    actor: Actor, f: DashboardFilters, keys: Sequence[str], partners: Sequence[int] | None = None
) -> tuple[list[Period], dict[str, list[Any]]]:
    """The 12 months of the trend and each key's value for the whole set per month; under the key
    ``MISSING``, the engine's "no data: needs …" of the first key the workspace has no inputs for."""
    months = months_of(f)
    tables = figures.metric_series(
        actor=actor, keys=keys, periods=months, filters=f.partners(), partners=partners, per_partner=False
    )
    values: dict[str, list[Any]] = {key: [t.total(key).value for t in tables] for key in keys}
    last = tables[-1] if tables else None
    values[MISSING] = (
        [next((last.total(k).missing for k in keys if last.total(k).missing), "")] if last else [""]
    )
    return months, values


def empty_message(values: dict[str, list[Any]], message: str) -> str:
    """What an empty chart says: the engine's "no data: needs …" when that is why, else ``message``."""
    missing = values.get(MISSING, [""])[0]
    return f"{missing[:1].upper()}{missing[1:]}." if missing else message


def group_counts(infos: dict[int, PartnerInfo], by: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    for info in infos.values():
        for label in groups_of(info, by):
            counts[label] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def groups_of(info: PartnerInfo, by: str) -> list[str]:
    if by == "tier":
        return sorted(set(info.tiers))
    if by == "type":
        return [info.type or "No type"]
    if by == "region":
        return [info.region or NO_REGION]
    if info.start_date is None:
        return [NO_START]
    return [Period.quarter_of(info.start_date).key]


def unconverted_note(actor: Actor, f: DashboardFilters, partner: Partner | None = None) -> str:
    """What the page's deal figures (the period's and its trends' months) leave out: deals in other
    currencies no exchange rate converts yet, for the filtered partners (or ``partner``); "" when none.
    One grouped query over the deal day rows, whatever the number of partners."""
    period, months = f.period_value, f.trend_periods()
    span = Period(min(period.start, months[0].start), max(period.end, months[-1].end))
    if partner is not None:
        return figures.unconverted_note(actor=actor, period=span, partners=[partner.pk])
    return figures.unconverted_note(actor=actor, period=span, filters=f.partners())
