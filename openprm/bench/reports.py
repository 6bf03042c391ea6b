"""`prm bench reports`: partner-facing PDF reports on the scale dataset, their charts rendered the way
reports used to (a Node process started per chart, three at a time) and the way they do now (the process's
long-lived Node renderer, all of a document's charts in one call).

The dataset is the scale demo already in the current database (``prm demo --scale s``: 200 partners;
``--scale m``: 2,000); the bench refuses an empty database or one holding something else
(``bench.dashboards.dataset``). It writes nothing. For the last full quarter it times:

* **qbr** — one partner's quarterly business review pack: building the document (the figures, through
  the metric engine, as that partner's admin) and rendering its PDF before and after;
* **scorecards** — ``--partners`` partner scorecards (each built in that partner's own scope, as a
  scheduled run's partner copies are): the build, then every PDF rendered before and after; seconds per
  report (build + PDF) both ways;
* **charts** — the raw baseline: the same charts rendered one Node process each, one after the other
  (the first ``RAW_CHARTS``), against the long-lived renderer (all of them); the SVGs compared byte for byte.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connection
from django.utils import timezone

from openprm.bench.dashboards import dataset
from openprm.core.scoping import scope, unscoped
from openprm.dashboards import charts
from openprm.dashboards.filters import DashboardFilters
from openprm.metrics.periods import Period
from openprm.partners.models import Partner
from openprm.reports import content, render
from openprm.reports.delivery import partner_actor
from openprm.reports.models import Kind

RAW_CHARTS = 40  # charts rendered one Node process each for the raw baseline (~0.4 s apiece)
OLD_THREADS = 3  # how many one-chart Node processes the old renderer ran at once


def _one_process_per_chart(items: Sequence[tuple[dict[str, Any], int, int]]) -> list[str]:
    """How reports rendered charts before the long-lived renderer: a Node process per chart, three at once."""
    with ThreadPoolExecutor(max_workers=OLD_THREADS) as pool:
        return list(pool.map(lambda item: charts.render_svg_once(*item), items))


@contextmanager
def _before() -> Iterator[None]:
    with mock.patch.object(render, "render_svgs", _one_process_per_chart):
        yield


def _build(workspace_id: int, partner: Partner, kind: str, period: Period) -> content.Document:
    actor = partner_actor(workspace_id, partner.pk)
    with scope(actor.access_scope()):
        mine = Partner.objects.get(pk=partner.pk)
        return content.build(
            actor=actor, kind=kind, title="Bench report", f=DashboardFilters(period=period.key), partner=mine
        )


def _pdfs(documents: list[content.Document]) -> tuple[float, int]:
    started = time.perf_counter()
    size = sum(len(render.to_pdf(render.to_html(d))) for d in documents)
    return time.perf_counter() - started, size


def _chart_items(documents: list[content.Document]) -> list[tuple[dict[str, Any], int, int]]:
    return [
        (s.chart.option, render.CHART_WIDTH, render.CHART_HEIGHT)
        for d in documents
        for s in d.sections
        if s.chart is not None
    ]


def _side_by_side(name: str, documents: list[content.Document], build_s: float) -> dict[str, Any]:
    with _before():
        before_s, before_bytes = _pdfs(documents)
    charts.RENDERER.close()  # the long-lived side pays its Node start
    started = charts.RENDERER.started
    after_s, after_bytes = _pdfs(documents)
    n = len(documents)
    return {
        name: n,
        "charts": len(_chart_items(documents)),
        "node_processes_before": len(_chart_items(documents)),
        "node_processes_after": charts.RENDERER.started - started,
        "build_s": round(build_s, 3),
        "pdf_before_s": round(before_s, 3),
        "pdf_after_s": round(after_s, 3),
        "pdf_speedup": round(before_s / after_s, 2) if after_s else None,
        "per_report_before_s": round((build_s + before_s) / n, 3),
        "per_report_after_s": round((build_s + after_s) / n, 3),
        "pdf_bytes_before": before_bytes,
        "pdf_bytes_after": after_bytes,
    }


def _charts(documents: list[content.Document]) -> dict[str, Any]:
    items = _chart_items(documents)
    raw = items[:RAW_CHARTS]
    started = time.perf_counter()
    once = [charts.render_svg_once(*item) for item in raw]
    raw_s = time.perf_counter() - started
    charts.RENDERER.close()  # the long-lived side pays its Node start too
    started = time.perf_counter()
    kept = charts.render_svgs(items)
    kept_s = time.perf_counter() - started
    raw_ms, kept_ms = raw_s * 1000 / max(len(raw), 1), kept_s * 1000 / max(len(items), 1)
    return {
        "one_process_each": len(raw),
        "one_process_each_ms": round(raw_ms, 1),
        "long_lived": len(items),
        "long_lived_ms": round(kept_ms, 1),
        "ratio": round(raw_ms / kept_ms, 1) if kept_ms else None,
        "identical": once == kept[: len(raw)],
    }


def bench_reports(*, scale: str = "s", partners: int = 200) -> dict[str, Any]:
    workspace, in_dataset, _loaded = dataset(scale, load=False)
    period = Period.quarter_of(timezone.localdate()).previous()
    with unscoped():
        chosen = list(Partner.objects.filter(workspace=workspace).order_by("pk")[:partners])
    started = time.perf_counter()
    qbr = [_build(workspace.pk, chosen[0], Kind.QBR, period)]
    qbr_build_s = time.perf_counter() - started
    render.to_pdf(render.to_html(qbr[0]))  # not timed: loads WeasyPrint, pango and the fonts
    started = time.perf_counter()
    scorecards = [_build(workspace.pk, p, Kind.PARTNER_SCORECARD, period) for p in chosen]
    build_s = time.perf_counter() - started
    found: dict[str, Any] = {
        "database": connection.vendor,
        "partners": in_dataset,
        "period": period.key,
        "qbr": {"partner": chosen[0].name} | _side_by_side("reports", qbr, qbr_build_s),
        "scorecards": _side_by_side("reports", scorecards, build_s),
        "charts": _charts([*qbr, *scorecards]),
    }
    found["measured_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return found
