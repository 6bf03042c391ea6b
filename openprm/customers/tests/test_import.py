"""The customer CSV imports (`prm import accounts|account-changes|csat|usage`): line-numbered errors, all or
nothing, idempotent re-imports, audit entries, and the bulk services' scoping."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.customers import services
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.integrations.services.customers import customers_import
from openprm.partners.models import Partner
from openprm.testing import actor_for, make_user

ACCOUNTS = "external_id,partner_external_id,name,domain,started_on,ended_on,arr,mrr,note"
CHANGES = "external_id,account_external_id,kind,occurred_on,amount"
CSAT = "external_id,account_external_id,channel,score,answered_on"
USAGE = "account_external_id,month,active_users,features_used,features_available"


def _file(tmp_path: Path, header: str, *lines: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _counts() -> tuple[int, int, int, int]:
    with unscoped():
        return (
            CustomerAccount.objects.count(),
            AccountChange.objects.count(),
            CsatResponse.objects.count(),
            UsageRecord.objects.count(),
        )


GOOD_ACCOUNTS = (
    "C-1,A-1,Initech,initech.example,2024-01-15,,120000,10000,Key account",
    "C-2,B-1,Umbrella,,1/31/2024,2025-03-31,,,",
)


def _import_everything(tmp_path: Path) -> None:
    _run("accounts", str(_file(tmp_path, ACCOUNTS, *GOOD_ACCOUNTS, name="accounts.csv")))
    _run(
        "account-changes",
        str(
            _file(
                tmp_path,
                CHANGES,
                "R-1,C-1,renewal,2025-01-15,125000.00",
                'U-1,C-1,cross_sell,2025-02-01,"$4,500"',
                "D-1,C-2,churn,2025-03-31,",
                name="changes.csv",
            )
        ),
    )
    _run(
        "csat",
        str(_file(tmp_path, CSAT, "S-1,C-1,,5,2025-02-10", "S-2,,direct,3,2025-02-11", name="csat.csv")),
    )
    _run(
        "usage",
        str(_file(tmp_path, USAGE, "C-1,2025-01,40,6,10", "C-1,2025-02-17,42,7,10", name="usage.csv")),
    )


def test_every_kind_imports_and_a_second_run_changes_nothing(world: Any, tmp_path: Path) -> None:
    _import_everything(tmp_path)
    assert _counts() == (2, 3, 2, 2)
    with unscoped():
        initech = CustomerAccount.objects.get(external_id="C-1")
        assert initech.partner_id == world.partner_a.pk and initech.arr == Decimal("120000.00")
        assert CustomerAccount.objects.get(external_id="C-2").started_on == datetime.date(2024, 1, 31)
        upsell = AccountChange.objects.get(external_id="U-1")
        assert upsell.amount == Decimal("4500.00") and upsell.partner_id == world.partner_a.pk
        assert CsatResponse.objects.get(external_id="S-1").channel == "partner"
        direct = CsatResponse.objects.get(external_id="S-2")
        assert direct.partner_id is None and direct.account_id is None
        assert sorted(UsageRecord.objects.values_list("month", flat=True)) == [
            datetime.date(2025, 1, 1),
            datetime.date(2025, 2, 1),
        ]
        audited = AuditEntry.objects.filter(object_type__startswith="customers.").count()
    assert audited == 9
    out, _ = _run("accounts", str(tmp_path / "accounts.csv"))
    assert "created 0, updated 0, unchanged 2, rejected 0" in out
    for kind, name in (("account-changes", "changes"), ("csat", "csat"), ("usage", "usage")):
        out, _ = _run(kind, str(tmp_path / f"{name}.csv"))
        assert "created 0, updated 0" in out, kind
    assert _counts() == (2, 3, 2, 2)
    with unscoped():
        assert AuditEntry.objects.filter(object_type__startswith="customers.").count() == audited


def test_a_changed_row_updates_and_a_moved_account_takes_its_records(world: Any, tmp_path: Path) -> None:
    _import_everything(tmp_path)
    moved = _file(tmp_path, "external_id,partner_external_id,ended_on", "C-1,B-1,2025-06-30", name="move.csv")
    out, _ = _run("accounts", str(moved))
    assert "created 0, updated 1" in out
    with unscoped():
        account = CustomerAccount.objects.get(external_id="C-1")
        assert account.ended_on == datetime.date(2025, 6, 30)
        assert account.name == "Initech" and account.note == "Key account"  # columns left out: kept
        for model in (AccountChange, CsatResponse, UsageRecord):
            assert set(model.objects.filter(account=account).values_list("partner_id", flat=True)) == {
                world.partner_b.pk
            }


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(world: Any, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        ACCOUNTS,
        GOOD_ACCOUNTS[0],
        "C-3,NOPE,Ghost,,2024-01-01,,,,",  # line 3: unknown partner
        "C-4,A-1,,,2024-13-01,,,,",  # line 4: no name, bad date
        "C-5,A-1,Late,,2024-05-01,2024-04-01,,,",  # line 5: ends before it starts
        "C-1,A-1,Again,,2024-01-01,,,,",  # line 6: C-1 again
        "C-6,A-1,Pricey,,2024-01-01,,-3,,",  # line 7: negative ARR
    )
    with pytest.raises(CommandError, match="5 bad row"):
        _run("accounts", str(path))
    assert _counts() == (0, 0, 0, 0)
    with scope(world.system.access_scope()), path.open("rb") as stream:
        result = customers_import(actor=world.system, kind="accounts", stream=stream, dry_run=True)
    problems = {(e.line, e.column) for e in result.errors}
    assert problems == {
        (3, "partner_external_id"),
        (4, "started_on"),
        (5, "ended_on"),
        (6, "external_id"),
        (7, "arr"),
    }
    assert [row["action"] for row in result.preview] == ["create", *["reject"] * 5]
    # --skip-invalid imports the good row and writes the others to a rejects file
    out, _ = _run("accounts", str(path), "--skip-invalid")
    assert "created 1" in out and _counts()[0] == 1
    assert (tmp_path / "file.rejects.csv").read_text(encoding="utf-8").count("\n") == 6


def test_records_name_existing_accounts_and_valid_values(world: Any, tmp_path: Path) -> None:
    _run("accounts", str(_file(tmp_path, ACCOUNTS, *GOOD_ACCOUNTS, name="accounts.csv")))
    cases = [
        ("account-changes", CHANGES, "X-1,C-404,renewal,2025-01-01,10", "account_external_id"),
        ("account-changes", CHANGES, "X-2,C-1,refund,2025-01-01,10", "kind"),
        ("csat", CSAT, "S-9,C-1,,6,2025-01-01", "score"),
        ("csat", CSAT, "S-9,,partner,4,2025-01-01", "account_external_id"),
        ("csat", CSAT, "S-9,C-1,direct,4,2025-01-01", "account_external_id"),
        ("usage", USAGE, "C-1,2025-01,10,11,10", "features_used"),
        ("usage", USAGE, "C-1,2025-14,10,1,10", "month"),
        ("usage", USAGE, "C-1,2025-01,-1,1,10", "active_users"),
    ]
    for kind, header, line, column in cases:
        path = _file(tmp_path, header, line, name=f"{kind}.csv")
        with scope(world.system.access_scope()), path.open("rb") as stream:
            result = customers_import(actor=world.system, kind=kind, stream=stream)
        assert result.refused, (kind, line)
        assert [(e.line, e.column) for e in result.errors] == [(2, column)], (kind, line, result.errors)
    assert _counts() == (2, 0, 0, 0)
    dup = _file(tmp_path, USAGE, "C-1,2025-01,1,1,1", "C-1,2025-01-20,2,1,1", name="dup.csv")
    with pytest.raises(CommandError):
        _run("usage", str(dup))


def test_a_bad_header_refuses_the_file(world: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="lacks external_id"):
        _run("accounts", str(_file(tmp_path, "name,started_on", "X,2024-01-01")))
    with pytest.raises(CommandError, match="Unknown column"):
        _run("usage", str(_file(tmp_path, USAGE + ",colour", "C-1,2025-01,1,1,1,red")))


def test_restricted_staff_import_only_for_their_own_partners(world: Any, tmp_path: Path) -> None:
    mine = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        Partner.objects.filter(pk=world.partner_b.pk).update(owner=mine)
    actor = actor_for(mine)
    path = _file(tmp_path, ACCOUNTS, *GOOD_ACCOUNTS)
    with scope(actor.access_scope()), path.open("rb") as stream:
        result = customers_import(actor=actor, kind="accounts", stream=stream)
    assert result.refused and [(e.line, e.column) for e in result.errors] == [(2, "partner_external_id")]
    # an account of a partner they do not own cannot be changed by naming its external id
    _run("accounts", str(path))
    with scope(actor.access_scope()):
        done = services.accounts_upsert(actor=actor, items=[{"external_id": "C-1", "name": "Mine now"}])
    assert done.errors and done.errors[0].field == "external_id"
    with unscoped():
        assert CustomerAccount.objects.get(external_id="C-1").name == "Initech"


def test_partner_users_cannot_import(world: Any, tmp_path: Path) -> None:
    from django.core.exceptions import PermissionDenied

    actor = actor_for(world.a_admin)
    path = _file(tmp_path, ACCOUNTS, GOOD_ACCOUNTS[0])
    with scope(actor.access_scope()), path.open("rb") as stream, pytest.raises(PermissionDenied):
        customers_import(actor=actor, kind="accounts", stream=stream)
