"""The one CSV reader of every import (partners, deals, activities, products): encoding, header, records.

Usage::

    source = CsvSource(stream)                      # CsvHeaderError: UTF-16/32 file
    columns = header_columns(source.read_header())  # CsvHeaderError: empty, bad header, duplicate column
    for record in source.records():
        if record.error:                            # not CSV, not UTF-8, NUL, wrong number of fields
            reject(RowError(record.line, "", record.error))
            continue
        ...record.values...                          # cells as written, spreadsheet escapes removed

What every importer therefore agrees on:

* the file is UTF-8 (a BOM is allowed); a UTF-16 or UTF-32 file (with or without BOM) is refused as a
  whole ("save it as UTF-8"); a record holding bytes that are not UTF-8 (a Latin-1 ``é``) or a NUL
  character is rejected with its line, never stored with replacement characters;
* a record must have as many fields as the header; blank lines are skipped; any newline convention;
* a column named twice in the header refuses the file (``header_columns``);
* a cell exported spreadsheet-safe (``'=SUM(1)``, see ``openprm.core.csvsafe``) reads back as written
  before the escape (``=SUM(1)``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from openprm.core.csvsafe import unescape_cell

NOT_UTF8 = "Not valid UTF-8 text; save the file as UTF-8."
HAS_NUL = "Contains a NUL character."
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_SNIFF_BYTES = 4096


class CsvHeaderError(ValueError):
    """The file cannot be imported at all (empty, not CSV, not UTF-8, required columns missing...)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str  # "" when the problem concerns the whole row
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"line {self.line}, column {self.column}: {self.message}"
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class CsvRecord:
    line: int  # physical line where the record starts (1 = header)
    values: list[str]
    error: str = ""  # set when the record cannot be imported as read (the values are kept when known)


def wide_encoding(sample: bytes) -> str:
    """ "UTF-16" or "UTF-32" when the sample is text in one of them (a BOM, or the NUL bytes that mostly
    Latin text has in every other byte), else ""."""
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    quarter = len(sample) // 4
    if quarter < 2:
        return ""
    zeros = [sample[i : quarter * 4 : 4].count(0) / quarter for i in range(4)]  # share of NULs per byte slot
    if zeros[1] >= 0.9 and zeros[2] >= 0.9:  # c 0 0 0 (LE) or 0 0 0 c (BE)
        return "UTF-32"
    even, odd = (zeros[0] + zeros[2]) / 2, (zeros[1] + zeros[3]) / 2
    if max(even, odd) >= 0.5 and min(even, odd) <= 0.1:  # c 0 (LE) or 0 c (BE)
        return "UTF-16"
    return ""


def header_columns(raw: list[str]) -> list[str]:
    """The header's column names, stripped and lower-cased; a name given twice refuses the file."""
    columns = [name.strip().lower() for name in raw]
    seen: set[str] = set()
    duplicates = set()
    for name in columns:
        if name in seen:
            duplicates.add(name)
        elif name:
            seen.add(name)
    if duplicates:
        raise CsvHeaderError(f"Duplicate column(s) in the header: {', '.join(sorted(duplicates))}.")
    return columns


def _problem(values: list[str]) -> str:
    for value in values:
        if _UNDECODED.search(value):
            return NOT_UTF8
        if "\x00" in value:
            return HAS_NUL
    return ""


class CsvSource:
    """Streams records from a binary file (see the module docstring).

    The wrapped binary stream is detached, not closed, by :meth:`close`, so it can be read again.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        stream.seek(0)
        sample = stream.read(_SNIFF_BYTES)
        stream.seek(0)
        encoding = wide_encoding(sample)
        if encoding:
            raise CsvHeaderError(f"The file is {encoding}; save it as UTF-8 (CSV UTF-8 in Excel).")
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self.reader = csv.reader(self.text)
        self.header: list[str] = []

    def read_header(self) -> list[str]:
        """The first non-blank row (the header), cells as written (escapes removed)."""
        try:
            for values in self.reader:
                if any(v.strip() for v in values):
                    problem = _problem(values)
                    if problem == NOT_UTF8:
                        raise CsvHeaderError(f"The header row: {NOT_UTF8}")
                    if problem:
                        raise CsvHeaderError(
                            "The header row contains NUL characters: save the file as UTF-8 text."
                        )
                    self.header = [unescape_cell(v) for v in values]
                    return self.header
        except csv.Error as exc:
            raise CsvHeaderError(f"The header row is not valid CSV: {exc}.") from exc
        raise CsvHeaderError("The file is empty: expected a header row.")

    def records(self) -> Iterator[CsvRecord]:
        """The non-blank records after the header; ``error`` says why one cannot be imported."""
        width = len(self.header)
        while True:
            start = self.reader.line_num + 1
            try:
                values = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield CsvRecord(line=start, values=[], error=f"Not valid CSV: {exc}.")
                continue
            if not any(v.strip() for v in values):
                continue
            problem = _problem(values)
            if problem:  # the values as a rejects file can show them
                shown = [_UNDECODED.sub("\ufffd", v).replace("\x00", "") for v in values]
                yield CsvRecord(line=start, values=shown, error=problem)
            elif width and len(values) != width:
                message = f"Has {len(values)} fields; the header has {width}."
                yield CsvRecord(line=start, values=values, error=message)
            else:
                yield CsvRecord(line=start, values=[unescape_cell(v) for v in values])

    @property
    def bytes_read(self) -> int:
        try:
            return self.stream.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        self.text.detach()
