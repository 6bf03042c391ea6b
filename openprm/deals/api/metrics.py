"""The deal KPIs over HTTP (``GET /metrics/deals``): the figures of ``selectors.deal_metrics`` over the
deals the caller sees, or one partner's (another partner's id answers 404, like a missing one)."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from openprm.core.api import ERRORS, request_actor
from openprm.deals import selectors
from openprm.deals.schemas import DealMetricsOut, MetricsQuery
from openprm.partners import selectors as partner_selectors

router = Router(tags=["metrics"])


@router.get(
    "/metrics/deals", response={200: DealMetricsOut, **ERRORS}, operation_id="openprm_deals_api_deal_metrics"
)
def deal_metrics(request: HttpRequest, filters: Query[MetricsQuery]) -> dict[str, Any]:
    """Pipeline, weighted pipeline, win rate, deal size, time to close, velocity and revenue split."""
    actor = request_actor(request)
    partner = None
    if filters.partner is not None:  # another partner's id answers 404, like a missing one
        partner = partner_selectors.partner_get(actor=actor, public_id=filters.partner)
    result = selectors.deal_metrics(actor=actor, partner=partner)
    summary = result.summary
    return {
        "currency": result.currency,
        "partner": partner.public_id if partner else None,
        "pipeline_value": summary.pipeline_value,
        "weighted_pipeline": summary.weighted_pipeline,
        "win_rate": summary.win_rate,
        "average_won_deal_size": summary.average_won_deal_size,
        "time_to_close": {
            "median_days": summary.time_to_close.median,
            "mean_days": summary.time_to_close.mean,
            "count": summary.time_to_close.count,
        },
        "sales_velocity": summary.sales_velocity,
        "revenue_split": summary.revenue_split,
        "counts": {
            "won": summary.won_count,
            "lost": summary.lost_count,
            "open": summary.open_count,
            "total": summary.deal_count,
        },
        "average_open_deal_age_days": summary.average_open_deal_age_days,
        "other_currency_deals": result.other_currency_deals,
    }
