"""The ECB exchange-rate import (``prm import fx-rates`` and its pages): both ECB layouts, N/A cells and
the trailing column, line-numbered errors, all or nothing, idempotent re-import, a changed rate refused
unless overwrite, one audit entry per import (counts, days, currencies, each replaced rate), who may
import."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.finance.models import FxRate
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.services.fx import fx_import
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

# The ECB's daily file: one row, spaces after commas, the day spelled out, a trailing empty column.
DAILY = """Date, USD, JPY, BGN, CYP, GBP, \r
05 January 2024, 1.0921, 157.50, 1.9558, N/A, 0.86145, \r
"""
# The history file: many rows, ISO days, N/A for currencies not quoted that day.
HISTORY = """Date,USD,JPY,BGN,CYP,GBP,
2024-01-05,1.0921,157.50,1.9558,N/A,0.86145,
2024-01-04,1.0953,158.47,1.9558,N/A,0.86190,
2024-01-03,1.0919,155.29,1.9558,N/A,0.86330,
2007-12-31,1.4721,164.93,1.9558,0.5842,0.73335,
"""


def run(actor, text, **options):  # type: ignore[no-untyped-def]
    with scope(actor.access_scope()):
        return fx_import(actor=actor, stream=io.BytesIO(text.encode()), **options)


def stored() -> dict[tuple[datetime.date, str], Decimal]:
    with unscoped():
        return {(r.day, r.quote): r.rate for r in FxRate.objects.all() if r.base == "EUR"}


def test_the_daily_file_skips_na_and_the_trailing_column(world) -> None:  # type: ignore[no-untyped-def]
    result = run(actor_for(world.finance), DAILY)
    assert (result.created, result.rows, result.errors) == (4, 1, [])
    rates = stored()
    assert rates[(datetime.date(2024, 1, 5), "USD")] == Decimal("1.0921")
    assert rates[(datetime.date(2024, 1, 5), "GBP")] == Decimal("0.86145")
    assert (datetime.date(2024, 1, 5), "CYP") not in rates
    with unscoped():
        row = FxRate.objects.get(day=datetime.date(2024, 1, 5), quote="JPY")
    assert (row.base, row.source, row.created_by_id) == ("EUR", "ecb", world.finance.pk)


def test_the_history_file_then_a_reimport_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    assert run(actor, DAILY).created == 4
    first = run(actor, HISTORY)
    assert (first.created, first.unchanged, first.rows) == (13, 4, 4)  # 2007 quotes the pound too, and CYP
    assert stored()[(datetime.date(2007, 12, 31), "CYP")] == Decimal("0.5842")
    with unscoped():
        audited = list(AuditEntry.objects.filter(object_type="finance.fximport").order_by("id"))
        assert not AuditEntry.objects.filter(object_type="finance.fxrate").exists()  # not one per rate
    assert len(audited) == 2  # one per import
    entry = audited[1]
    after = {key: value["after"] for key, value in entry.changes.items()}
    assert (after["created"], after["updated"], after["unchanged"]) == (13, 0, 4)
    assert after["days"] == {"count": 4, "first": "2007-12-31", "last": "2024-01-05"}
    assert after["currencies"] == ["BGN", "CYP", "EUR", "GBP", "JPY", "USD"]
    assert after["replaced"] == {} and entry.actor_id == world.finance.pk
    summary = "13 added, 0 replaced, 4 unchanged (4 days 2007-12-31…2024-01-05, 6 currencies)"
    assert summary in entry.object_repr
    again = run(actor, HISTORY)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 17)
    with unscoped():  # a re-import changes nothing, so records nothing
        assert AuditEntry.objects.filter(object_type="finance.fximport").count() == 2


def test_bad_cells_refuse_the_file_naming_line_and_currency(world) -> None:  # type: ignore[no-untyped-def]
    bad = HISTORY.replace("158.47", "1O8.47").replace("2024-01-03", "2024-13-03")
    bad += "2024-01-05,1.1,1,1,N/A,1,\n"
    result = run(actor_for(world.finance), bad)
    assert result.refused
    assert [str(e) for e in result.errors] == [
        "line 3, column JPY: “1O8.47” is not a rate (e.g. 1.0823 or N/A).",
        "line 4, column Date: “2024-13-03” is not a date (YYYY-MM-DD or 5 January 2024).",
        "line 6, column Date: The same day as line 2.",
    ]
    assert stored() == {}


def test_a_changed_rate_is_refused_unless_overwrite_which_is_audited(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    run(actor, HISTORY)
    changed = HISTORY.replace("0.86190", "0.8620")
    refused = run(actor, changed)
    assert refused.refused
    assert [str(e) for e in refused.errors] == [
        "line 3, column GBP: EUR→GBP of 2024-01-04 is stored as 0.8619; this says 0.8620. To change it, "
        "choose to replace stored rates (overwrite)."
    ]
    assert stored()[(datetime.date(2024, 1, 4), "GBP")] == Decimal("0.8619")
    done = run(actor, changed, overwrite=True)
    assert (done.created, done.updated, done.unchanged, done.refused) == (0, 1, 16, False)
    assert stored()[(datetime.date(2024, 1, 4), "GBP")] == Decimal("0.862")
    with unscoped():
        entry = AuditEntry.objects.filter(object_type="finance.fximport", action="update").get()
    assert entry.changes["replaced"]["after"] == {"EUR→GBP": [["2024-01-04", "0.8619", "0.862"]]}
    assert entry.changes["updated"]["after"] == 1 and entry.actor_id == world.finance.pk


def test_headers_that_are_not_the_ecb_layout_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    for text, message in (
        ("Day,USD\n2024-01-05,1\n", "first column must be the date"),
        ("Date,USD,Dollars\n2024-01-05,1,1\n", "Column 3 (“Dollars”) is not a currency code"),
        ("Date,USD,usd\n2024-01-05,1,1\n", "USD has two columns"),
        ("Date,EUR\n2024-01-05,1\n", "EUR is the base"),
        ("Date,\n2024-01-05,\n", "names no currency"),
    ):
        with pytest.raises(CsvHeaderError, match=re.escape(message)):
            run(actor, text)


def test_another_base_can_be_named_in_the_header(world) -> None:  # type: ignore[no-untyped-def]
    run(actor_for(world.finance), "Date (usd),CAD\n2024-01-05,1.3350\n")
    with unscoped():
        row = FxRate.objects.get()
    assert (row.base, row.quote, row.rate) == ("USD", "CAD", Decimal("1.335"))


def test_only_admins_and_finance_import(world) -> None:  # type: ignore[no-untyped-def]
    for user in (world.manager, world.analyst, world.a_admin):
        with pytest.raises(PermissionDenied):
            run(actor_for(user), DAILY)
    assert run(actor_for(world.admin), DAILY).created == 4


def test_the_cli(world, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(HISTORY)
    call_command("import", "fx-rates", str(path), skip_checks=True)
    assert "created 17" in capsys.readouterr().out
    path.write_text(HISTORY.replace("1.0919", "1.0920"))
    with pytest.raises(CommandError, match="Import refused: 1 bad row"):
        call_command("import", "fx-rates", str(path), skip_checks=True)
    call_command("import", "fx-rates", str(path), overwrite=True, skip_checks=True)
    assert "updated 1, unchanged 16" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--overwrite is for fx-rates only"):
        call_command("import", "costs", str(path), overwrite=True, skip_checks=True)


def test_the_import_pages(world, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.finance)
    page = client.get("/import/finance/fx-rates/")
    assert page.status_code == 200 and "eurofxref-hist.csv" in page.content.decode()
    upload = SimpleUploadedFile("eurofxref-hist.csv", HISTORY.encode(), content_type="text/csv")
    answer = client.post("/import/finance/fx-rates/", {"file": upload})
    assert answer.status_code == 302
    preview = client.get(answer["Location"])
    assert "13 rates to add" not in preview.content.decode()  # nothing stored yet: 17 to add
    assert "17 rates to add" in preview.content.decode()
    assert stored() == {}
    done = client.post(answer["Location"], {})
    assert done.status_code == 302 and done["Location"].endswith("/result/")
    assert len(stored()) == 17
    assert 'id="count-created">17<' in client.get(done["Location"]).content.decode()
    # a changed file: refused until the user chooses to replace stored rates
    upload = SimpleUploadedFile("again.csv", HISTORY.replace("1.0921", "1.0922").encode())
    preview_url = client.post("/import/finance/fx-rates/", {"file": upload})["Location"]
    shown = client.get(preview_url).content.decode()
    assert "is stored as 1.0921" in shown and "Preview with replacing them" in shown
    assert client.post(preview_url, {}).status_code == 302
    assert stored()[(datetime.date(2024, 1, 5), "USD")] == Decimal("1.0921")
    assert client.post(preview_url, {"overwrite": "on"})["Location"].endswith("/result/")
    assert stored()[(datetime.date(2024, 1, 5), "USD")] == Decimal("1.0922")
    for user in (world.analyst, world.a_admin):
        assert client_for(user).get("/import/finance/fx-rates/").status_code in (403, 404)
