"""The importers agree on reading CSV (one reader, ``integrations/csvread.py``): encodings, NULs, duplicate
columns, field counts; and money rounds half up everywhere (CSV and conversions)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management.base import CommandError

from openprm.activity.models import Event
from openprm.activity.services import conversions
from openprm.core.scoping import scope, unscoped
from openprm.core.validation import quantize_money
from openprm.deals.models import Deal
from openprm.integrations.formats.csvread import CsvHeaderError, CsvSource, wide_encoding
from openprm.integrations.tests.helpers import HEADER as PARTNER_HEADER
from openprm.integrations.tests.helpers import run
from openprm.partners.models import Partner
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

ACTIVITY_HEADER = "event_id,partner_external_id,type,occurred_at,direction,value,properties,campaign"
ACTIVITY_ROW = "x-1,A-1,portal_login,2026-10-01T08:00:00Z,,,,Müller"
DEAL_HEADER = "external_id,partner_external_id,customer_name,amount"
DEAL_ROW = "D-1,A-1,Müller GmbH,100"
PARTNER_ROW = "P-1,Müller,reseller,,active,DE,,,,,"
FILES = {
    "partners": (PARTNER_HEADER, PARTNER_ROW),
    "deals": (DEAL_HEADER, DEAL_ROW),
    "activities": (ACTIVITY_HEADER, ACTIVITY_ROW),
}


def events() -> list[Event]:
    with unscoped():
        return list(Event.objects.all())


def write(tmp_path, data: bytes, name: str = "file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize(
    ("codec", "bom", "name"),
    [
        ("utf-16", True, "UTF-16"),  # the machine's order, with BOM (Excel's "Unicode text")
        ("utf-16-le", False, "UTF-16"),
        ("utf-16-be", False, "UTF-16"),
        ("utf-32", True, "UTF-32"),
    ],
)
def test_utf16_and_utf32_files_are_refused_as_an_encoding_problem(world, tmp_path, kind, codec, bom, name):
    header, row = FILES[kind]
    path = write(tmp_path, f"{header}\r\n{row}\r\n".encode(codec))
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff") if bom else True
    with pytest.raises(CommandError, match=f"The file is {name}; save it as UTF-8") as caught:
        run("import", kind, str(path))
    assert "NUL" not in str(caught.value)


@pytest.mark.parametrize("kind", FILES)
def test_latin1_rows_are_rejected_with_their_line_by_every_importer(world, tmp_path, kind):
    header, row = FILES[kind]
    good = row.replace("Müller", "Mueller").replace("x-1", "x-0").replace("D-1", "D-0").replace("P-1", "P-0")
    path = write(tmp_path, f"{header}\n{good}\n".encode() + f"{row}\n".encode("latin-1"))
    with pytest.raises(CommandError, match="1 bad row"):
        run("import", kind, str(path))
    _, err = run("import", kind, str(path), "--skip-invalid")
    assert "line 3: Not valid UTF-8 text; save the file as UTF-8." in err
    rejects = (tmp_path / "file.rejects.csv").read_text(encoding="utf-8")
    assert "M\ufffdller" in rejects  # the rejects file shows the row, and is itself UTF-8
    with unscoped():
        stored = [
            *(str(e.properties) for e in Event.objects.all()),
            *(d.customer_name for d in Deal.objects.all()),
            *(p.name for p in Partner.objects.filter(external_id__startswith="P-")),
        ]
    assert stored and not any("\ufffd" in value for value in stored)  # the good row only, nothing replaced


def test_activities_with_a_latin1_id_store_nothing_replaced(world, tmp_path):
    path = write(
        tmp_path,
        (ACTIVITY_HEADER + "\n").encode() + "m-1,A-1,portal_login,2026-10-01,,,,Müller\n".encode("cp1252"),
    )
    with pytest.raises(CommandError, match="1 bad row"):
        run("import", "activities", str(path))
    assert events() == []


@pytest.mark.parametrize("kind", FILES)
def test_a_column_named_twice_refuses_the_file(world, tmp_path, kind):
    header, row = FILES[kind]
    first = header.split(",")[-1]
    path = write(tmp_path, f"{header},{first.upper()}\n{row},again\n".encode())
    with pytest.raises(CommandError, match=f"(?i)Duplicate column\\(s\\) in the header: {first}"):
        run("import", kind, str(path))


@pytest.mark.parametrize("kind", FILES)
def test_nul_and_field_counts_are_reported_by_line(world, tmp_path, kind):
    header, row = FILES[kind]
    nul = row.replace("A-1", "A\x00-1") if kind != "partners" else row.replace("Müller", "M\x00ller")
    path = write(tmp_path, f"{header}\n{nul}\n{row},extra\n".encode())
    _, err = run("import", kind, str(path), "--dry-run")
    assert "line 2: Contains a NUL character." in err
    width = len(header.split(","))
    assert f"line 3: Has {width + 1} fields; the header has {width}." in err


def test_activities_short_rows_are_rejected_like_the_other_importers(world, tmp_path):
    path = write(tmp_path, f"{ACTIVITY_HEADER}\nx-9,A-1,portal_login,2026-10-01T08:00:00Z\n".encode())
    with pytest.raises(CommandError, match="1 bad row"):
        run("import", "activities", str(path))


def test_utf8_with_bom_and_a_bare_header_still_read():
    assert wide_encoding("a,b\r\nü,é\r\n".encode()) == ""
    assert wide_encoding("名前,説明\r\n日本語,テキスト\r\n".encode()) == ""  # multi-byte UTF-8: not wide
    source = CsvSource(io.BytesIO("\ufeffa,b\r\n1,2\r\n".encode()))
    try:
        assert source.read_header() == ["a", "b"]
        assert [r.values for r in source.records()] == [["1", "2"]]
    finally:
        source.close()
    with pytest.raises(CsvHeaderError, match="UTF-16"):
        CsvSource(io.BytesIO("\ufeffa,b\r\n".encode("utf-16")))


# --- money: one rounding rule (half up) --------------------------------------------------------------


@pytest.mark.parametrize(("text", "rounded"), [("0.125", "0.13"), ("0.145", "0.15"), ("1234.565", "1234.57")])
def test_money_rounds_half_up_in_conversions_and_deal_imports(world, tmp_path, text, rounded):
    assert quantize_money(Decimal(text)) == Decimal(rounded)
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        conversion, _ = conversions.conversion_record(
            actor=actor, data={"kind": "purchase", "amount": text}, idempotency_key=f"k-{text}"
        )
    assert conversion.amount == Decimal(rounded)

    path = write(tmp_path, f"{DEAL_HEADER}\nR-1,A-1,Initech,{text}\n".encode())
    run("import", "deals", str(path))
    with unscoped():
        assert Deal.objects.get(external_id="R-1").amount == Decimal(rounded)
