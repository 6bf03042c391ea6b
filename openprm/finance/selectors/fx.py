"""Exchange rates for converting amounts at an event's date.

``fx_table(workspace_id=…, start=…, end=…)`` loads every rate a conversion of a day in ``[start, end]``
may need — the days of the range plus ``max_age_days`` before it — in one query, and answers
``FxTable.rate(from_ccy, to_ccy, day) -> (rate, rate_day)`` from memory, where
``amount_in_to_ccy = amount_in_from_ccy × rate`` and ``rate_day`` is the day of the rate used:

- the same currency → ``(Decimal(1), day)``;
- otherwise the latest stored day on or before ``day`` that can price the pair: directly (a row
  ``from → to``), inversely (a row ``to → from``: ``1 / rate``) or crossed through a base both are quoted
  against (rows ``B → from`` and ``B → to`` of the same day: ``rate_to / rate_from``; the ECB file's base
  is EUR). The latest day wins; on one day, direct before inverse before cross (bases in alphabetical
  order), so the answer never depends on row order;
- a rate older than ``max_age_days`` (7 by default: a long weekend and a holiday stay covered, a stale
  table does not), or none at all, raises :class:`MissingRate` naming the pair, the day and the last day
  a rate was known.

Computed rates (inverse, cross) are rounded half-even to 14 decimal places (at least 8 significant digits
for any rate between 10⁻⁶ and 10¹⁴); every rate comes back with trailing zeros dropped, so the same rows
give byte-identical rates on SQLite and PostgreSQL. Rates are workspace-wide internal data: this reads the
given workspace's rows whatever partner the active scope is limited to (callers convert amounts partners
may see, never the rates table itself); a scope of another workspace is refused.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.scoping import ScopeError, active_scope_or_none, unscoped
from openprm.finance.filters import FxFilters
from openprm.finance.models import FxRate

ONE = Decimal(1)
PLACES = Decimal("1e-14")
DEFAULT_MAX_AGE_DAYS = 7
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)

Pair = tuple[str, str]


class MissingRate(ValueError):
    """No usable rate converts ``from_ccy`` into ``to_ccy`` on ``day`` (none at all, or only one older
    than the table's maximum age, whose day is ``last_known``)."""

    def __init__(
        self, from_ccy: str, to_ccy: str, day: datetime.date, *, last_known: datetime.date | None = None
    ) -> None:
        self.from_ccy = from_ccy
        self.to_ccy = to_ccy
        self.day = day
        self.last_known = last_known
        if last_known is None:
            message = f"No exchange rate {from_ccy}→{to_ccy} on or before {day.isoformat()}."
        else:
            message = (
                f"No exchange rate {from_ccy}→{to_ccy} on {day.isoformat()}: the last known is of "
                f"{last_known.isoformat()}, {(day - last_known).days} days earlier (older than the "
                "maximum age allowed)."
            )
        super().__init__(message)


def tidy(rate: Decimal) -> Decimal:
    """``rate`` at 14 decimal places at most, trailing zeros dropped, never in exponent form."""
    rate = rate.quantize(PLACES, context=_CONTEXT).normalize(_CONTEXT)
    return rate.quantize(ONE) if rate.as_tuple().exponent > 0 else rate  # type: ignore[operator]


@dataclass
class FxTable:
    """Rates of a workspace loaded for days in ``[start, end]`` (see the module doc)."""

    start: datetime.date
    end: datetime.date
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    # (base, quote) -> days ascending and their rates; base -> its quotes
    _rows: dict[Pair, list[tuple[datetime.date, Decimal]]] = field(default_factory=dict)
    _quotes: dict[str, set[str]] = field(default_factory=dict)
    _cache: dict[tuple[str, str, datetime.date], tuple[Decimal, datetime.date] | None] = field(
        default_factory=dict
    )

    @classmethod
    def from_rows(
        cls,
        rows: list[tuple[datetime.date, str, str, Decimal]],
        *,
        start: datetime.date,
        end: datetime.date,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    ) -> FxTable:
        """A table over ``(day, base, quote, rate)`` rows (any order)."""
        by_pair: dict[Pair, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
        quotes: dict[str, set[str]] = defaultdict(set)
        for day, base, quote, rate in rows:
            by_pair[(base, quote)].append((day, tidy(rate)))
            quotes[base].add(quote)
        for days in by_pair.values():
            days.sort()
        return cls(start=start, end=end, max_age_days=max_age_days, _rows=dict(by_pair), _quotes=dict(quotes))

    @property
    def currencies(self) -> set[str]:
        """Every currency code the loaded rows name."""
        return {code for pair in self._rows for code in pair}

    def rate(self, from_ccy: str, to_ccy: str, day: datetime.date) -> tuple[Decimal, datetime.date]:
        """``(rate, rate_day)`` converting ``from_ccy`` into ``to_ccy`` on ``day``; raises
        :class:`MissingRate`, or ``ValueError`` for a day outside the loaded range (a caller's bug)."""
        from_ccy, to_ccy = from_ccy.upper(), to_ccy.upper()
        if from_ccy == to_ccy:
            return ONE, day
        if not self.start <= day <= self.end:
            raise ValueError(
                f"{day.isoformat()} is outside the loaded exchange-rate range "
                f"{self.start.isoformat()}…{self.end.isoformat()}."
            )
        key = (from_ccy, to_ccy, day)
        if key not in self._cache:
            self._cache[key] = self._find(from_ccy, to_ccy, day)
        found = self._cache[key]
        if found is None:
            raise MissingRate(from_ccy, to_ccy, day)
        rate, rate_day = found
        if (day - rate_day).days > self.max_age_days:
            raise MissingRate(from_ccy, to_ccy, day, last_known=rate_day)
        return rate, rate_day

    def _latest(self, pair: Pair, day: datetime.date) -> tuple[datetime.date, Decimal] | None:
        days = self._rows.get(pair)
        if not days:
            return None
        lo, hi = 0, len(days)
        while lo < hi:  # the first index whose day is after ``day``
            mid = (lo + hi) // 2
            if days[mid][0] <= day:
                lo = mid + 1
            else:
                hi = mid
        return days[lo - 1] if lo else None

    def _find(self, from_ccy: str, to_ccy: str, day: datetime.date) -> tuple[Decimal, datetime.date] | None:
        # candidates: (rate day, preference: lower wins on one day, rate)
        candidates: list[tuple[datetime.date, tuple[int, str], Decimal]] = []
        direct = self._latest((from_ccy, to_ccy), day)
        if direct is not None:
            candidates.append((direct[0], (0, ""), direct[1]))
        inverse = self._latest((to_ccy, from_ccy), day)
        if inverse is not None:
            candidates.append((inverse[0], (1, ""), tidy(_CONTEXT.divide(ONE, inverse[1]))))
        for base in sorted(self._quotes):
            if base in (from_ccy, to_ccy) or not {from_ccy, to_ccy} <= self._quotes[base]:
                continue
            crossed = self._latest_common(base, from_ccy, to_ccy, day)
            if crossed is not None:
                cross_day, from_rate, to_rate = crossed
                candidates.append((cross_day, (2, base), tidy(_CONTEXT.divide(to_rate, from_rate))))
        if not candidates:
            return None
        best = min(candidates, key=lambda c: (-c[0].toordinal(), c[1]))
        return best[2], best[0]

    def _latest_common(
        self, base: str, from_ccy: str, to_ccy: str, day: datetime.date
    ) -> tuple[datetime.date, Decimal, Decimal] | None:
        """The latest day on or before ``day`` with both ``base → from`` and ``base → to``."""
        from_days = dict(self._rows[(base, from_ccy)])
        for rate_day, to_rate in reversed(self._rows[(base, to_ccy)]):
            if rate_day <= day and rate_day in from_days:
                return rate_day, from_days[rate_day], to_rate
        return None


def fx_table(
    *,
    workspace_id: int,
    start: datetime.date,
    end: datetime.date,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> FxTable:
    """Every rate of the workspace needed to convert on any day in ``[start, end]``, in one query."""
    if end < start:
        raise ValueError(f"The range ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
    active = active_scope_or_none()
    if active is not None and active.workspace_id != workspace_id:
        raise ScopeError("Exchange rates of another workspace")
    first = start - datetime.timedelta(days=max_age_days)
    with unscoped():  # workspace-wide rates, whatever partner the scope is limited to (see module doc)
        rows = list(
            FxRate.objects.filter(workspace_id=workspace_id, day__gte=first, day__lte=end).values_list(
                "day", "base", "quote", "rate"
            )
        )
    return FxTable.from_rows(rows, start=start, end=end, max_age_days=max_age_days)


def can_read_fx(actor: Actor) -> bool:
    """Staff who may read commissions (every staff role) read the rates; partner users never."""
    return actor.is_staff and actor.can(Perm.COMMISSION_VIEW)


def fx_rate_list(*, actor: Actor, filters: FxFilters) -> QuerySet[FxRate]:
    """The workspace's rates, newest day first, filtered by a currency (base or quote) and days; a
    ValidationError naming the parameter when a filter cannot be applied (``FxFilters.errors``)."""
    if not can_read_fx(actor):
        raise PermissionDenied("Exchange rates are internal")
    if errors := filters.errors():
        raise ValidationError(errors)
    rows = FxRate.objects.select_related("created_by").order_by("-day", "base", "quote", "id")
    if filters.currency:
        rows = rows.filter(Q(base=filters.currency) | Q(quote=filters.currency))
    if filters.start is not None:
        rows = rows.filter(day__gte=filters.start)
    if filters.end is not None:
        rows = rows.filter(day__lte=filters.end)
    if filters.day is not None:
        rows = rows.filter(day=filters.day)
    return rows


def fx_rate_get(*, actor: Actor, public_id: uuid.UUID | str) -> FxRate:
    """One rate (``FxRate.DoesNotExist`` for a missing one, another workspace's, or a partner user)."""
    if not can_read_fx(actor):
        raise FxRate.DoesNotExist
    return FxRate.objects.get(public_id=public_id)


def fx_currencies(*, actor: Actor) -> list[str]:
    """Every currency code the workspace's rates name (the list page's currency choices)."""
    if not can_read_fx(actor):
        return []
    bases = FxRate.objects.values_list("base", flat=True).distinct()
    quotes = FxRate.objects.values_list("quote", flat=True).distinct()
    return sorted(set(bases) | set(quotes))


__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "FxTable",
    "MissingRate",
    "can_read_fx",
    "fx_currencies",
    "fx_rate_get",
    "fx_rate_list",
    "fx_table",
    "tidy",
]
