"""The long-lived Node chart renderer (``charts.Renderer``): the one-shot renderer's SVG byte for byte, one
Node process for many charts, restarted when it dies or after its share of charts, a failed or slow chart
reported, safe across threads, stopped when idle or closed."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from openprm.dashboards import charts


def options() -> list[dict[str, Any]]:
    """Charts of every shape the pages and reports draw."""
    return [
        charts.axis_chart(
            title="Partner revenue by month",
            subtitle="Won deals",
            categories=["Sep 2026", "Oct 2026", "Nov 2026"],
            series=[("Sourced", [Decimal("1200.50"), None, 300]), ("Influenced", [10, 20, 30])],
            unit=charts.Unit.currency("EUR"),
            x_name="Month",
            kind="bar",
            stack=True,
            empty="Register deals.",
        ).option,
        charts.axis_chart(
            title="Win rate",
            categories=["Q1", "Q2"],
            series=[("Win rate", [Decimal("0.25"), Decimal("0.5")])],
            unit=charts.PERCENT,
            x_name="Quarter",
            empty="Close deals.",
        ).option,
        charts.axis_chart(
            title="Top partners",
            categories=[f"Partner {n}" for n in range(12)],
            series=[("Revenue", list(range(12)))],
            unit=charts.Unit.currency("USD"),
            x_name="",
            kind="bar",
            horizontal=True,
            empty="No revenue.",
        ).option,
        charts.pie_chart(
            title="Partners by tier",
            items=[("Gold", 3), ("Silver", 5), ("Bronze", 1)],
            unit=charts.count("partners"),
            empty="Add partners.",
        ).option,
        charts.axis_chart(
            title="Meetings",
            categories=["Nov 2026"],
            series=[("Meetings", [None])],
            unit=charts.count("meetings"),
            x_name="Month",
            empty="Log meetings to see them here.",
        ).option,
    ]


@pytest.fixture
def renderer() -> Iterator[charts.Renderer]:
    made = charts.Renderer()
    yield made
    made.close()


def test_the_long_lived_renderer_writes_the_one_shot_svg_byte_for_byte(renderer: charts.Renderer) -> None:
    wanted = [charts.render_svg_once(option, 720, 300) for option in options()]
    # several rounds: zrender's per-process counters have moved on by the later ones
    got = renderer.render_many([(option, 720, 300) for option in options() * 3])
    assert got == wanted * 3
    assert renderer.started == 1  # one Node process for fifteen charts
    assert charts.render_svg(options()[0], 720, 300) == wanted[0]  # the process's own renderer too


def test_a_renderer_that_died_is_restarted_and_the_chart_is_drawn(renderer: charts.Renderer) -> None:
    option = options()[1]
    first = renderer.render(option, 400, 300)
    pid = renderer.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert renderer.render(option, 400, 300) == first
    assert renderer.started == 2 and renderer.pid not in (None, pid)


def test_a_failing_chart_says_why_and_the_next_one_renders(renderer: charts.Renderer) -> None:
    with pytest.raises(RuntimeError, match="rendering the chart failed: TypeError"):
        renderer.render(None, 400, 300)  # type: ignore[arg-type]  # no option at all
    assert renderer.render(options()[3], 400, 300).startswith("<svg")
    assert renderer.started == 1  # the error did not cost the process


def test_a_chart_taking_longer_than_the_timeout_stops_the_renderer() -> None:
    slow = charts.Renderer(timeout=0.001)  # starting Node alone takes longer
    with pytest.raises(RuntimeError, match=r"took more than 0\.001 s"):
        slow.render(options()[0], 400, 300)
    assert slow.pid is None
    slow.timeout = 30
    assert slow.render(options()[0], 400, 300).startswith("<svg")  # and it starts again when asked
    slow.close()


def test_threads_share_one_renderer_and_each_gets_its_own_chart(renderer: charts.Renderer) -> None:
    shapes = options()
    wanted = [renderer.render(option, 500, 300) for option in shapes]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda i: renderer.render(shapes[i % 5], 500, 300), range(20)))
    assert got == [wanted[i % 5] for i in range(20)]
    assert renderer.started == 1


def test_an_idle_or_closed_renderer_stops_its_node_process() -> None:
    idle = charts.Renderer(idle=0.3)
    idle.render(options()[0], 400, 300)
    pid = idle.pid
    assert pid is not None
    time.sleep(1.5)
    assert idle.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped
    idle.render(options()[0], 400, 300)
    assert idle.started == 2
    idle.close()
    assert idle.pid is None


def test_a_renderer_is_replaced_after_its_share_of_charts() -> None:
    recycled = charts.Renderer(recycle=2)
    option = options()[1]
    first = recycled.render(option, 400, 300)
    assert [recycled.render(option, 400, 300) for _ in range(4)] == [first] * 4
    assert recycled.started == 3  # charts 1-2, 3-4, 5
    recycled.close()
