"""Chart options: the one JSON description of a chart, rendered by ECharts in the browser (``dashboards.js``)
and, the same JSON, to SVG on the server for PDF reports (:func:`render_svg`, ECharts' server-side
rendering under Node, in one long-lived Node process per Python process).

Every chart has a title, named axes with their unit, tooltips and a legend (toggling a series in the
browser), and an empty state that says what to do next (drawn by ECharts itself, so the SVG shows it too).
Values reach a chart as the metric engine computed them; ratios are drawn as percents.
"""

from __future__ import annotations

import atexit
import collections
import datetime
import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openprm.dashboards import node

SSR_SCRIPT = Path(__file__).parent / "js" / "render_svg.cjs"
SSR_TIMEOUT_SECONDS = 30  # one chart
SSR_IDLE_SECONDS = 600  # the long-lived renderer stops after this long unused (restarted when needed)
SSR_RECYCLE_CHARTS = 1000  # ... and is replaced after this many charts (its heap grows slowly: ~150 MB)
PIPE_CHUNK = 1 << 16
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
    """The chart without data: its message where the plot would be, and no axes or legend to read."""
    for axis in ("xAxis", "yAxis"):
        if axis in option:
            option[axis]["show"] = False
    option["legend"]["show"] = False
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
        # the unit under the axis, centred: at the axis's end it sat on the last tick's label
        value_axis.update(nameLocation="middle", nameGap=28, nameTextStyle={})
        option.update(xAxis=value_axis, yAxis=category_axis)
        option["grid"].update(right=24, bottom=56)
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
    # every slice named, the legend's lines wrapping (a scrolling legend hid most of them, in PDFs too);
    # the ring above the legend
    option["legend"] = {"type": "plain", "bottom": 0, "left": "center", "itemGap": 14}
    option["series"] = [
        {
            "name": title,
            "type": "pie",
            "radius": ["28%", "50%"],
            "center": ["50%", "48%"],
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


def _ready(fd: int, event: int, deadline: float) -> bool:
    """Whether ``fd`` is ready for ``event`` before ``deadline`` (poll: any fd number, unlike select)."""
    poller = select.poll()
    poller.register(fd, event | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(max(0, int((deadline - time.monotonic()) * 1000))))


class _Ended(Exception):
    """The Node renderer ended (or closed its output) in the middle of a chart."""


class Renderer:
    """A long-lived Node process rendering charts to SVG (``render_svg.cjs --serve``), one per Python
    process: started on first use, one JSON line per chart each way, restarted when it dies (the chart
    it died on is tried once more in a fresh one), replaced after ``recycle`` charts, stopped after
    ``idle`` seconds unused, after a chart taking more than ``timeout`` seconds, and at exit. Thread-safe
    (one chart at a time: they take a few milliseconds each). A forked child starts its own rather than
    share its parent's pipes.

    The SVG is the one-shot renderer's (:func:`render_svg_once`), byte for byte; starting Node and loading
    ECharts (~0.4 s) is paid once per process instead of once per chart."""

    def __init__(
        self,
        *,
        timeout: float = SSR_TIMEOUT_SECONDS,
        idle: float = SSR_IDLE_SECONDS,
        recycle: int = SSR_RECYCLE_CHARTS,
    ) -> None:
        self.timeout = timeout
        self.idle = idle
        self.recycle = recycle
        self._served = 0  # charts the running process has rendered
        self.started = 0  # Node processes started so far (the bench and the tests read it)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0  # the pid of the Python process that started ``_process``
        self._buffer = b""
        self._errors: collections.deque[str] = collections.deque(maxlen=40)  # Node's last stderr lines
        self._count = 0
        self._idle_timer: threading.Timer | None = None
        self._drainer: threading.Thread | None = None  # reads Node's stderr into ``_errors``

    @property
    def pid(self) -> int | None:
        """The running Node process's pid, or None."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def render(self, option: dict[str, Any], width: int, height: int) -> str:
        return self.render_many([(option, width, height)])[0]

    def render_many(self, charts: Sequence[tuple[dict[str, Any], int, int]]) -> list[str]:
        """Each ``(option, width, height)`` as an SVG document, in order; a ``RuntimeError`` carries
        Node's message when a chart fails."""
        requests = [
            json.dumps({"option": o, "width": w, "height": h}, default=_json_default) for o, w, h in charts
        ]
        with self._lock:
            self._cancel_idle()
            try:
                return [self._render(request) for request in requests]
            finally:
                self._arm_idle()

    def close(self) -> None:
        """Stop the Node process (it ends when its input closes; killed if it does not within 2 s)."""
        with self._lock:
            self._cancel_idle()
            self._stop()

    def forget(self) -> None:
        """In a forked child: drop the parent's Node process without stopping it (it is the parent's)."""
        self._lock = threading.Lock()
        self._idle_timer = self._drainer = None
        process, self._process = self._process, None
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    # one chart

    def _render(self, request: str) -> str:
        for attempt in (1, 2):
            process = self._running()
            self._count += 1
            line = (f'{{"id": {self._count}, ' + request[1:] + "\n").encode()
            deadline = time.monotonic() + self.timeout
            try:
                self._send(process, line, deadline)
                received = self._receive(process, deadline)
            except TimeoutError:
                self._stop(kill=True)
                raise RuntimeError(f"rendering the chart took more than {self.timeout:g} s") from None
            except _Ended:
                self._stop()
                if attempt == 2:
                    raise RuntimeError(f"rendering the chart failed: Node ended: {self._stderr()}") from None
                continue
            try:
                answer = json.loads(received)
            except ValueError:
                answer = {}
            if not isinstance(answer, dict) or answer.get("id") != self._count:  # out of step: start afresh
                self._stop(kill=True)
                raise RuntimeError(f"rendering the chart failed: unexpected answer {received[:200]!r}")
            if "error" in answer:
                raise RuntimeError(f"rendering the chart failed: {str(answer['error'])[:500]}")
            return str(answer["svg"])
        raise AssertionError("unreachable")

    def _send(self, process: subprocess.Popen[bytes], line: bytes, deadline: float) -> None:
        assert process.stdin is not None
        fd = process.stdin.fileno()
        view = memoryview(line)
        while view:
            if not _ready(fd, select.POLLOUT, deadline):
                raise TimeoutError
            try:
                written = os.write(fd, view[:PIPE_CHUNK])
            except (BrokenPipeError, OSError):
                raise _Ended from None
            view = view[written:]

    def _receive(self, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        while b"\n" not in self._buffer:
            if not _ready(fd, select.POLLIN, deadline):
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Ended
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    # the process

    def _running(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():
            self.forget()
        process = self._process
        if process is not None and process.poll() is None and self._served < self.recycle:
            self._served += 1
            return process
        self._stop()
        self._errors.clear()
        process = subprocess.Popen(  # noqa: S603  # our script and the located node
            [node.executable(), str(SSR_SCRIPT), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=node.environment(),
            bufsize=0,
        )
        self._drainer = threading.Thread(
            target=self._drain, args=(process,), name="chart-renderer-stderr", daemon=True
        )
        self._drainer.start()
        self._process, self._owner, self._buffer, self._served = process, os.getpid(), b"", 1
        self.started += 1
        return process

    def _drain(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            self._errors.append(raw.decode(errors="replace").rstrip())

    def _stderr(self) -> str:
        return " ".join(self._errors)[-500:] or "no message"

    def _stop(self, *, kill: bool = False) -> None:
        process, self._process, self._buffer = self._process, None, b""
        if process is None:
            return
        if kill:
            process.kill()
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if self._drainer is not None:
            self._drainer.join(timeout=1)  # Node's last words, for the error message

    def _arm_idle(self) -> None:
        if self.idle > 0 and self._process is not None:
            self._idle_timer = threading.Timer(self.idle, self._stop_when_idle)
            self._idle_timer.daemon = True
            self._idle_timer.start()

    def _cancel_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _stop_when_idle(self) -> None:
        if self._lock.acquire(blocking=False):  # busy: the chart in progress re-arms the timer
            try:
                self._stop()
            finally:
                self._lock.release()


RENDERER = Renderer()
LONG_LIVED = hasattr(select, "poll") and hasattr(os, "register_at_fork")  # POSIX; elsewhere a Node per chart
atexit.register(RENDERER.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=RENDERER.forget)


def render_svg(option: dict[str, Any], width: int, height: int) -> str:
    """The chart ``option`` (as the browser gets it) rendered to an SVG document by ECharts' server-side
    renderer under Node (``node.executable``), in this process's long-lived :data:`RENDERER`; a
    ``RuntimeError`` carries Node's message when it fails."""
    if not LONG_LIVED:
        return render_svg_once(option, width, height)
    return RENDERER.render(option, width, height)


def render_svgs(charts: Sequence[tuple[dict[str, Any], int, int]]) -> list[str]:
    """Every ``(option, width, height)`` of a document rendered to SVG, in order (:func:`render_svg`)."""
    if not LONG_LIVED:
        return [render_svg_once(*chart) for chart in charts]
    return RENDERER.render_many(charts)


def render_svg_once(option: dict[str, Any], width: int, height: int) -> str:
    """The same SVG as :func:`render_svg` from a Node process started for this one chart (~0.4 s): the
    reference the long-lived renderer is tested against, and the bench's baseline."""
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
