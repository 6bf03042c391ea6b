from __future__ import annotations

import io
from pathlib import Path

from django.core.management import call_command

from openprm.integrations.formats.partners import PARTNER_COLUMNS

HEADER = ",".join(PARTNER_COLUMNS)


def csv_file(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "partners.csv", **kw) -> Path:
    """Write a CSV file: the header, then the given lines (already CSV-encoded), LF line ends."""
    newline = kw.get("newline", "\n")
    text = newline.join([header, *lines]) + newline
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if kw.get("bom") else b"") + text.encode("utf-8"))
    return path


def run(*args: str) -> tuple[str, str]:
    """Run a management command; return (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()
