"""Chart options and their server-side SVG rendering (ECharts under Node), and the chart library served
as a local static file."""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib.staticfiles import finders

from openprm.dashboards import charts


def revenue() -> charts.Chart:
    return charts.axis_chart(
        title="Partner revenue by month",
        categories=["Oct 2026", "Nov 2026"],
        series=[("Partner-sourced revenue", [Decimal("1200.50"), None])],
        unit=charts.Unit.currency("EUR"),
        x_name="Month",
        kind="bar",
        empty="Register deals.",
    )


def test_a_chart_option_has_title_axes_with_units_tooltip_and_legend() -> None:
    option = revenue().option
    assert option["title"]["text"] == "Partner revenue by month"
    assert option["xAxis"]["name"] == "Month" and option["yAxis"]["name"] == "EUR"
    assert option["tooltip"]["trigger"] == "axis" and "legend" in option
    assert option["series"][0]["data"] == [1200.5, None]
    assert "graphic" not in option


def test_ratios_are_drawn_as_percents_on_a_0_to_100_axis() -> None:
    chart = charts.axis_chart(
        title="Win rate",
        categories=["Nov 2026"],
        series=[("Win rate", [Decimal("0.6667")])],
        unit=charts.PERCENT,
        x_name="Month",
        empty="Close deals.",
    )
    assert chart.option["series"][0]["data"] == [66.7]
    assert chart.option["yAxis"]["max"] == 100 and chart.as_json()["unit"] == "percent"


def test_the_same_option_renders_to_svg_on_the_server() -> None:
    svg = charts.render_svg(revenue().option, 640, 320)
    assert svg.startswith("<svg") and 'width="640"' in svg and 'height="320"' in svg
    assert "Partner revenue by month" in svg and "EUR" in svg and "Oct 2026" in svg
    assert "<path" in svg  # the bar is drawn


def test_an_empty_chart_says_what_to_do_next_on_screen_and_in_the_svg() -> None:
    chart = charts.axis_chart(
        title="Win rate",
        categories=["Nov 2026"],
        series=[("Win rate", [None])],
        unit=charts.PERCENT,
        x_name="Month",
        empty="No deals were closed: close deals to see the win rate.",
    )
    assert chart.empty == "No deals were closed: close deals to see the win rate."
    svg = charts.render_svg(chart.option, 400, 300)
    words = " ".join(re.findall(r">([^<>]+)</text>", svg))  # wrapped: one <text> per line
    assert "No deals were closed: close deals to see the win rate." in " ".join(words.split())


def test_the_chart_library_is_a_local_static_file_from_the_npm_lockfile() -> None:
    found = finders.find("vendor/echarts/echarts.min.js")
    assert found and str(found).endswith("node_modules/echarts/dist/echarts.min.js")
    assert finders.find("vendor/echarts/echarts.js") in (None, [])  # only the listed files are exposed
