"""`prm bench reports` at a tiny scale: the scheduled partner scorecard run reaches every partner's
contacts (one PDF per partner, each e-mail sent) and leaves nothing behind; the PDF step as it was and as
it is gives PDFs; a QBR pack and partner scorecard PDFs rendered both ways (a Node process per chart, the
long-lived renderer) give the same PDFs; the raw chart baseline gives the same SVGs; an empty database is
refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from openprm.bench import reports
from openprm.core.models import OutboxMessage
from openprm.core.scoping import unscoped
from openprm.demo.scale import SCALES, Scale, scale_load
from openprm.partners.models import Contact
from openprm.reports.models import ReportDefinition, ReportDelivery, ReportRun

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
    with unscoped():
        with_contacts = set(Contact.objects.exclude(email="").values_list("partner_id", flat=True))
        outbox = OutboxMessage.objects.count()
    assert len(with_contacts) >= 2  # the bench needs partners with contacts to send to
    call_command("bench", "reports", "--scale", tiny, "--reports", "2", "--json")
    found = json.loads(capsys.readouterr().out)
    assert found["partners"] == 4 and found["qbr"]["reports"] == 1 and found["scorecards"]["reports"] == 2

    run = found["run"]
    assert run["kind"] == "partner_scorecard" and run["partners"] == 2
    assert run["reports"] == run["pdfs"] == 2  # one document per partner, for all of its recipients
    assert run["emails"] == run["deliveries"]["sent"] == run["outbox_delivered"] >= 2
    assert run["deliveries"]["failed"] == run["deliveries"]["pending"] == 0
    assert run["total_s"] > 0 and run["per_report_s"] > 0 and run["stages_s"]["pdf"] > 0
    assert run["pdf_bytes_avg"] > 1000
    with unscoped():  # rolled back: no definition, run, delivery or outbox message left
        assert not ReportDefinition.objects.exists() and not ReportRun.objects.exists()
        assert not ReportDelivery.objects.exists() and OutboxMessage.objects.count() == outbox

    pdf = found["pdf"]
    assert pdf["pdfs"] == 3 and pdf["before_bytes"] > pdf["after_bytes"] > 0  # the SVG's browser parts
    assert pdf["before_cpu_s"] > 0 and pdf["after_cpu_s"] > 0
    assert found["load_average"]["before"] is not None
    for side in (found["qbr"], found["scorecards"]):
        assert side["charts"] > 0 and side["node_processes_before"] == side["charts"]
        assert side["node_processes_after"] == 1  # every chart of every report in one Node process
        assert side["pdf_bytes_before"] == side["pdf_bytes_after"] > 0  # the charts did not change
        assert side["build_s"] > 0 and side["pdf_before_s"] > 0 and side["pdf_after_s"] > 0
    raw = found["charts"]
    assert raw["one_process_each"] == 3
    assert raw["long_lived"] == found["scorecards"]["charts"] + found["qbr"]["charts"]
    assert raw["identical"] is True and raw["ratio"] > 0


def test_the_bench_refuses_an_empty_database(tiny: str) -> None:
    with pytest.raises(CommandError, match="holds 0 partners"):
        call_command("bench", "reports", "--scale", tiny, "--json")
