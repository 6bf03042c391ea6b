"""Chart options: the one JSON description of a chart, rendered by ECharts in the browser (``dashboards.js``)
and, the same JSON, to SVG on the server for PDF reports (:func:`render_svg`, ECharts' server-side
rendering under Node).

Every chart has a title, named axes with their unit, tooltips and a legend (toggling a series in the
browser), and an empty state that says what to do next (drawn by ECharts itself, so the SVG shows it too).
Values reach a chart as the metric engine computed them; ratios are drawn as percents.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openprm.dashboards import node

SSR_SCRIPT = Path(__file__).parent / "js" / "render_svg.cjs"
SSR_TIMEOUT_SECONDS = 30
PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
MUTED = "#667085"

Number = Decimal | int | float | datetime.date | None  # what the engine gives (a date is not drawn)


@dataclass(frozen=True)
class Unit:
    """How a chart's values read: the axis name and the tooltip's format (``dashboards.js``)."""

    axis: str  # "EUR", "%", "partners"
    kind: str  # "currency" | "percent" | "count" | "days"

    @classmethod
    def currency(cls, code: str) -> Unit:
        return cls(code, "currency")


PERCENT = Unit("%", "percent")
DAYS = Unit("days", "days")


def count(noun: str) -> Unit:
    return Unit(noun, "count")


@dataclass
class Chart:
    """One chart as the page and the SVG renderer receive it."""

    option: dict[str, Any]
    unit: Unit
    empty: str = ""  # what to do next when the chart has no data ("" when it has)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the chart's figures, as a table reads them

    def as_json(self) -> dict[str, Any]:
        return {"option": self.option, "unit": self.unit.kind, "axis": self.unit.axis, "empty": self.empty}


def plain(value: Number, unit: Unit) -> float | None:
    """A value as drawn: a float (JSON), ratios as percents rounded to 0.1."""
    if value is None or isinstance(value, datetime.date):
        return None
    number = float(value)
    if unit.kind == "percent":
        return round(number * 100, 1)
    return round(number, 2)


def _base(title: str, subtitle: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "subtext": subtitle, "left": 0, "textStyle": {"fontSize": 14}},
        "color": PALETTE,
        "tooltip": {"trigger": "axis", "confine": True},
        # the gap leaves room for wider fonts than ECharts measured (server-side SVG in PDFs)
        "legend": {"bottom": 0, "left": "center", "type": "scroll", "itemGap": 28},
        # the value axis's name (its unit) sits above the plot, below the subtitle
        "grid": {"left": 8, "right": 16, "top": 88 if subtitle else 72, "bottom": 32, "containLabel": True},
        "textStyle": {"fontFamily": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
        "animation": True,
    }


def _empty(option: dict[str, Any], message: str) -> dict[str, Any]:
    option["graphic"] = [
        {
            "type": "text",
            "left": "center",
            "top": "middle",
            "style": {
                "text": message,
                "fill": MUTED,
                "fontSize": 13,
                "lineHeight": 18,
                "width": 280,
                "overflow": "break",
                "align": "center",
            },
        }
    ]
    return option


def _has_data(series: Sequence[tuple[str, Sequence[Number]]]) -> bool:
    return any(v is not None and v != 0 for _, values in series for v in values)


def axis_chart(
    *,
    title: str,
    subtitle: str = "",
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    unit: Unit,
    x_name: str,
    kind: str = "line",
    stack: bool = False,
    horizontal: bool = False,
    every_label: bool = False,
    empty: str,
) -> Chart:
    """A line or bar chart over categories (months, stages, partners): one series per (name, values).
    ``empty`` is shown instead when every value is missing or zero."""
    option = _base(title, subtitle)
    category_axis: dict[str, Any] = {
        "type": "category",
        "name": x_name,
        "nameLocation": "middle",
        "nameGap": 28,
        "data": list(categories),
        "axisLabel": {"hideOverlap": True},
    }
    rotated = every_label and len(categories) > 4
    if every_label:  # named categories (stages, cohorts): each one labelled, slanted when they are many
        category_axis["axisLabel"] = {
            "interval": 0,
            "rotate": (45 if len(categories) > 10 else 30) if rotated else 0,
            "width": 110,
            "overflow": "truncate",
        }
        category_axis["nameGap"] = 64 if rotated else 28
    value_axis: dict[str, Any] = {"type": "value", "name": unit.axis, "nameTextStyle": {"align": "left"}}
    if unit.kind == "percent":
        value_axis.update(min=0, max=100)
    if horizontal:  # bars of named things (partners): the names are the axis, the title says what they are
        category_axis.update(inverse=True, name="")
        category_axis["axisLabel"] = {"width": 130, "overflow": "truncate", "interval": 0}
        value_axis["axisLabel"] = {"hideOverlap": True}
        value_axis["splitNumber"] = 3
        value_axis.update(nameLocation="end", nameTextStyle={"align": "right", "verticalAlign": "top"})
        option.update(xAxis=value_axis, yAxis=category_axis)
        option["grid"]["right"] = 24
    else:
        option.update(xAxis=category_axis, yAxis=value_axis)
        option["grid"]["bottom"] = 92 if rotated else 56
    option["series"] = [
        {
            "name": name,
            "type": kind,
            "data": [plain(v, unit) for v in values],
            **({"stack": "total"} if stack else {}),
            **({"smooth": False, "connectNulls": False, "showSymbol": True} if kind == "line" else {}),
        }
        for name, values in series
    ]
    has_data = _has_data(series)
    return Chart(
        option=option if has_data else _empty(option, empty), unit=unit, empty="" if has_data else empty
    )


def pie_chart(
    *, title: str, subtitle: str = "", items: Sequence[tuple[str, Number]], unit: Unit, empty: str
) -> Chart:
    """Shares of a whole (partners by tier): one slice per (name, value)."""
    option = _base(title, subtitle)
    option["tooltip"] = {"trigger": "item", "confine": True}
    option["legend"] = {"type": "scroll", "bottom": 0, "left": "center", "itemGap": 28}
    option["series"] = [
        {
            "name": title,
            "type": "pie",
            "radius": ["32%", "58%"],
            "center": ["50%", "54%"],
            "minShowLabelAngle": 14,  # small slices: in the tooltip and the legend, not as crowded labels
            "label": {"position": "inside", "formatter": "{c}", "color": "#fff", "fontWeight": "bold"},
            "data": [{"name": name, "value": plain(value, unit)} for name, value in items],
        }
    ]
    has_data = any(plain(value, unit) for _, value in items)
    return Chart(
        option=option if has_data else _empty(option, empty), unit=unit, empty="" if has_data else empty
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def render_svg(option: dict[str, Any], width: int, height: int) -> str:
    """The chart ``option`` (as the browser gets it) rendered to an SVG document by ECharts' server-side
    renderer under Node (``node.executable``); a ``RuntimeError`` carries Node's message when it fails."""
    payload = json.dumps({"option": option, "width": width, "height": height}, default=_json_default)
    try:
        done = subprocess.run(  # noqa: S603  # our script and the located node, the option on stdin
            [node.executable(), str(SSR_SCRIPT)],
            input=payload,
            capture_output=True,
            text=True,
            env=node.environment(),
            timeout=SSR_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"rendering the chart took more than {SSR_TIMEOUT_SECONDS} s") from error
    if done.returncode != 0:
        raise RuntimeError(f"rendering the chart failed: {done.stderr.strip()[-500:]}")
    return done.stdout
