"""`prm bench reports` at a tiny scale: a QBR pack and partner scorecard PDFs rendered both ways (a Node
process per chart, the long-lived renderer) give the same PDFs; the raw chart baseline gives the same SVGs;
an empty database is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from openprm.bench import reports
from openprm.demo.scale import SCALES, Scale, scale_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    settings.VAR_DIR = tmp_path  # the scale load writes its logins file there
    monkeypatch.setitem(SCALES, "s", Scale("s", partners=4, deals=120, events=1_500))
    monkeypatch.setattr(reports, "RAW_CHARTS", 3)
    return "s"


def test_the_bench_renders_the_same_pdfs_both_ways_with_one_node_process_after(
    tiny: str, capsys: Any
) -> None:
    scale_load(scale=SCALES[tiny])
    call_command("bench", "reports", "--scale", tiny, "--reports", "1", "--json")
    found = json.loads(capsys.readouterr().out)
    assert found["partners"] == 4 and found["qbr"]["reports"] == 1 and found["scorecards"]["reports"] == 1
    for side in (found["qbr"], found["scorecards"]):
        assert side["charts"] > 0 and side["node_processes_before"] == side["charts"]
        assert side["node_processes_after"] == 1  # every chart of every report in one Node process
        assert side["pdf_bytes_before"] == side["pdf_bytes_after"] > 0  # the charts did not change
        assert side["build_s"] > 0 and side["pdf_before_s"] > 0 and side["pdf_after_s"] > 0
    raw = found["charts"]
    assert raw["one_process_each"] == 3 and raw["long_lived"] == 5 + found["qbr"]["charts"]
    assert raw["identical"] is True and raw["ratio"] > 0


def test_the_bench_refuses_an_empty_database(tiny: str) -> None:
    with pytest.raises(CommandError, match="holds 0 partners"):
        call_command("bench", "reports", "--scale", tiny, "--json")
