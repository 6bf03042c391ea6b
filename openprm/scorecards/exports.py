"""The scorecard table and the leaderboard as CSV and XLSX files (the pages' export links and
``prm export scorecards``). Cells are spreadsheet-safe: text a spreadsheet would run as a formula is escaped
(``core.csvsafe``) in both formats; numbers stay numbers in XLSX."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openprm.core.csvsafe import escape_cell
from openprm.scorecards.scoring import DIMENSIONS
from openprm.scorecards.selectors import KEY_FIGURES, Leaderboard, ScorecardRow

Cell = str | int | float | Decimal | None


def scorecard_sheet(rows: Sequence[ScorecardRow], period_key: str) -> tuple[list[str], list[list[Cell]]]:
    """The header and rows of the scorecard table export."""
    header = [
        "period",
        "partner_id",
        "partner",
        "program",
        "tier",
        "overall",
        *(f"{key}_score" for key in DIMENSIONS),
        *KEY_FIGURES,
        "rank",
        "rank_band",
        "recommendation",
        "recommended_tier",
    ]
    body: list[list[Cell]] = []
    for row in rows:
        figures: list[Cell] = []
        for key in KEY_FIGURES:
            value = row.figures[key].value
            figures.append(None if value is None or isinstance(value, datetime.date) else value)
        body.append(
            [
                period_key,
                str(row.public_id),
                row.name,
                row.program or "",
                row.tier or "",
                row.overall,
                *(row.dimensions.get(key) for key in DIMENSIONS),
                *figures,
                row.rank,
                row.rank_band,
                row.recommendation,
                row.recommended_tier or "",
            ]
        )
    return header, body


def leaderboard_sheet(board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    header = ["period", "rank", "partner_id", "partner", board.metric, "share", "cumulative_share"]
    body: list[list[Cell]] = [
        [board.period.key, s.rank, str(s.public_id), s.name, s.value, s.share, s.cumulative]
        for s in board.rows
    ]
    return header, body


def _text(value: Cell) -> str:
    if value is None:
        return ""
    return escape_cell(str(value)) if isinstance(value, str) else str(value)


def to_csv(header: list[str], rows: list[list[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue()


def to_xlsx(header: list[str], rows: list[list[Cell]], title: str) -> bytes:
    """An XLSX workbook of one sheet: the header in bold, numbers as numbers, the header row frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_xlsx(v) for v in row])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx(value: Cell) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return escape_cell(value)
    return value


def export_scorecards(*, actor: Any, period_key: str, fmt: str) -> bytes:
    """The scorecard table of every partner the actor may see over ``period_key``, as CSV or XLSX bytes
    (``prm export scorecards``). A ValueError names an unreadable period or format."""
    from openprm.core.scoping import scope
    from openprm.metrics.periods import parse_period
    from openprm.scorecards.selectors import scorecard_table

    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"{fmt!r}: the format is csv or xlsx.")
    period = parse_period(period_key)
    with scope(actor.access_scope()):
        rows = scorecard_table(actor=actor, period=period, sort="-overall")
    header, body = scorecard_sheet(rows, period.key)
    if fmt == "xlsx":
        return to_xlsx(header, body, f"scorecards-{period.key}")
    return to_csv(header, body).encode("utf-8")
