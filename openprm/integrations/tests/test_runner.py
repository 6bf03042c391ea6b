"""The shared import runner: what every import gets, shown through the products and partners formats
with small batches (so that a file spans several) on the real database."""

from __future__ import annotations

import io
from typing import Any

import pytest

from openprm.core.scoping import scope, unscoped
from openprm.deals.models import Product
from openprm.integrations.formats.csvread import CsvRecord, RowError
from openprm.integrations.services.partners import PartnerImport
from openprm.integrations.services.products import ProductImport
from openprm.integrations.services.runner import (
    MAX_KEPT_ERRORS,
    PREVIEW_ROWS,
    ImportResult,
    import_run,
)
from openprm.integrations.tests.helpers import HEADER
from openprm.partners.services import PartnerLookups

pytestmark = pytest.mark.django_db


class SmallBatches(ProductImport):
    batch_size = 2


def products_file(*names: str, active: str = "true") -> io.BytesIO:
    lines = ["name,list_price,active", *(f"{name},10,{active}" for name in names)]
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def run_products(world: Any, stream: io.BytesIO, **options: Any) -> ImportResult:
    with scope(world.system.access_scope()):
        fmt = SmallBatches(actor=world.system)
        return import_run(fmt=fmt, stream=stream, result=ImportResult(), **options)


def catalog() -> list[str]:
    with unscoped():
        return sorted(Product.objects.values_list("name", flat=True))


def test_a_repeated_key_in_a_later_batch_names_the_first_line(world):
    result = run_products(world, products_file("Alpha", "Beta", "Gamma", "alpha "))

    assert result.refused and [str(e) for e in result.errors] == [
        "line 5, column name: 'alpha' is named twice in the file."
    ]
    assert catalog() == []


def test_a_bad_row_after_written_batches_rolls_them_all_back(world):
    names = [f"Product {n}" for n in range(1, 6)]
    stream = io.BytesIO(products_file(*names).getvalue() + b"Bad,10,perhaps\n")
    result = run_products(world, stream)

    assert result.refused and (result.created, result.rejected, result.rows) == (0, 1, 6)
    assert catalog() == []  # the two batches written before the bad row are gone too

    stream.seek(0)
    result = run_products(world, stream, skip_invalid=True)
    assert not result.refused and (result.created, result.rejected) == (5, 1)
    assert catalog() == sorted(names)


def test_rejected_records_reach_the_callback_in_file_order_with_the_header(world):
    seen: list[tuple[list[str], int, list[str]]] = []

    def reject(header: list[str], record: CsvRecord, errors: list[RowError]) -> None:
        seen.append((header, record.line, [e.message for e in errors]))

    run_products(world, products_file("A", "B", "a", "C", "b"), on_reject=reject)

    header = ["name", "list_price", "active"]
    assert seen == [
        (header, 4, ["'a' is named twice in the file."]),
        (header, 6, ["'b' is named twice in the file."]),
    ]


def test_dry_run_counts_writes_nothing_and_shows_the_first_rows(world):
    names = [f"P{n:02}" for n in range(PREVIEW_ROWS + 5)]
    result = run_products(world, products_file(*names), dry_run=True)

    assert result.dry_run and not result.refused
    assert result.summary() == f"would be created {len(names)}, would be updated 0, unchanged 0, rejected 0"
    assert [row.line for row in result.preview] == list(range(2, PREVIEW_ROWS + 2))
    assert catalog() == []


def test_errors_beyond_the_kept_ones_are_counted(world):
    names = [f"P{n}" for n in range(MAX_KEPT_ERRORS + 3)]
    result = run_products(world, products_file(*names, active="perhaps"), dry_run=True)

    assert result.rejected == result.error_count == MAX_KEPT_ERRORS + 3
    assert len(result.errors) == MAX_KEPT_ERRORS and result.errors_not_kept == 3


def test_progress_is_reported_per_stage_up_to_the_whole_file(world):
    stream = io.BytesIO(
        "\n".join([HEADER, "P-1,Alpha,reseller,,,,,,,,", "P-2,Beta,reseller,,,,,,,,"]).encode() + b"\n"
    )
    size = len(stream.getvalue())
    calls: list[tuple[str, int]] = []

    def progress(stage: str, done: int) -> None:
        calls.append((stage, done))

    with scope(world.system.access_scope()):
        fmt = PartnerImport(actor=world.system, lookups=PartnerLookups.load(world.system))
        result = import_run(fmt=fmt, stream=stream, result=ImportResult(), on_progress=progress)

    assert result.created == 2
    # Partners are checked whole before the file is read again to be written.
    assert [stage for stage, _ in calls] == ["check", "import"]
    assert all(done == size for _, done in calls)
