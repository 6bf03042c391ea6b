"""Deal figures in other currencies: converted into the reporting currency with a rate table plugged in
by a higher layer (the finance app's FX table: this app may not import it), or counted apart.

``convert_with(loader)`` plugs the table in; every read then makes a :class:`Converter`, which loads the
rates of the days it converts in one query and remembers what no rate converted (:class:`Unconverted`).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Collection, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from openprm.deals.rollups.context import CENT, ZERO_CENTS

OTHER_CURRENCY = "deals.other_currency"


class Rates(Protocol):
    """Exchange rates: ``(rate, rate day)`` with ``amount in to_ccy = amount in from_ccy × rate``; a
    ``ValueError`` when no rate converts the pair on that day."""

    def rate(self, from_ccy: str, to_ccy: str, day: datetime.date) -> tuple[Decimal, datetime.date]: ...


RatesLoader = Callable[[int, datetime.date, datetime.date], Rates]
"""(workspace id, first day, last day) → the rates of those days, loaded at once."""

_LOADERS: list[RatesLoader] = []


def convert_with(loader: RatesLoader | None) -> None:
    """Plug in (or, None, take out) the rate table deal figures in other currencies convert with."""
    _LOADERS[:] = [loader] if loader is not None else []


@dataclasses.dataclass
class Unconverted:
    """Deals left out of a read's figures: registrations in ``currency`` on days no rate converts
    (``deals``), and the open deals in it left out of the pipeline at its end (``open_deals``; the day
    of the rate it lacked is among ``days``)."""

    currency: str
    deals: int = 0
    days: set[datetime.date] = dataclasses.field(default_factory=set)
    open_deals: int = 0


@dataclasses.dataclass
class Converter:
    """The conversions of one read into the reporting ``currency``, remembering what stayed apart."""

    workspace_id: int
    currency: str
    loader: RatesLoader
    apart: dict[str, Unconverted] = dataclasses.field(default_factory=dict)
    _rates: Rates | None = None
    _range: tuple[datetime.date, datetime.date] | None = None
    _known: dict[tuple[str, datetime.date], Decimal | None] = dataclasses.field(default_factory=dict)
    _expected: list[datetime.date] = dataclasses.field(default_factory=list)

    def expect(self, *days: datetime.date) -> None:
        """Days later reads will want rates of: the first load (if any: a read finding no other
        currency loads nothing) covers them too, so one query serves a whole request or series."""
        self._expected.extend(days)

    def load(self, days: Collection[datetime.date]) -> None:
        """Load the rates of ``days`` (and what the table needs before them) in one query."""
        if not days:
            return
        first, last = min(days), max(days)
        if self._expected:
            first, last = min(first, *self._expected), max(last, *self._expected)
        if self._range is not None:
            first, last = min(first, self._range[0]), max(last, self._range[1])
            if (first, last) == self._range:
                return
        self._rates, self._range = self.loader(self.workspace_id, first, last), (first, last)

    def rate(self, currency: str, day: datetime.date) -> Decimal | None:
        key = (currency, day)
        if key not in self._known:
            self.load([day])
            try:
                self._known[key] = self._rates.rate(currency, self.currency, day)[0] if self._rates else None
            except ValueError:
                self._known[key] = None
        return self._known[key]

    def left_out(self, currency: str, day: datetime.date, deals: int, *, stock: bool = False) -> None:
        """Remember ``deals`` in ``currency`` no rate of ``day`` converts: registrations of that day, or
        (``stock``) deals in the stages read at that day."""
        entry = self.apart.setdefault(currency, Unconverted(currency))
        if stock:
            entry.open_deals += deals
        else:
            entry.deals += deals
        entry.days.add(day)


def converter_for(workspace_id: int, currency: str) -> Converter | None:
    return Converter(workspace_id, currency, _LOADERS[0]) if _LOADERS else None


def as_date(value: Any) -> datetime.date:
    """A date column read through the cursor (SQLite hands back text)."""
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def convert_days(
    converter: Converter, found: Sequence[Sequence[Any]], columns: list[str], cents: Callable[[Any], Decimal]
) -> dict[int, dict[str, Any]]:
    """Day rows ``(partner, currency, day, registered_all, *columns)`` in other currencies, per partner:
    the counts added, each day's amounts at that day's rate rounded to cents; a day no rate converts
    adds its registrations to ``deals.other_currency`` (and to ``converter.apart``)."""
    days = [as_date(row[2]) for row in found]
    converter.load(days)
    out: dict[int, dict[str, Any]] = {}
    for (partner_id, currency, _, registered_all, *values), day in zip(found, days, strict=True):
        entry = out.setdefault(partner_id, {})
        rate = converter.rate(currency, day)
        if rate is None:
            entry[OTHER_CURRENCY] = int(entry.get(OTHER_CURRENCY) or 0) + int(registered_all or 0)
            converter.left_out(currency, day, int(registered_all or 0))
            continue
        for name, value in zip(columns, values, strict=True):
            if name.endswith(".amount"):
                entry[name] = entry.get(name, ZERO_CENTS) + (cents(value) * rate).quantize(
                    CENT, ROUND_HALF_UP
                )
            else:
                entry[name] = int(entry.get(name) or 0) + int(value or 0)
    return out
