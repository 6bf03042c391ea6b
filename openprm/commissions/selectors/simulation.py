"""The what-if and the payout forecast as the pages and the API show them: the simulation service's
answers sorted and totalled, every month of the forecast window present, and their charts (the
dashboards' chart options: titled, named axes with units, legends)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openprm.dashboards.charts import Chart, Unit, axis_chart

ZERO = Decimal(0)


@dataclass
class WhatIf:
    """A simulation as the page and the API show it: totals, and partners sorted by the difference."""

    version_id: Any
    months: int
    start: datetime.date
    end: datetime.date
    currency: str
    partners: list[dict[str, Any]]

    @property
    def would_pay(self) -> Decimal:
        return sum((r["would_pay"] for r in self.partners), ZERO)

    @property
    def actual(self) -> Decimal:
        return sum((r["actual"] for r in self.partners), ZERO)

    @property
    def difference(self) -> Decimal:
        return self.would_pay - self.actual

    @property
    def events(self) -> int:
        return sum(int(r["events"]) for r in self.partners)

    @property
    def change_percent(self) -> str:
        if not self.actual:
            return ""
        return f"{self.difference / self.actual * 100:+.1f}%"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "months": self.months,
            "start": self.start,
            "end": self.end,
            "currency": self.currency,
            "would_pay": self.would_pay,
            "actual": self.actual,
            "difference": self.difference,
            "partners": self.partners,
        }


def whatif_of(simulation: Any) -> WhatIf:
    """``services.simulate.simulate_version``'s answer, partners sorted by the size of the difference."""
    rows = []
    for row in simulation.partners:
        would, actual = Decimal(row.would_pay), Decimal(row.actual)
        rows.append(
            {
                "partner_id": row.partner_public_id,
                "partner_name": row.partner_name,
                "would_pay": would,
                "actual": actual,
                "difference": would - actual,
                "events": row.events,
            }
        )
    rows.sort(key=lambda r: (-abs(r["difference"]), r["partner_name"]))
    return WhatIf(
        version_id=simulation.version.public_id,
        months=simulation.months,
        start=simulation.start,
        end=simulation.end,
        currency=simulation.currency,
        partners=rows,
    )


def whatif_chart(result: WhatIf, top: int = 15) -> Chart:
    """Horizontal bars: would-be vs actual per partner, the largest differences first."""
    rows = result.partners[:top]
    more = len(result.partners) - len(rows)
    chart = axis_chart(
        title="Would have paid vs actually accrued",
        subtitle=f"{result.start:%d %b %Y} – {result.end:%d %b %Y}, per partner"
        + (f" (the {top} largest differences of {len(result.partners)})" if more > 0 else ""),
        categories=[r["partner_name"] for r in rows],
        series=[
            ("Would have paid", [r["would_pay"] for r in rows]),
            ("Actually accrued", [r["actual"] for r in rows]),
        ],
        unit=Unit.currency(result.currency),
        x_name="Partner",
        kind="bar",
        horizontal=True,
        empty="No events in these months for the partners this plan applies to.",
    )
    # the amount axis named under its labels (at its end the name met the last label)
    chart.option["xAxis"].update(
        name=f"Commission ({result.currency})", nameLocation="middle", nameGap=28, nameTextStyle={}
    )
    chart.option["grid"]["bottom"] = 64
    chart.option["grid"]["left"] = 8
    return chart


def forecast_of(rows: Any, *, periods: int, today: datetime.date | None = None) -> list[dict[str, Any]]:
    """``services.simulate.payout_forecast``'s rows as plain dicts (month, currency, parts, total), every
    month of the window present for each currency (a month with nothing due reads 0)."""
    first = (today or timezone.localdate()).replace(day=1)
    months = []
    for _ in range(periods):
        months.append(first)
        first = (first + datetime.timedelta(days=32)).replace(day=1)
    cells: dict[tuple[str, datetime.date], dict[str, Any]] = {}
    for row in rows:
        pending, approved, pipeline = Decimal(row.pending), Decimal(row.approved), Decimal(row.pipeline)
        cells[(row.currency, row.period)] = {
            "period": row.period,
            "currency": row.currency,
            "pending": pending,
            "approved": approved,
            "pipeline": pipeline,
            "total": pending + approved + pipeline,
        }
    for currency in {c for c, _ in cells}:
        for month in months:
            cells.setdefault(
                (currency, month),
                {"period": month, "currency": currency, "pending": ZERO, "approved": ZERO, "pipeline": ZERO}
                | {"total": ZERO},
            )
    return [cells[key] for key in sorted(cells)]


def forecast_chart(rows: list[dict[str, Any]], currency: str) -> Chart:
    mine = [r for r in rows if r["currency"] == currency]
    return axis_chart(
        title=f"Payout forecast in {currency}",
        subtitle="Stacked: approved balance, pending whose hold ends, pipeline × win probability",
        categories=[f"{r['period']:%b %Y}" for r in mine],
        series=[
            ("Approved", [r["approved"] for r in mine]),
            ("Pending (hold ends)", [r["pending"] for r in mine]),
            ("Pipeline × probability", [r["pipeline"] for r in mine]),
        ],
        unit=Unit.currency(currency),
        x_name="Month",
        kind="bar",
        stack=True,
        empty="Nothing due in these months.",
    )
