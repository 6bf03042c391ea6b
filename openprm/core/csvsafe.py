"""Spreadsheet-safe CSV cells (CSV/formula injection, OWASP).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and some also
after a leading tab or carriage return). Every CSV the app writes for people passes its cells through
:func:`escape_cell`, which prefixes such a cell with a single quote ``'``: spreadsheets show the text
as it is and run nothing. Plain numbers (``-12.50``, ``+3``) are left alone — a number is not a formula,
and a negative amount must stay a number.

Our importers read the escaped form back with :func:`unescape_cell`, so export → import round trips
are exact: a quote followed by one of those characters loses the quote. A cell that itself starts with
quotes followed by one of them (``'=x``) gets one more quote on export, so it also comes back as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")


def escape_cell(value: str) -> str:
    """The cell as a spreadsheet may open it safely (see the module docstring)."""
    if not value:
        return value
    first = value[0]
    if first in FORMULA_PREFIXES:
        if first in "+-" and _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    if first == "'" and _QUOTED.match(value):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """The inverse of :func:`escape_cell`: a quote before a formula character (after any quotes) goes."""
    if value[:1] == "'" and _QUOTED.match(value):
        return value[1:]
    return value


def escape_row(values: Iterable[str]) -> list[str]:
    return [escape_cell(value) for value in values]
