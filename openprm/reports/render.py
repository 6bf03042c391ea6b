"""A document as HTML (the browser preview and the PDF's source), as PDF (WeasyPrint; each chart the
dashboards' ECharts option rendered to SVG by ``charts.render_svgs``, the same chart the pages draw, all of
a document's charts in one call to the process's long-lived Node renderer) and its tables as CSV (one file
per table) and XLSX (one sheet per table) with the dashboards' table writers.

WeasyPrint's cost per PDF is layout and drawing in Python (~0.45 s of CPU for a partner scorecard, about
half of it the charts' SVG), so the PDF side keeps what it can between documents: each thread keeps one
``FontConfiguration`` (fontconfig's configuration and pango's font map with the fonts it loaded, otherwise
built again for every document), and a chart's SVG drops what only a browser uses (hover styles,
ECharts' interaction attributes, invisible hit areas) before WeasyPrint parses it. A document fetches
nothing: every resource is a ``data:`` URI, and any other URL is refused rather than fetched.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.styles import Font

from openprm.dashboards.charts import render_svgs
from openprm.dashboards.tables import FORMATS as TABLE_FORMATS
from openprm.dashboards.tables import XLSX_NUMBER, Table, to_csv
from openprm.reports.content import Document, Section

CHART_WIDTH, CHART_HEIGHT = 720, 300
PDF_TYPE = "application/pdf"
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per page otherwise


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str
    format: str  # pdf | csv | xlsx


# What ECharts writes for the browser and a PDF never uses: its hover rules, the data/interaction
# attributes, and the shapes that draw nothing (unfilled legend hit areas without a stroke; transparent
# label boxes with a zero-width stroke). Each costs WeasyPrint a cascade and a drawing step. A text's
# ``style`` (font size, family, weight) becomes the same presentation attributes, which WeasyPrint reads
# without running a CSS parser per label.
_SVG_HOVER_STYLE = re.compile(r"<style\b[^>]*>.*?</style>\s*", re.S)
_SVG_BROWSER_ATTRIBUTES = re.compile(r' (?:ecmeta_[a-z_]+|class|pointer-events)="[^"]*"')
_SVG_INVISIBLE = re.compile(
    r'<(path|rect)\b(?=[^>]*\bfill="none")(?![^>]*\bstroke=)[^>]*>\s*</\1>\s*'
    r'|<path\b(?=[^>]*\bfill-opacity="0")(?=[^>]*\bstroke-width="0")[^>]*>\s*</path>\s*'
)
_SVG_STYLED_TAG = re.compile(r'<[a-z]+\b[^>]*\sstyle="[^"]*"[^>]*>')
_SVG_STYLE = re.compile(r'\sstyle="([^"]*)"')
_SVG_NAME = re.compile(r"[a-z-]+")


def _style_as_attributes(match: re.Match[str]) -> str:
    tag = match.group(0)
    style = _SVG_STYLE.search(tag)
    assert style is not None
    pairs = [d.split(":", 1) for d in style.group(1).split(";") if d.strip()]
    if any(
        len(p) != 2 or not _SVG_NAME.fullmatch(p[0].strip()) or f' {p[0].strip()}="' in tag for p in pairs
    ):
        return tag  # anything unusual (or the attribute set already): left as ECharts wrote it
    attributes = "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)
    return tag[: style.start()] + attributes + tag[style.end() :]


def print_svg(svg: str) -> str:
    """A chart's SVG as a PDF draws it: without what only a browser uses, each text's style as
    attributes (the same picture)."""
    svg = _SVG_INVISIBLE.sub("", _SVG_HOVER_STYLE.sub("", svg))
    return _SVG_STYLED_TAG.sub(_style_as_attributes, _SVG_BROWSER_ATTRIBUTES.sub("", svg))


def _chart_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(print_svg(svg).encode()).decode()


def _drawn(section: Section) -> bool:
    """Whether the section's chart is drawn: an empty chart is not (its sentence says what to do)."""
    return section.chart is not None and not section.chart.empty


def to_html(document: Document, *, footer: str = "") -> str:
    """The document as one self-contained HTML page (charts as SVG images), for the browser and the PDF.
    An empty chart is its sentence instead, once: not again when its table says why it is empty."""
    charts = [(s.chart.option, CHART_WIDTH, CHART_HEIGHT) for s in document.sections if s.chart and _drawn(s)]
    uris = iter([_chart_uri(svg) for svg in render_svgs(charts)])
    sections = []
    for s in document.sections:
        cells = s.table.cells() if s.table is not None else []
        table_says = s.table is not None and not cells and bool(s.table.empty)
        sections.append(
            {
                "title": s.title,
                "chart": next(uris) if _drawn(s) else "",
                "chart_empty": s.chart.empty if s.chart is not None and not table_says else "",
                "table": s.table,
                "cells": cells,
                "items": s.items,
            }
        )
    return render_to_string(
        "reports/document.html", {"document": document, "sections": sections, "footer": footer}
    )


_weasyprint = threading.local()  # per thread: pango's font map is not shared between threads


def _font_config() -> Any:
    """This thread's WeasyPrint font configuration, made on its first PDF and kept for the next ones."""
    config = getattr(_weasyprint, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

        config = _weasyprint.font_config = FontConfiguration()
    return config


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]  # loaded when used: pango takes a while
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"}))
    return bytes(document.write_pdf(font_config=_font_config()))


def _sheet_title(table: Table, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", table.title)[:28] or "Table"
    title, n = base, 2
    while title.lower() in used:
        title, n = f"{base[:25]} {n}", n + 1
    used.add(title.lower())
    return title


def to_xlsx(tables: list[Table], described: list[tuple[str, str]]) -> bytes:
    """One workbook: a sheet per table (typed cells, number formats of ``dashboards.tables``) and a
    "Report" sheet saying what the figures are for."""
    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "Report"
    for name, value in described:
        about.append([name, value])
    used = {"report"}
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table, used))
        sheet.append([c.label for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, row in enumerate(table.rows):
            columns = table.typed(index)
            sheet.append([float(v) if hasattr(v, "as_tuple") else v for v in row])
            for cell, column in zip(sheet[sheet.max_row], columns, strict=True):
                if column.kind in XLSX_NUMBER:
                    cell.number_format = XLSX_NUMBER[column.kind]
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def described(document: Document) -> list[tuple[str, str]]:
    period = document.period
    rows = [("Report", document.title), ("Period", f"{period.label} ({period.start} to {period.end})")]
    return [*rows, ("Partner", document.partner)] if document.partner else rows


def attachments(document: Document, formats: list[str], *, html: str | None = None) -> list[Attachment]:
    """The files of ``document`` in ``formats`` (pdf, csv, xlsx)."""
    stem = slugify(f"{document.title} {document.partner} {document.period.key}") or "report"
    out: list[Attachment] = []
    if "pdf" in formats:
        out.append(Attachment(f"{stem}.pdf", to_pdf(html or to_html(document)), PDF_TYPE, "pdf"))
    tables = document.tables()
    if "csv" in formats:
        for table in tables:
            body = to_csv(table, described(document))
            out.append(Attachment(f"{stem}-{slugify(table.key)}.csv", body, "text/csv", "csv"))
    if "xlsx" in formats:
        body = to_xlsx(tables, described(document))
        out.append(Attachment(f"{stem}.xlsx", body, TABLE_FORMATS["xlsx"], "xlsx"))
    return out
