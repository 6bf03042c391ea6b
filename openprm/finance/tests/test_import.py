"""The finance CSV imports (through the shared runner): line-numbered errors, all or nothing, idempotent
re-import, updates by natural key, the CLI, and restricted staff importing only for their partners."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.finance.models import CompanyRevenue, Invoice, PartnerCost, SellThroughLine
from openprm.integrations.formats.csvread import CsvHeaderError
from openprm.integrations.services.finance import finance_import
from openprm.testing import actor_for, make_user

pytestmark = pytest.mark.django_db

COSTS = """partner_external_id,period,category,amount,note
A-1,2026-01,fees,1000.00,annual fee
A-1,2026-01,mdf,250.50,
Globex Referrals,2026-02,enablement,"1,200.00",
"""
INVOICES = """partner_external_id,number,issued_on,due_on,amount,currency,paid_on,disputed,corrected
A-1,INV-100,2026-01-05,2026-02-04,500.00,,2026-02-01,no,no
B-1,INV-101,2026-01-07,2026-02-06,800.00,EUR,,yes,
"""
SELLTHROUGH = """partner_external_id,period,sku,region,units_sold,units_on_hand,unit_price,list_price
A-1,2026-01,SKU-1,EMEA,100,40,9.50,10.00
A-1,2026-01,SKU-1,AMER,50,10,10.00,10.00
A-1,2026-02,SKU-1,EMEA,80,30,9.00,10.00
"""


def run(actor, kind, text, **options):  # type: ignore[no-untyped-def]
    with scope(actor.access_scope()):
        return finance_import(kind, actor=actor, stream=io.BytesIO(text.encode()), **options)


def counts() -> tuple[int, int, int, int]:
    with unscoped():
        return (
            PartnerCost.objects.count(),
            Invoice.objects.count(),
            SellThroughLine.objects.count(),
            CompanyRevenue.objects.count(),
        )


def test_imports_create_then_a_reimport_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    for kind, text in (("costs", COSTS), ("invoices", INVOICES), ("sellthrough", SELLTHROUGH)):
        first = run(actor, kind, text)
        assert (first.created, first.refused, first.errors) == (3 if kind != "invoices" else 2, False, [])
        again = run(actor, kind, text)
        assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)
    revenue = run(actor, "company-revenue", "period,amount\n2026-01,900000\n2026-02,950000\n")
    assert revenue.created == 2
    assert counts() == (3, 2, 3, 2)
    with unscoped():
        assert PartnerCost.objects.get(category="enablement").amount == Decimal("1200.00")
        paid = Invoice.objects.get(number="INV-100")
        assert (paid.currency, paid.paid_on_time, paid.disputed) == ("USD", True, False)
        assert Invoice.objects.get(number="INV-101").disputed is True
        assert AuditEntry.objects.filter(object_type="finance.partnercost", action="create").count() == 3


def test_a_reimport_updates_by_key_and_keeps_columns_it_lacks(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    run(actor, "costs", COSTS)
    result = run(actor, "costs", "partner_external_id,period,category,amount\nA-1,2026-01-15,fees,1100\n")
    assert (result.created, result.updated) == (0, 1)
    with unscoped():
        fee = PartnerCost.objects.get(category="fees")
        assert (fee.amount, fee.note) == (Decimal("1100.00"), "annual fee")
        entry = AuditEntry.objects.get(object_id=fee.public_id, action="update")
        assert entry.changes == {"amount": {"before": "1000.00", "after": "1100.00"}}


def test_bad_rows_refuse_the_file_with_line_numbers(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    text = (
        "partner_external_id,number,issued_on,due_on,amount,paid_on,disputed\n"
        "A-1,INV-1,2026-01-05,2026-02-04,500,,no\n"
        "NOPE,INV-2,2026-01-05,2026-02-04,500,,no\n"
        "A-1,INV-3,2026-13-05,2026-02-04,lots,,maybe\n"
        "A-1,INV-1,2026-01-05,2026-02-04,500,,no\n"
        "B-1,INV-5,2026-03-05,2026-02-04,500,,\n"
    )
    result = run(actor, "invoices", text)
    assert result.refused and result.created == 0
    assert [(e.line, e.column) for e in result.errors] == [
        (3, "partner_external_id"),
        (4, "issued_on"),
        (4, "amount"),
        (4, "disputed"),
        (5, "number"),
        (6, "due_on"),
    ]
    assert "Unknown partner 'NOPE'" in result.errors[0].message
    assert counts() == (0, 0, 0, 0)
    skipped = run(actor, "invoices", text, skip_invalid=True)
    assert (skipped.created, skipped.rejected) == (1, 4)
    assert counts() == (0, 1, 0, 0)


def test_headers_are_checked(world) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    with pytest.raises(CsvHeaderError, match="lacks the column"):
        run(actor, "costs", "partner_external_id,period,amount\nA-1,2026-01,5\n")
    with pytest.raises(CsvHeaderError, match="Unknown column"):
        run(actor, "company-revenue", "period,amount,colour\n2026-01,5,red\n")


def test_only_writers_import_and_restricted_staff_only_for_their_partners(world) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        run(actor_for(world.manager), "costs", COSTS)
    own = make_user(world.workspace, "own@vendor.test", Role.FINANCE, owned_only=True)
    with unscoped():
        world.partner_a.owner = own
        world.partner_a.save()
    result = run(actor_for(own), "costs", COSTS)
    assert result.refused and [(e.line, e.column) for e in result.errors] == [(4, "partner_external_id")]
    assert counts() == (0, 0, 0, 0)


def test_cli(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sell.csv"
    path.write_text(SELLTHROUGH)
    out = io.StringIO()
    call_command("import", "sellthrough", str(path), stdout=out)
    assert "created 3" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("period,amount\n2026-01,900\n2026-xx,5\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Import refused"):
        call_command("import", "company-revenue", str(bad), stderr=err)
    assert "line 3, column period" in err.getvalue()
    assert counts() == (0, 0, 3, 0)


def test_an_export_imports_unchanged(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    actor = actor_for(world.finance)
    for kind, text in (("costs", COSTS), ("invoices", INVOICES), ("sellthrough", SELLTHROUGH)):
        run(actor, kind, text)
        path = tmp_path / f"{kind}.csv"
        call_command("export", kind, "--output", str(path), stderr=io.StringIO())
        exported = path.read_text()
        assert exported.splitlines()[0].startswith(
            ("partner_external_id,period", "partner_external_id,number")
        )
        again = run(actor, kind, exported)
        assert (again.created, again.updated, again.refused) == (0, 0, False)
        assert again.unchanged == (2 if kind == "invoices" else 3)
    assert (
        "A-1,INV-100,2026-01-05,2026-02-04,500.00,USD,2026-02-01,false,false,"
        in (tmp_path / "invoices.csv").read_text()
    )
