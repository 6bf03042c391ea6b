"""The deal summary of the pages and ``GET /metrics/deals``: every deal figure since ever and the pipeline
at a day, summed over a set of partners (or the whole workspace) from the deal rollups, on the helpers of
:mod:`.read`."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from openprm.deals import metrics
from openprm.deals.rollups.read import (
    EVER_START,
    FLOWS,
    OTHER_CURRENCY,
    _flow_totals,
    _histograms,
    _since_ever,
    _stock_rows,
    _workspace,
    converter_for,
)

SUMMARY_NAMES = (
    *FLOWS,
    OTHER_CURRENCY,
    "pipeline.open",
    "pipeline.open.amount",
    "pipeline.open.age_days",
)


@dataclasses.dataclass(frozen=True)
class DealTotals:
    currency: str
    summary: metrics.DealSummary
    other_currency_deals: int


def deal_totals(workspace_id: int, *, partner_ids: Collection[int] | None, on: datetime.date) -> DealTotals:
    """Every deal figure of the pages since ever, the pipeline as at the end of ``on``: what
    :func:`metrics.summarize` gives over the same deals (rounded at the same points). Four queries, each
    summed over the partners in the database (``partner_ids`` None: the whole workspace, no partner
    condition): the workspace's currency and stages, the since-ever flows, the open stages' stocks and
    the days-to-close histogram. Other currencies (with a rate table) add the day rows' query and one of
    the rates (every day of the request's at once), only when the workspace has another currency."""
    context = _workspace(workspace_id)
    currency = context.currency
    converter = converter_for(workspace_id, currency)
    if converter is not None:  # the pipeline's rate day, in the same load as the flows' days
        converter.expect(min(on, datetime.datetime.now(datetime.UTC).date()))
    totals: dict[str, Any] = _flow_totals(workspace_id, currency, partner_ids, _since_ever(), converter)
    open_stages = {pk: stage for pk, stage in context.stages.items() if stage.outcome == "open"}
    groups: list[metrics.DealGroup] = []
    open_count, age_days = 0, 0
    stock = _stock_rows(
        workspace_id, currency, partner_ids, on, stage_ids=open_stages, by_partner=False, converter=converter
    )
    for _, stage_id, count, amount, reg_days in stock:
        stage = open_stages[stage_id]
        groups.append(metrics.DealGroup(metrics.Outcome.OPEN, "sourced", stage.probability, count, amount))
        open_count += count
        age_days += count * on.toordinal() - reg_days
    for source in ("sourced", "influenced"):
        n, amount = totals.get(f"deals.won.{source}", 0), totals.get(f"deals.won.{source}.amount", Decimal(0))
        if n:
            groups.append(metrics.DealGroup(metrics.Outcome.WON, source, Decimal(1), n, amount))
    if totals.get("deals.lost"):
        groups.append(
            metrics.DealGroup(
                metrics.Outcome.LOST, "sourced", Decimal(0), totals["deals.lost"], totals["deals.lost.amount"]
            )
        )
    everyone = _histograms(
        workspace_id,
        currency,
        partner_ids,
        EVER_START,
        datetime.date.max,
        by_partner=False,
        converter=converter,
    )
    won = totals.get("deals.won", 0)
    summary = metrics.summarize_groups(
        groups,
        days_to_close=everyone.get(0, {}),
        open_ages={},
        excluded_from_close=won - totals.get("deals.won.measured", 0),
    )
    summary = dataclasses.replace(
        summary, average_open_deal_age_days=age_days / open_count if open_count else None
    )
    return DealTotals(
        currency=currency, summary=summary, other_currency_deals=int(totals.get(OTHER_CURRENCY, 0))
    )
