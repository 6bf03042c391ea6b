"""Every money figure in a report's tables says its currency: the workspace's reporting currency in the
column's header or the row's label (the trends table mixes money and counts, so its money rows say it:
"Won revenue (USD)"), or the figure's own currency beside it (a deal's amount). Checked on every table of
every kind of report, in the PDF's text, and with a workspace that reports in another currency."""

from __future__ import annotations

from typing import Any

import pytest

from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.dashboards.filters import DashboardFilters, today
from openprm.metrics.periods import Period
from openprm.reports.content import Document, build
from openprm.reports.render import to_html, to_pdf
from openprm.reports.tests.conftest import pdf_text

pytestmark = pytest.mark.django_db

KINDS = ["program_summary", "partner_scorecard", "pipeline_review"]


def _documents(world: Any) -> list[Document]:
    f = DashboardFilters(period=Period.quarter_of(today()).key)
    with scope(world.system.access_scope()):
        program = [build(actor=world.system, kind=k, title=k, f=f, partner=None) for k in KINDS]
        partner = [
            build(actor=world.system, kind=k, title=k, f=f, partner=world.partner_a) for k in [*KINDS, "qbr"]
        ]
    return program + partner


def _money_without_currency(document: Document, currency: str) -> tuple[int, list[str]]:
    """(money figures seen, those whose currency the table does not say)."""
    seen, missing = 0, []
    for table in document.tables():
        labels = [c.label for c in table.columns]
        for index, (row, cells) in enumerate(zip(table.rows, table.cells(), strict=True)):
            for value, column, (text, _, _, _) in zip(row, table.typed(index), cells, strict=True):
                if column.kind != "currency" or value is None:
                    continue
                seen += 1
                beside = row[labels.index("Currency")] if "Currency" in labels else ""
                said = f"({currency})" in column.label or f"({currency})" in str(row[0]) or bool(beside)
                if not said:
                    missing.append(f"{document.title} / {table.title}: {row[0]} {column.label} = {text}")
    return seen, missing


def test_every_money_figure_of_every_report_table_says_its_currency(data: Any) -> None:
    seen_all = 0
    for document in _documents(data):
        seen, missing = _money_without_currency(document, "USD")
        assert missing == [], missing
        seen_all += seen
    assert seen_all > 50  # the data holds won deals and pipeline: the check saw money figures


def test_the_qbr_trends_say_the_currency_of_their_money_rows_only(data: Any) -> None:
    world = data
    qbr = _documents(world)[-1]
    trends = next(s.table for s in qbr.sections if s.title == "Trends")
    assert trends is not None
    labels = [row[0] for row in trends.rows]
    assert labels[:4] == ["Won revenue (USD)", "Pipeline (USD)", "Win rate", "Deals"], labels
    assert trends.cells()[0][1][0] == "1,000.00"  # this quarter's won deal of partner A
    text = pdf_text(to_pdf(to_html(qbr)))
    assert "Won revenue (USD)" in text and "Pipeline (USD)" in text, text[:2000]


def test_a_workspace_reporting_in_euros_says_eur(data: Any) -> None:
    world = data
    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(currency="EUR")
    for document in _documents(world):
        _, missing = _money_without_currency(document, "EUR")
        assert missing == [], missing
        for table in document.tables():
            assert not any("(USD)" in c.label for c in table.columns), table.title
            assert not any("(USD)" in str(row[0]) for row in table.rows), table.title
