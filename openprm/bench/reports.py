"""`prm bench reports`: partner-facing PDF reports on the scale dataset — the scheduled run of a partner
scorecard report to every partner's contacts as the product sends it, and what one PDF costs.

The dataset is the scale demo already in the current database (``prm demo --scale s``: 200 partners;
``--scale m``: 2,000); the bench refuses an empty database or one holding something else
(``bench.dashboards.dataset``). It leaves nothing behind: the run's rows are rolled back. For the last full
quarter it times:

* **run** — the full run for ``--reports`` partners (default 200): a partner scorecard definition (PDF,
  each partner's contacts and users, quarterly) made through the service, its scheduled run started
  (``services.run_start``: a delivery and an outbox message per e-mail; the partners capped at
  ``--reports`` through ``services.MAX_PARTNERS``), then the outbox delivered as the job worker does it
  (``outbox_deliver``, one process, one message after the other; each partner's document built in that
  partner's own scope and rendered once for all of its recipients), the e-mails going to Django's
  in-memory backend. Total and seconds per report (one partner's document: build, charts, PDF, its
  e-mails) and per e-mail, wall and CPU, split into build / HTML and charts / PDF / the rest (e-mails,
  deliveries, the outbox); the load average before and after (the machine may be shared);
* **pdf** — the PDF step alone on a sample (one QBR pack, ``SAMPLE`` scorecards), as it was (a new
  WeasyPrint font configuration per document, the charts' SVG as ECharts wrote it) and as it is now,
  each document both ways one after the other, ``PDF_ROUNDS`` times; wall and CPU per PDF, and the median
  of the per-document ratios;
* **qbr** / **scorecards** — the same sample's PDFs with their charts rendered the way reports used to
  (a Node process started per chart, three at a time) and the way they do now (the process's long-lived
  Node renderer, all of a document's charts in one call); seconds per report (build + PDF) both ways;
* **charts** — the raw baseline: the same charts rendered one Node process each, one after the other
  (the first ``RAW_CHARTS``), against the long-lived renderer (all of them); the SVGs compared byte for byte.
"""

from __future__ import annotations

import datetime
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.core import mail
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from openprm.bench.dashboards import dataset
from openprm.core.actors import Actor
from openprm.core.models import OutboxMessage
from openprm.core.outbox import outbox_deliver
from openprm.core.scoping import scope, unscoped
from openprm.core.tasks import workspace_scope
from openprm.dashboards import charts
from openprm.dashboards.filters import DashboardFilters
from openprm.metrics.periods import Period
from openprm.partners.models import Partner
from openprm.reports import content, delivery, render, services
from openprm.reports.delivery import partner_actor
from openprm.reports.models import Kind, ReportDelivery, ReportRun

RAW_CHARTS = 40  # charts rendered one Node process each for the raw baseline (~0.4 s apiece)
OLD_THREADS = 3  # how many one-chart Node processes the old renderer ran at once
SAMPLE = 10  # scorecards (besides the QBR pack) in the side-by-side comparisons
PDF_ROUNDS = 2  # rounds of the PDF comparison, alternating the sides
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


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


# --- the PDF step: as it was, as it is -------------------------------------------------------------------


def _pdf_as_before(html: str) -> bytes:
    """A PDF as ``render.to_pdf`` made it before: a new font configuration (fontconfig, pango's font map
    and the fonts loaded again) for every document."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    return bytes(HTML(string=html).write_pdf())


def _html_as_before(document: content.Document) -> str:
    """The document's HTML with the charts' SVG as ECharts wrote it (hover styles, interaction attributes
    and invisible hit areas included)."""
    with mock.patch.object(render, "print_svg", lambda svg: svg):
        return render.to_html(document)


def _timed_pdf(to_pdf: Callable[[str], bytes], html: str) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    size = len(to_pdf(html))
    return time.perf_counter() - wall, time.process_time() - cpu, size


def _pdf_step(documents: list[content.Document]) -> dict[str, Any]:
    """Each document's PDF as it was, then as it is, one after the other (both sides see the same load),
    ``PDF_ROUNDS`` times; the sides' totals per PDF and the median of the per-document ratios."""
    before_html = [_html_as_before(d) for d in documents]
    after_html = [render.to_html(d) for d in documents]
    totals = {"before": [0.0, 0.0, 0.0], "after": [0.0, 0.0, 0.0]}  # wall, CPU, bytes
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(PDF_ROUNDS):
        for before, after in zip(before_html, after_html, strict=True):
            old, new = _timed_pdf(_pdf_as_before, before), _timed_pdf(render.to_pdf, after)
            for side, timed in (("before", old), ("after", new)):
                for index, value in enumerate(timed):
                    totals[side][index] += value
            ratios["wall"].append(old[0] / new[0] if new[0] else 0.0)
            ratios["cpu"].append(old[1] / new[1] if new[1] else 0.0)
    n = len(documents) * PDF_ROUNDS
    found: dict[str, Any] = {"pdfs": len(documents), "rounds": PDF_ROUNDS}
    for side, (wall, cpu, size) in totals.items():
        found[f"{side}_s"] = round(wall / n, 3)
        found[f"{side}_cpu_s"] = round(cpu / n, 3)
        found[f"{side}_bytes"] = int(size) // PDF_ROUNDS
    found["speedup"] = round(statistics.median(ratios["wall"]), 2)
    found["cpu_speedup"] = round(statistics.median(ratios["cpu"]), 2)
    return found


# --- the run ---------------------------------------------------------------------------------------------


class _Stages:
    """Wall and CPU seconds spent in the wrapped functions (build, HTML and charts, PDF)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall[name] += time.perf_counter() - wall
                self.cpu[name] += time.process_time() - cpu
                self.calls[name] += 1

        return timed

    @contextmanager
    def around(self) -> Iterator[None]:
        with (
            mock.patch.object(content, "build", self.wrap("build", content.build)),
            mock.patch.object(render, "to_html", self.wrap("html_and_charts", render.to_html)),
            mock.patch.object(render, "to_pdf", self.wrap("pdf", render.to_pdf)),
        ):
            yield


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not on every platform
        return None


def _run(workspace_id: int, partners: int) -> dict[str, Any]:
    """The scheduled run of a partner scorecard report to every partner's contacts, delivered as the worker
    delivers it; rolled back afterwards."""
    system = Actor.system(workspace_id, label="bench")
    stages = _Stages()
    found: dict[str, Any] = {}
    node_started = charts.RENDERER.started
    with (
        transaction.atomic(),
        workspace_scope(workspace_id),
        override_settings(EMAIL_BACKEND=LOCMEM),
        mock.patch.object(services, "MAX_PARTNERS", partners),
    ):
        mail.outbox = []
        others = OutboxMessage.objects.filter(delivered_at__isnull=True).count()
        now = timezone.now()
        definition = services.definition_create(
            actor=system,
            data={
                "name": "Bench partner scorecard",
                "kind": Kind.PARTNER_SCORECARD,
                "schedule": "quarterly",
                "period": "last_quarter",
                "formats": ["pdf"],
                "partner_recipients": True,
            },
            now=now,
        )
        wall, cpu = time.perf_counter(), time.process_time()
        run, _ = services.run_start(
            definition=definition,
            trigger=ReportRun.Trigger.SCHEDULE,
            request_key=f"schedule:{now.isoformat()}",
            run_at=now,
        )
        start_s = time.perf_counter() - wall
        with stages.around():
            sent = outbox_deliver(workspace_id=workspace_id)
        total_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        statuses = dict.fromkeys(ReportDelivery.Status.values, 0)
        for status in run.deliveries.values_list("status", flat=True):
            statuses[status] += 1
        emails = [m for m in mail.outbox if m.to]
        pdf_bytes = [len(body) for m in emails for _, body, kind in m.attachments if kind == render.PDF_TYPE]
        documents = stages.calls["build"]
        found = {
            "kind": Kind.PARTNER_SCORECARD,
            "period": run.period_key,
            "partners": len({pid for pid in run.deliveries.values_list("partner_id", flat=True)}),
            "reports": documents,
            "pdfs": stages.calls["pdf"],
            "emails": len(emails),
            "deliveries": statuses,
            "outbox_delivered": sent,
            "other_messages_due": others,
            "total_s": round(total_s, 2),
            "cpu_s": round(cpu_s, 2),
            "per_report_s": round(total_s / documents, 3) if documents else None,
            "per_report_cpu_s": round(cpu_s / documents, 3) if documents else None,
            "per_email_s": round(total_s / len(emails), 3) if emails else None,
            "stages_s": {
                "start": round(start_s, 2),
                **{name: round(stages.wall[name], 2) for name in ("build", "html_and_charts", "pdf")},
                "rest": round(total_s - start_s - sum(stages.wall.values()), 2),
            },
            "stages_cpu_s": {
                name: round(stages.cpu[name], 2) for name in ("build", "html_and_charts", "pdf")
            },
            "pdf_bytes_avg": round(sum(pdf_bytes) / len(pdf_bytes)) if pdf_bytes else 0,
            "node_processes": charts.RENDERER.started - node_started,
        }
        transaction.set_rollback(True)  # the bench writes nothing
    mail.outbox = []
    delivery._rendered.clear()  # the run's documents, kept for its other recipients
    return found


def bench_reports(*, scale: str = "s", partners: int = 200) -> dict[str, Any]:
    workspace, in_dataset, _loaded = dataset(scale, load=False)
    load_before = _load()
    period = Period.quarter_of(timezone.localdate()).previous()
    with unscoped():
        chosen = list(Partner.objects.filter(workspace=workspace).order_by("pk")[: min(partners, SAMPLE)])
    started = time.perf_counter()
    qbr = [_build(workspace.pk, chosen[0], Kind.QBR, period)]
    qbr_build_s = time.perf_counter() - started
    render.to_pdf(render.to_html(qbr[0]))  # not timed: loads WeasyPrint, pango and the fonts
    _pdf_as_before(_html_as_before(qbr[0]))
    started = time.perf_counter()
    scorecards = [_build(workspace.pk, p, Kind.PARTNER_SCORECARD, period) for p in chosen]
    build_s = time.perf_counter() - started
    found: dict[str, Any] = {
        "database": connection.vendor,
        "partners": in_dataset,
        "period": period.key,
        "cpus": os.cpu_count(),
        "run": _run(workspace.pk, partners),
        "pdf": _pdf_step([*qbr, *scorecards]),
        "qbr": {"partner": chosen[0].name} | _side_by_side("reports", qbr, qbr_build_s),
        "scorecards": _side_by_side("reports", scorecards, build_s),
        "charts": _charts([*qbr, *scorecards]),
    }
    found["load_average"] = {"before": load_before, "after": _load()}
    found["measured_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return found
