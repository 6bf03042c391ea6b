"""A document's charts in its HTML (and so its PDF): each one the SVG a Node process started for that one
chart draws (less what only a browser uses: the same picture, pixel for pixel), all of them rendered by the
process's one long-lived Node renderer. The PDF fetches nothing, and each thread keeps its fonts."""

from __future__ import annotations

import base64
import datetime
import re
import threading
from typing import Any

import pytest
from django.utils.html import escape
from PIL import ImageChops

from openprm.core.scoping import scope
from openprm.dashboards import charts
from openprm.dashboards.filters import DashboardFilters, today
from openprm.metrics.periods import Period
from openprm.reports import render
from openprm.reports.content import build

pytestmark = pytest.mark.django_db


def test_a_qbr_embeds_the_one_shot_svg_of_every_chart_from_one_node_process(data: Any) -> None:
    world = data
    f = DashboardFilters(period=Period.quarter_of(today()).key)
    with scope(world.system.access_scope()):
        document = build(actor=world.system, kind="qbr", title="QBR", f=f, partner=world.partner_a)
    options = [s.chart.option for s in document.sections if s.chart is not None and not s.chart.empty]
    assert len(options) >= 3
    charts.RENDERER.close()
    started = charts.RENDERER.started
    html = render.to_html(document)
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    embedded = [base64.b64decode(uri).decode() for uri in uris]
    wanted = [
        render.print_svg(charts.render_svg_once(o, render.CHART_WIDTH, render.CHART_HEIGHT)) for o in options
    ]
    assert embedded == wanted
    assert charts.RENDERER.started == started + 1  # one Node process for the document's charts
    render.to_html(document)
    assert charts.RENDERER.started == started + 1  # and for the next document


def test_an_empty_chart_is_its_sentence_once_not_a_picture(data: Any) -> None:
    """A quarter without targets or deals: each empty chart is not drawn; what to do next is said once (the
    table's sentence when its table says why it is empty, else the chart's)."""
    world = data
    f = DashboardFilters(period=Period.quarter_of(datetime.date(2015, 2, 1)).key)
    with scope(world.system.access_scope()):
        document = build(actor=world.system, kind="qbr", title="QBR", f=f, partner=world.partner_a)
    empty = [s for s in document.sections if s.chart is not None and s.chart.empty]
    assert any(s.title == "Targets and pace" for s in empty)
    html = render.to_html(document)
    drawn = [s for s in document.sections if s.chart is not None and not s.chart.empty]
    assert html.count('src="data:image/svg+xml;base64,') == len(drawn)
    for section in empty:
        said = [section.chart.empty] if section.chart else []
        if section.table is not None and not section.table.cells() and section.table.empty:
            said = [section.table.empty]
        body = html.split(f"<h2>{section.title}</h2>", 1)[1].split("</section>", 1)[0]
        for sentence in {section.chart.empty, section.table.empty if section.table else ""} - {""}:
            assert body.count(escape(sentence)) == (1 if sentence in said else 0), (section.title, sentence)


def _pages(pdf: bytes) -> list[Any]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=2).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def test_the_pdf_draws_the_charts_as_echarts_wrote_them_pixel_for_pixel(
    data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = data
    f = DashboardFilters(period=Period.quarter_of(today()).key)
    with scope(world.system.access_scope()):
        documents = [
            build(actor=world.system, kind="qbr", title="QBR", f=f, partner=world.partner_a),
            build(actor=world.system, kind="program_summary", title="Program", f=f, partner=None),
        ]
    for document in documents:
        html = render.to_html(document)
        svgs = [base64.b64decode(u).decode() for u in re.findall(r"base64,([^\"]+)", html)]
        assert svgs and not any("<style" in s or "ecmeta_" in s or " style=" in s for s in svgs)
        printed = _pages(render.to_pdf(html))
        with monkeypatch.context() as patched:
            patched.setattr(render, "print_svg", lambda svg: svg)  # the SVG as ECharts wrote it
            raw_html = render.to_html(document)
        assert "<style" in base64.b64decode(re.findall(r"base64,([^\"]+)", raw_html)[0]).decode()
        raw = _pages(render.to_pdf(raw_html))
        assert len(printed) == len(raw) > 0
        for mine, theirs in zip(printed, raw, strict=True):
            assert ImageChops.difference(mine, theirs).getbbox() is None


def test_a_text_style_becomes_attributes_unless_it_would_clash() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg">'
        '<text style="font-size:12px;font-weight:bold;" x="1">A</text>'
        '<text style="fill:red" fill="blue">B</text><path d="M0 0L1 1" fill="none" class="zr0-cls-1"></path>'
        '<path d="M0 0L1 1" fill="none" stroke="#000"></path></svg>'
    )
    assert render.print_svg(svg) == (
        '<svg xmlns="http://www.w3.org/2000/svg"><text font-size="12px" font-weight="bold" x="1">A</text>'
        '<text style="fill:red" fill="blue">B</text>'
        '<path d="M0 0L1 1" fill="none" stroke="#000"></path></svg>'
    )


def test_a_pdf_fetches_nothing_but_data_uris(receiver: Any) -> None:
    base = receiver.url.rsplit("/", 1)[0]
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/style.css"></head><body><p>Kept</p>'
        f'<img src="{base}/logo.png"><img src="data:image/svg+xml;base64,'
        + base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>').decode()
        + '"></body></html>'
    )
    assert render.to_pdf(html).startswith(b"%PDF")
    assert receiver.requests == []


def test_each_thread_keeps_one_font_configuration() -> None:
    mine = render._font_config()
    assert render._font_config() is mine
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(render._font_config()))
    thread.start()
    thread.join()
    assert other and other[0] is not mine
