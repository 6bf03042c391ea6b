"""Schemas of the deal KPIs endpoint (``GET /metrics/deals``)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from ninja import Field, Schema


class MetricsQuery(Schema):
    partner: uuid.UUID | None = Field(None, description="One partner's public id; left out: all you can see")


class DealTimeToCloseOut(Schema):
    median_days: float | None
    mean_days: float | None
    count: int = Field(description="Won deals measured")


class DealRevenueSplitOut(Schema):
    sourced: Decimal
    influenced: Decimal
    total: Decimal
    sourced_share: float | None
    influenced_share: float | None


class DealCountsOut(Schema):
    won: int
    lost: int
    open: int
    total: int


class DealMetricsOut(Schema):
    """Deal KPIs over the deals you can see (or one partner's), in the workspace's reporting currency."""

    currency: str
    partner: uuid.UUID | None
    pipeline_value: Decimal = Field(description="Sum of open deal amounts")
    weighted_pipeline: Decimal = Field(description="Open amounts × their stage's win probability")
    win_rate: float | None = Field(description="Won ÷ (won + lost); null with no closed deal")
    average_won_deal_size: Decimal | None
    time_to_close: DealTimeToCloseOut
    sales_velocity: Decimal | None = Field(description="Expected revenue per day")
    revenue_split: DealRevenueSplitOut = Field(description="Won revenue, partner-sourced vs influenced")
    counts: DealCountsOut
    average_open_deal_age_days: float | None
    other_currency_deals: int = Field(description="Deals in another currency, left out of the figures")
