"""What one deal adds to the rollups, as a pure function of its state and stage history.

Every write applies ``contributions(after) - contributions(before)`` in its own transaction and a rebuild
sums ``contributions`` over all deals, so the increments equal a rebuild by construction.

Flows, on the UTC day they happen, per (partner, currency, day) — columns of ``DealDayRollup``:

* ``registered``/``registered_amount`` on the registration day; ``registered_all`` counts rejected and
  expired registrations too (the deals "counted apart" in another currency are all of them);
* a won deal on its close day (``closed_at``, or the day it entered its won stage when it has none):
  ``won``/``won_amount``, by source ``won_sourced[_amount]``/``won_influenced[_amount]``, and, when it has
  a close time not before its registration, ``won_measured`` and ``won_days`` (calendar days registration
  → close) and one entry in the days-to-close histogram (``DealCloseDays``); each co-seller gets
  ``cosell_won``/``cosell_won_amount`` on its own row;
* a lost deal: ``lost``/``lost_amount`` on its close day.

Stocks, per (partner, currency, stage) — ``DealStageRollup``: +1 deal, +amount, +registration day number
on the day the deal entered a stage and the opposite on the day it left, from its stage history (a deal
without history sits in its stage from registration; a history that does not end in the deal's stage
gets that stage from ``stage_changed_at``). Summed up to a day, they give what sat in each stage at the
end of that day.

Rejected and expired registrations add nothing but ``registered_all`` (they are left out of every figure,
as before); figures are kept per currency and read in the reporting one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

C = TypeVar("C")
EXCLUDED_STATUSES = frozenset({"rejected", "expired"})

# The flow columns of DealDayRollup, in their order in a flow vector.
FLOW_COLUMNS: tuple[str, ...] = (
    "registered",
    "registered_amount",
    "registered_all",
    "won",
    "won_amount",
    "won_sourced",
    "won_sourced_amount",
    "won_influenced",
    "won_influenced_amount",
    "won_measured",
    "won_days",
    "lost",
    "lost_amount",
    "cosell_won",
    "cosell_won_amount",
)
STAGE_COLUMNS: tuple[str, ...] = ("count", "amount", "reg_days")
_F = {name: i for i, name in enumerate(FLOW_COLUMNS)}

Number = int | Decimal
FlowCell = tuple[int, str, datetime.date, int]  # (partner, currency, day, flow column index)
StageCell = tuple[int, str, int, datetime.date, int]  # (partner, currency, stage, day, stage column index)
CloseCell = tuple[int, str, datetime.date, int]  # (partner, currency, close day, days to close)


def utc_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


@dataclass(frozen=True, slots=True)
class DealState:
    """A deal as the rollups see it. ``history`` is its stage changes in order: (stage id, changed at);
    ``outcomes`` maps stage ids to "open"/"won"/"lost" (at least the deal's stages)."""

    partner_id: int
    currency: str
    amount: Decimal
    source: str
    approval_status: str
    registered_at: datetime.datetime
    closed_at: datetime.datetime | None
    stage_id: int
    stage_changed_at: datetime.datetime
    history: Sequence[tuple[int, datetime.datetime]] = ()
    co_sellers: Sequence[int] = ()


@dataclass(slots=True)
class Contributions:
    flows: dict[FlowCell, Number] = field(default_factory=dict)
    stages: dict[StageCell, Number] = field(default_factory=dict)
    closes: dict[CloseCell, int] = field(default_factory=dict)

    def add(self, other: Contributions, sign: int = 1) -> None:
        """Add ``other`` (``sign`` -1: subtract it), dropping cells that become 0."""
        _merge(self.flows, other.flows, sign)
        _merge(self.stages, other.stages, sign)
        _merge(self.closes, other.closes, sign)

    def __bool__(self) -> bool:
        return bool(self.flows or self.stages or self.closes)


def _merge(into: MutableMapping[C, Any], cells: Mapping[C, Any], sign: int) -> None:
    for cell, value in cells.items():
        total = into.get(cell, 0) + (value if sign == 1 else -value)
        if total:
            into[cell] = total
        else:
            into.pop(cell, None)


def _bump(
    cells: dict[FlowCell, Number], key: tuple[int, str, datetime.date], column: str, value: Number
) -> None:
    if value:
        cell = (*key, _F[column])
        cells[cell] = cells.get(cell, 0) + value


def spans(state: DealState) -> list[tuple[int, datetime.datetime]]:
    """(stage, entered at) of each stay, in order; each ends where the next begins."""
    stays = list(state.history)
    if not stays:
        return [(state.stage_id, state.registered_at)]
    if stays[-1][0] != state.stage_id:
        stays.append((state.stage_id, max(state.stage_changed_at, stays[-1][1])))
    return stays


def contributions(
    state: DealState, outcomes: Mapping[int, str], into: Contributions | None = None
) -> Contributions:
    """The cells one deal adds (added into ``into`` when given, which is returned)."""
    out = into if into is not None else Contributions()
    partner, currency = state.partner_id, state.currency
    registered_day = utc_day(state.registered_at)
    flows = out.flows
    _bump(flows, (partner, currency, registered_day), "registered_all", 1)
    if state.approval_status in EXCLUDED_STATUSES:
        return out
    amount = state.amount
    day_key = (partner, currency, registered_day)
    _bump(flows, day_key, "registered", 1)
    _bump(flows, day_key, "registered_amount", amount)
    outcome = outcomes[state.stage_id]
    if outcome != "open":
        closed = state.closed_at
        close_day = utc_day(closed if closed is not None else state.stage_changed_at)
        key = (partner, currency, close_day)
        if outcome == "won":
            _bump(flows, key, "won", 1)
            _bump(flows, key, "won_amount", amount)
            source = "won_sourced" if state.source == "sourced" else "won_influenced"
            _bump(flows, key, source, 1)
            _bump(flows, key, f"{source}_amount", amount)
            if closed is not None and closed >= state.registered_at:
                days = (close_day - registered_day).days
                _bump(flows, key, "won_measured", 1)
                _bump(flows, key, "won_days", days)
                close_cell = (partner, currency, close_day, days)
                out.closes[close_cell] = out.closes.get(close_cell, 0) + 1
            for co_seller in state.co_sellers:
                co_key = (co_seller, currency, close_day)
                _bump(flows, co_key, "cosell_won", 1)
                _bump(flows, co_key, "cosell_won_amount", amount)
        else:
            _bump(flows, key, "lost", 1)
            _bump(flows, key, "lost_amount", amount)
    stays = spans(state)
    reg_number = registered_day.toordinal()
    stages = out.stages
    for i, (stage, entered) in enumerate(stays):
        for day, sign in (
            (utc_day(entered), 1),
            (utc_day(stays[i + 1][1]) if i + 1 < len(stays) else None, -1),
        ):
            if day is None:
                continue
            for column, value in ((0, 1), (1, amount), (2, reg_number)):
                if value:
                    cell = (partner, currency, stage, day, column)
                    total = stages.get(cell, 0) + sign * value
                    if total:
                        stages[cell] = total
                    else:
                        stages.pop(cell, None)
    return out


def total_contributions(states: Iterable[DealState], outcomes: Mapping[int, str]) -> Contributions:
    out = Contributions()
    for state in states:
        contributions(state, outcomes, out)
    return out


def delta(
    before: Iterable[DealState], after: Iterable[DealState], outcomes: Mapping[int, str]
) -> Contributions:
    """What changing deals from ``before`` to ``after`` changes in the rollups."""
    change = total_contributions(after, outcomes)
    change.add(total_contributions(before, outcomes), sign=-1)
    return change
