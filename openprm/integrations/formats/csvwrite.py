"""The one CSV writer of every export and rejects file: records as CSV text, cells spreadsheet-safe.

``core.csvsafe`` escapes a cell a spreadsheet would run as a formula (``=SUM(1)`` → ``'=SUM(1)``); the
reader (``csvread``) takes the escape off again, so an exported file imports unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from openprm.core.csvsafe import escape_row
from openprm.integrations.formats.csvread import CsvRecord, RowError

REJECT_COLUMNS: tuple[str, ...] = ("line", "error")


class _Echo:
    """A file-like object whose write() returns the text, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    """Encode records as CSV text, one string per record, cells spreadsheet-safe (``core.csvsafe``)."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(escape_row(row))


class RejectsWriter:
    """Writes rejected records: the original columns plus ``line`` and ``error``, spreadsheet-safe."""

    def __init__(self, handle: IO[str]) -> None:
        self.writer = csv.writer(handle)
        self.header_written = False
        self.count = 0

    def write(self, header: list[str], record: CsvRecord, errors: list[RowError]) -> None:
        if not self.header_written:
            self.writer.writerow(escape_row([*header, *REJECT_COLUMNS]))
            self.header_written = True
        values = list(record.values)
        values = (values + [""] * len(header))[: len(header)] if values else [""] * len(header)
        message = "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors)
        self.writer.writerow(escape_row([*values, str(record.line), message]))
        self.count += 1
