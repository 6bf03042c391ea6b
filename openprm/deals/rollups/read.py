"""The metric engine's reads of deal figures (see the engine contract): named inputs per partner over a
period, which input names a workspace has data for, and series by period.

Temporary implementation over the deals table while the rollup tables are built; the signatures stay.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from decimal import Decimal
from typing import Literal

from django.db.models import Count, Sum

from openprm.core.models import Workspace
from openprm.core.tasks import workspace_scope
from openprm.deals.models import ApprovalStatus, Deal, Outcome

Value = Decimal | int | float | None
Grain = Literal["month", "week", "day"]

FLOWS: tuple[str, ...] = (
    "deals.registered",
    "deals.registered.amount",
    "deals.won",
    "deals.won.amount",
    "deals.won.sourced",
    "deals.won.sourced.amount",
    "deals.won.influenced",
    "deals.won.influenced.amount",
    "deals.lost",
    "deals.lost.amount",
    "deals.won.days",
    "deals.won.measured",
    "deals.cosell.won",
    "deals.cosell.won.amount",
    "deals.other_currency",
)
STOCKS: tuple[str, ...] = ("pipeline.open", "pipeline.open.amount", "pipeline.open.weighted")
NON_ADDITIVE: tuple[str, ...] = ("deals.won.days.median",)


def metric_inputs(
    workspace_id: int,
    *,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
) -> dict[int, dict[str, Value]]:
    """Flows summed over the UTC days ``start``..``end``; stocks (``pipeline.*``) at the end of ``end``.
    One dict per partner with a value, plus key 0: the total over all ``partner_ids``."""
    result: dict[int, dict[str, Value]] = {}
    with workspace_scope(workspace_id):
        currency = Workspace.objects.get(pk=workspace_id).currency
        deals = Deal.objects.filter(
            workspace_id=workspace_id, partner_id__in=list(partner_ids), currency=currency
        )
        deals = deals.exclude(approval_status__in=[ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED])
        registered = (
            deals.filter(registered_at__date__gte=start, registered_at__date__lte=end)
            .values("partner_id")
            .annotate(n=Count("pk"), amount=Sum("amount"))
        )
        for row in registered:
            entry = result.setdefault(row["partner_id"], {})
            entry["deals.registered"] = row["n"]
            entry["deals.registered.amount"] = row["amount"]
        for outcome in (Outcome.WON, Outcome.LOST):
            closed = (
                deals.filter(stage__outcome=outcome, closed_at__date__gte=start, closed_at__date__lte=end)
                .values("partner_id")
                .annotate(n=Count("pk"), amount=Sum("amount"))
            )
            for row in closed:
                entry = result.setdefault(row["partner_id"], {})
                entry[f"deals.{outcome}"] = row["n"]
                entry[f"deals.{outcome}.amount"] = row["amount"]
        open_now = (
            deals.filter(stage__outcome=Outcome.OPEN, registered_at__date__lte=end)
            .values("partner_id")
            .annotate(n=Count("pk"), amount=Sum("amount"))
        )
        for row in open_now:
            entry = result.setdefault(row["partner_id"], {})
            entry["pipeline.open"] = row["n"]
            entry["pipeline.open.amount"] = row["amount"]
    wanted = set(names)
    result = {p: {k: v for k, v in values.items() if k in wanted} for p, values in result.items()}
    total: dict[str, Value] = {}
    for values in result.values():
        for name, value in values.items():
            total[name] = (total.get(name) or 0) + (value or 0)  # type: ignore[operator]
    result[0] = total
    return result


def input_availability(workspace_id: int) -> set[str]:
    """The input names the workspace has any data for: every deal input once it has a deal."""
    with workspace_scope(workspace_id):
        if not Deal.objects.filter(workspace_id=workspace_id).exists():
            return set()
    return {*FLOWS, *STOCKS, *NON_ADDITIVE}


def series(
    workspace_id: int,
    *,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
    grain: Grain = "month",
) -> dict[datetime.date, dict[str, Value]]:
    """The inputs per period of ``grain`` (keyed by the period's first day, clipped to ``start``) over all
    ``partner_ids`` together: flows summed within the period, stocks at its last day (clipped to ``end``)."""
    out: dict[datetime.date, dict[str, Value]] = {}
    for first, last in periods(start, end, grain):
        out[first] = metric_inputs(workspace_id, partner_ids=partner_ids, start=first, end=last, names=names)[
            0
        ]
    return out


def periods(
    start: datetime.date, end: datetime.date, grain: Grain
) -> list[tuple[datetime.date, datetime.date]]:
    """The periods of ``grain`` covering ``start``..``end``, each clipped to the range."""
    result: list[tuple[datetime.date, datetime.date]] = []
    day = start
    while day <= end:
        if grain == "day":
            following = day + datetime.timedelta(days=1)
        elif grain == "week":
            following = day - datetime.timedelta(days=day.weekday()) + datetime.timedelta(days=7)
        else:
            following = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        result.append((day, min(end, following - datetime.timedelta(days=1))))
        day = following
    return result
