"""Deal metrics from the deal rollups: flows in the period (registered, won, lost, by the day they happened)
and stocks at the period's end (the open pipeline)."""

from __future__ import annotations

from decimal import Decimal

from openprm.metrics.engine import Aggregate, Formula, Inputs, Raw
from openprm.metrics.kpis.common import money, per, ratio

NEEDS = "deals (register or import deals)"


def _win_rate(i: Inputs) -> Raw:
    return ratio(i["deals.won"], i["deals.won"] + i["deals.lost"])


def _cycle(i: Inputs) -> Decimal | None:
    return per(i["deals.won.days"], i["deals.won.measured"], Decimal("0.1"))


def _velocity(i: Inputs) -> Raw:
    """Open deals × win rate × average won deal size ÷ average cycle (days): revenue per day."""
    rate, size, cycle = _win_rate(i), per(i["deals.won.amount"], i["deals.won"]), _cycle(i)
    if rate is None or size is None or not cycle:
        return None
    return money(i["pipeline.open"] * Decimal(str(rate)) * size / cycle)


def _f(inputs: tuple[str, ...], compute: object, total: Aggregate = Aggregate.INPUTS) -> Formula:
    return Formula(inputs=inputs, compute=compute, needs=NEEDS, total=total)  # type: ignore[arg-type]


WON = ("deals.won", "deals.won.amount")
FORMULAS: dict[str, Formula] = {
    "pipeline_value": _f(("pipeline.open.amount",), lambda i: money(i["pipeline.open.amount"])),
    "weighted_pipeline": _f(("pipeline.open.weighted",), lambda i: money(i["pipeline.open.weighted"])),
    "open_count": _f(("pipeline.open",), lambda i: int(i["pipeline.open"])),
    "won_count": _f(("deals.won",), lambda i: int(i["deals.won"])),
    "lost_count": _f(("deals.lost",), lambda i: int(i["deals.lost"])),
    "deal_count": _f(("deals.registered",), lambda i: int(i["deals.registered"])),
    "win_rate": _f(("deals.won", "deals.lost"), _win_rate),
    "average_won_deal_size": _f(WON, lambda i: per(i["deals.won.amount"], i["deals.won"])),
    "time_to_close_days": _f(("deals.won.days", "deals.won.measured"), _cycle),
    "sales_velocity": _f(
        (
            "pipeline.open",
            "deals.won",
            "deals.lost",
            "deals.won.amount",
            "deals.won.days",
            "deals.won.measured",
        ),
        _velocity,
    ),
    "won_revenue": _f(("deals.won.amount",), lambda i: money(i["deals.won.amount"])),
    "sourced_revenue": _f(("deals.won.sourced.amount",), lambda i: money(i["deals.won.sourced.amount"])),
    "influenced_revenue": _f(
        ("deals.won.influenced.amount",), lambda i: money(i["deals.won.influenced.amount"])
    ),
    "sourced_share": _f(
        ("deals.won.sourced.amount", "deals.won.amount"),
        lambda i: ratio(i["deals.won.sourced.amount"], i["deals.won.amount"]),
    ),
    "influenced_share": _f(
        ("deals.won.influenced.amount", "deals.won.amount"),
        lambda i: ratio(i["deals.won.influenced.amount"], i["deals.won.amount"]),
    ),
    "revenue_per_partner": _f(("deals.won.amount",), lambda i: per(i["deals.won.amount"], i.partners)),
    "average_revenue_per_partner": _f(
        ("deals.won.amount",), lambda i: per(i["deals.won.amount"], i.partners)
    ),
}
