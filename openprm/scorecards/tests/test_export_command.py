"""`prm export scorecards --period YYYY-MM --format csv|xlsx`: the all-partner scorecard table as a file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from openprm.scorecards.tests.conftest import this_month

pytestmark = pytest.mark.django_db


def test_export_scorecards_xlsx_and_csv(data: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    period = this_month().key
    target = tmp_path / "scorecards.xlsx"
    call_command("export", "scorecards", "--period", period, "--format", "xlsx", "--output", str(target))
    sheet = load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("period", "partner_id", "partner")
    assert {r[2] for r in rows[1:]} == {"Acme Resellers", "Globex Referrals"}
    assert all(r[0] == period for r in rows[1:])
    won = rows[0].index("won_revenue")
    assert {r[2]: r[won] for r in rows[1:]} == {"Acme Resellers": 1000, "Globex Referrals": 200}
    out = io.StringIO()
    call_command("export", "scorecards", "--period", period, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("period,partner_id,partner,program,tier,overall,")
    assert len(lines) == 3
    with pytest.raises(CommandError, match="not a period"):
        call_command("export", "scorecards", "--period", "soon", stdout=io.StringIO())
