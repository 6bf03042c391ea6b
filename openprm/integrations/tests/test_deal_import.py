"""Deal CSV imports (canonical, HubSpot, Salesforce) through `prm import deals`, the service and the pages."""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.deals.models import (
    ApprovalStatus,
    CustomerKey,
    Deal,
    DealLineItem,
    DealStageChange,
    Product,
)
from openprm.integrations.formats.deals import (
    DEAL_COLUMNS,
    AmountError,
    DateError,
    parse_amount,
    parse_datetime,
)
from openprm.integrations.formats.partners import CsvHeaderError
from openprm.integrations.services.deals import DealImport, deals_import
from openprm.integrations.tests.helpers import run
from openprm.testing import actor_for, make_partner, make_user

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
HEADER = ",".join(DEAL_COLUMNS)
CANONICAL = [
    'D-1,A-1,Initech GmbH,initech.example,"$1,234.50",,registered,sourced,2026-01-10,2026-03-31,,'
    "Core Platform",
    'D-2,A-1,Umbrella Corp,https://www.umbrella.example/,"€1.234.567,89",EUR,closed_won,influenced,'
    "2026-01-05T09:30:00Z,,2026-02-20,Core Platform;Premium Support",
    "D-3,B-1,Hooli,,0,,closed_lost,,1/15/2026,,2/1/2026,",
    'D-4,B-1,Vandelay Industries,vandelay.example,"1 234,50 €",,negotiating,,2026-02-01,,,',
]

HUBSPOT = """\
Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Pipeline,Deal owner,Associated Company,Deal Type,Priority,Last Activity Date,partner_external_id
9876543210,Initech - Platform,Appointment Scheduled,12000,2026-04-30,2026-01-12 14:03,Sales Pipeline,Jane Doe,Initech,newbusiness,high,2026-02-01 10:00,A-1
9876543211,Hooli expansion,closedwon,"3,500.00",2026-02-28,2026-01-03 09:00,Sales Pipeline,John Roe,Hooli,existingbusiness,,,A-1
9876543212,Pied Piper,Decision maker bought-in,,2026-05-15,2026-02-01 08:00,Sales Pipeline,,,newbusiness,low,,B-1
"""  # noqa: E501

SALESFORCE = """\
"Opportunity Owner","Account Name","Opportunity Name","Opportunity ID","Stage","Fiscal Period","Amount Currency","Amount","Expected Revenue Currency","Expected Revenue","Probability (%)","Close Date","Created Date","Lead Source","Type"
"Jane Doe","Initrode Inc.","Initrode - 50 seats","0065g00000AbCdEAAV","Closed Won","Q1-2026","USD","1,250,000.00","USD","1,250,000.00","100","3/15/2026","1/29/2026","Partner","New Customer"
"John Roe","Globodyne","Globodyne renewal","0065g00000AbCdFAAV","Negotiation/Review","Q2-2026","EUR","48.500,00","EUR","38.800,00","80","6/30/2026","2/3/2026","Partner","Existing Customer - Upgrade"
"Jane Doe","Soylent Corp","Soylent pilot","0065g00000AbCdGAAV","Id. Decision Makers","Q2-2026","USD","9,999.99","USD","5,999.99","60","5/1/2026","2/20/2026, 4:05 PM","Web","New Customer"

"Grand Totals (3 records)","","","","","","","1,308,499.99","","1,294,799.99","","","","",""

"Confidential Information - Do Not Distribute"

"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."
"""  # noqa: E501


def write(tmp_path: Path, text: str, name: str = "deals.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def canonical(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "deals.csv") -> Path:
    return write(tmp_path, "\n".join([header, *lines]) + "\n", name)


def service(world, path: Path, **options):
    with scope(world.system.access_scope()), path.open("rb") as stream:
        return deals_import(actor=world.system, stream=stream, **options)


def deals() -> dict[str, Deal]:
    with unscoped():
        return {d.external_id: d for d in Deal.objects.select_related("stage", "partner")}


def history(deal: Deal) -> list[tuple[str | None, str, datetime.datetime]]:
    with unscoped():
        changes = DealStageChange.objects.filter(deal=deal).select_related("from_stage", "to_stage")
        return [(c.from_stage.key if c.from_stage else None, c.to_stage.key, c.changed_at) for c in changes]


def counts() -> tuple[int, int, int, int]:
    with unscoped():
        return (
            Deal.objects.count(),
            DealStageChange.objects.count(),
            CustomerKey.objects.count(),
            DealLineItem.objects.count(),
        )


@pytest.fixture
def catalog(workspace):
    with unscoped():
        return {
            name: Product.objects.create(workspace=workspace, name=name, list_price=Decimal(price))
            for name, price in (("Core Platform", "24000"), ("Premium Support", "4800"))
        }


# --- parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1234.5", "1234.50", ""),
        ("1234", "1234.00", ""),
        ("$1,234.50", "1234.50", "USD"),
        ("€1.234,50", "1234.50", "EUR"),
        ("1 234,50 €", "1234.50", "EUR"),
        ("1\u00a0234,50\u00a0€", "1234.50", "EUR"),
        ("USD 1,200", "1200.00", "USD"),
        ("1,200 usd", "1200.00", "USD"),
        ("EUR 48.500,00", "48500.00", "EUR"),
        ("£12,345,678.9", "12345678.90", "GBP"),
        ("CHF 1'234.50", "1234.50", "CHF"),
        ("1,5", "1.50", ""),
        ("0.125", "0.13", ""),
        ("1234.567", "1234.57", ""),
        ("1,234", "1234.00", ""),
        ("-$5", "-5.00", "USD"),
        ("($1,000.00)", "-1000.00", "USD"),
        ("US$ 99", "99.00", "USD"),
    ],
)
def test_amounts_are_read_as_people_write_them(text, value, currency):
    amount = parse_amount(text)
    assert (amount.value, amount.currency) == (Decimal(value), currency)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.234", "Ambiguous amount '1.234'"),
        ("12,34,567", "thousands separators must group three digits"),
        ("1.234.5", "thousands separators must group three digits"),
        ("1,234,56.7", "thousands separators must group three digits"),
        ("ten", "Not an amount: 'ten'"),
        ("1e5", "Not an amount: '1e5'"),
        ("$ 1 $", "two currencies"),
        ("1.2.3,4,5", "misplaced separators"),
        ("", "the cell is empty"),
        ("9999999999999", "Too large"),
    ],
)
def test_unreadable_amounts_are_refused_with_a_reason(text, reason):
    with pytest.raises(AmountError, match=reason.replace("(", r"\(").replace(".", r"\.")):
        parse_amount(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime.datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T14:30:00Z", datetime.datetime(2026, 3, 1, 14, 30, tzinfo=UTC)),
        ("2026-03-01 14:30", datetime.datetime(2026, 3, 1, 14, 30, tzinfo=UTC)),
        ("2026-03-01T14:30:00+02:00", datetime.datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("3/1/2026", datetime.datetime(2026, 3, 1, tzinfo=UTC)),
        ("12/31/2025", datetime.datetime(2025, 12, 31, tzinfo=UTC)),
        ("3/1/2026 4:05 PM", datetime.datetime(2026, 3, 1, 16, 5, tzinfo=UTC)),
        ("3/1/2026, 12:05 AM", datetime.datetime(2026, 3, 1, 0, 5, tzinfo=UTC)),
        ("3/1/2026 16:05", datetime.datetime(2026, 3, 1, 16, 5, tzinfo=UTC)),
    ],
)
def test_dates_iso_and_us(text, expected):
    assert parse_datetime(text, UTC) == expected


@pytest.mark.parametrize(
    "text", ["31/12/2025", "2026-02-30", "2026/03/01", "March 1, 2026", "3/1/26", "13:00"]
)
def test_bad_dates_are_refused(text):
    with pytest.raises(DateError, match="YYYY-MM-DD"):
        parse_datetime(text, UTC)


def test_dates_without_offset_are_in_the_configured_time_zone(settings):
    zone = datetime.timezone(datetime.timedelta(hours=-5))
    assert parse_datetime("1/15/2026", zone) == datetime.datetime(2026, 1, 15, 5, tzinfo=UTC)


# --- canonical -----------------------------------------------------------------------------------------


def test_imports_a_canonical_file_with_history_keys_and_line_items(world, tmp_path, catalog):
    before = timezone.now()
    out, _ = run("import", "deals", str(canonical(tmp_path, *CANONICAL)))

    assert out.strip() == "created 4, updated 0, unchanged 0, rejected 0"
    found = deals()
    d1, d2, d3, d4 = (found[f"D-{i}"] for i in range(1, 5))
    assert d1.partner == world.partner_a and d3.partner == world.partner_b
    assert (d1.amount, d1.currency, d1.stage.key) == (Decimal("1234.50"), "USD", "registered")
    assert d1.registered_at == datetime.datetime(2026, 1, 10, tzinfo=UTC)
    assert d1.expected_close_date == datetime.date(2026, 3, 31) and d1.closed_at is None
    # An open deal is approved at the import: its protection runs from then (no approved_at column).
    assert d1.approval_status == ApprovalStatus.APPROVED and before <= d1.approved_at <= timezone.now()
    assert d1.decided_at == d1.approved_at
    assert d1.protection_expires_at == d1.approved_at + datetime.timedelta(days=90)
    assert d1.customer_domain == "initech.example" and d1.customer_key == "initech"
    assert history(d1) == [(None, "registered", d1.registered_at)]

    assert (d2.amount, d2.currency, d2.source) == (Decimal("1234567.89"), "EUR", "influenced")
    assert (d2.customer_domain, d2.customer_domain_root) == ("umbrella.example", "umbrella")
    assert d2.stage.key == "closed_won" and d2.closed_at == datetime.datetime(2026, 2, 20, tzinfo=UTC)
    assert d2.stage_changed_at == d2.closed_at
    assert d2.approved_at == d2.decided_at == d2.registered_at  # a closed deal: approved when registered
    assert history(d2) == [
        (None, "registered", datetime.datetime(2026, 1, 5, 9, 30, tzinfo=UTC)),
        ("registered", "closed_won", d2.closed_at),
    ]
    with unscoped():
        lines = list(DealLineItem.objects.filter(deal=d2).order_by("id"))
        keys = set(CustomerKey.objects.filter(customer_key=d2.customer_key).values_list("key", flat=True))
    assert [(li.product_id, li.product_name, li.unit_price) for li in lines] == [
        (catalog["Core Platform"].pk, "Core Platform", Decimal("24000.00")),
        (catalog["Premium Support"].pk, "Premium Support", Decimal("4800.00")),
    ]
    assert {"d:umbrella", "n:umbrella"} <= keys

    assert d3.registered_at == datetime.datetime(2026, 1, 15, tzinfo=UTC)
    assert d3.closed_at == datetime.datetime(2026, 2, 1, tzinfo=UTC) and d3.stage.key == "closed_lost"
    assert d3.currency == "USD" and d3.amount == 0  # the workspace currency
    assert (d4.amount, d4.currency) == (Decimal("1234.50"), "EUR")
    assert history(d4) == [
        (None, "registered", d4.registered_at),
        ("registered", "negotiating", d4.registered_at),
    ]
    assert counts() == (4, 7, counts()[2], 3)


def test_imported_deals_are_found_by_conflict_detection(world, tmp_path, catalog):
    """Their blocking keys are indexed: a later registration by another partner is flagged."""
    from openprm.deals.services import deal_register

    run("import", "deals", str(canonical(tmp_path, CANONICAL[0])))
    actor = actor_for(world.b_admin)
    with scope(actor.access_scope()):
        deal, _ = deal_register(
            actor=actor,
            data={"customer_name": "Initech", "customer_domain": "initech.example", "amount": "5"},
        )
        assert [c.other.external_id for c in deal.conflicts.all()] == ["D-1"]


def test_bad_rows_are_reported_with_line_column_and_reason_and_nothing_is_written(world, tmp_path, catalog):
    path = canonical(
        tmp_path,
        CANONICAL[0],
        "D-5,Z-9,Nobody Inc,,10,,registered,,2026-01-01,,,",  # line 3: unknown partner
        "D-6,A-1,Stagey Ltd,,10,,sleeping,,2026-01-01,,,",  # line 4: unknown stage
        "D-7,A-1,Minus Corp,,-250,,registered,,2026-01-01,,,",  # line 5: negative amount
        "D-8,A-1,Datey Corp,,10,,registered,,31/12/2025,,,",  # line 6: bad date
        "D-9,A-1,Won Corp,,10,,closed_won,,2026-01-01,,,Gizmo",  # line 7: no close date, unknown product
        "D-1,A-1,Again,,10,,registered,,2026-01-01,,,",  # line 8: duplicate id
        "D-10,A-1,Domain Co,not a domain!,10,EURO,registered,weird,2026-01-01,,,",  # line 9
    )
    before = counts()

    with pytest.raises(CommandError, match=r"Import refused: 7 bad row\(s\) of 8"):
        run("import", "deals", str(path))
    assert counts() == before

    result = service(world, path)
    assert result.refused and result.rejected == 7 and result.created == 0
    errors = [(e.line, e.column, e.message) for e in result.errors]
    assert (
        3,
        "partner_external_id",
        "Unknown partner 'Z-9': no partner has this external id or name.",
    ) in errors
    assert (
        4,
        "stage",
        "Unknown stage 'sleeping'. Known: registered, qualified, proposal_sent, negotiating, "
        "closed_won, closed_lost; or map it with a stage map (from,to).",
    ) in errors
    assert (5, "amount", "Must not be negative: '-250'.") in errors
    assert (
        6,
        "registered_at",
        "Not a valid date: '31/12/2025'. Use YYYY-MM-DD (ISO, optionally with a time) or M/D/YYYY (US).",
    ) in errors
    assert (7, "closed_at", "Required for a won or lost deal (stage 'closed_won').") in errors
    assert (7, "products", "Unknown product 'Gizmo': add it to the product catalog first.") in errors
    assert (8, "external_id", "Duplicate external id 'D-1': already used on line 2.") in errors
    line_9 = sorted(column for line, column, _ in errors if line == 9)
    assert line_9 == ["currency", "customer_domain", "source"]
    assert str(result.errors[0]).startswith("line 3, column partner_external_id: Unknown partner")


def test_skip_invalid_imports_the_good_rows_and_writes_rejects(world, tmp_path, catalog):
    path = canonical(
        tmp_path, CANONICAL[0], "D-7,A-1,Minus Corp,,-250,,registered,,2026-01-01,,,", CANONICAL[2]
    )
    rejects = tmp_path / "rejects.csv"

    out, err = run("import", "deals", str(path), "--skip-invalid", "--rejects", str(rejects))

    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 1"
    assert "line 3, column amount: Must not be negative: '-250'." in err
    assert set(deals()) == {"D-1", "D-3"}
    rows = list(csv.reader(rejects.open()))
    assert rows[0] == [*DEAL_COLUMNS, "line", "error"]
    assert rows[1][0] == "D-7" and rows[1][-2:] == ["3", "amount: Must not be negative: '-250'."]


def test_a_file_that_cannot_be_read_is_refused(world, tmp_path):
    with pytest.raises(CommandError, match=r"Missing required column\(s\): customer_name"):
        run("import", "deals", str(canonical(tmp_path, "D-1,A-1", header="external_id,partner_external_id")))
    with pytest.raises(CommandError, match="no partner column"):
        run("import", "deals", str(canonical(tmp_path, "D-1,Initech", header="external_id,customer_name")))
    with pytest.raises(CommandError, match="No partner with the external id or name 'nope'"):
        run("import", "deals", str(canonical(tmp_path, *CANONICAL)), "--partner", "nope")
    with pytest.raises(CommandError, match="Partners are imported from the canonical format only"):
        run("import", "partners", str(canonical(tmp_path, *CANONICAL)), "--format", "hubspot")


def test_reimport_is_idempotent_and_records_stage_changes(world, tmp_path, catalog):
    path = canonical(tmp_path, *CANONICAL)
    run("import", "deals", str(path))
    first = counts()

    out, _ = run("import", "deals", str(path))
    assert out.strip() == "created 0, updated 0, unchanged 4, rejected 0"
    assert counts() == first

    with unscoped():
        audits = AuditEntry.objects.filter(object_type="deals.deal").count()
    changed = canonical(
        tmp_path,
        CANONICAL[0]
        .replace('"$1,234.50"', "2000")
        .replace(",registered,", ",closed_won,")
        .replace("2026-03-31,,", "2026-03-31,2026-03-15T12:00:00Z,"),
        *CANONICAL[1:],
        name="changed.csv",
    )
    out, _ = run("import", "deals", str(changed))
    assert out.strip() == "created 0, updated 1, unchanged 3, rejected 0"
    d1 = deals()["D-1"]
    assert (d1.amount, d1.stage.key) == (Decimal("2000.00"), "closed_won")
    assert d1.closed_at == datetime.datetime(2026, 3, 15, 12, tzinfo=UTC) == d1.stage_changed_at
    assert history(d1) == [(None, "registered", d1.registered_at), ("registered", "closed_won", d1.closed_at)]
    assert counts()[0] == 4 and counts()[1] == first[1] + 1
    with unscoped():
        entry = AuditEntry.objects.filter(object_type="deals.deal").latest("id")
    assert entry.object_id == d1.public_id and entry.actor_label == "cli"
    assert entry.changes["amount"] == {"before": "1234.50", "after": "2000.00"}
    # As deal_update and deal_move_stage record them: field names, the stage by name.
    assert {"stage", "closed_at", "stage_changed_at"} <= set(entry.changes)
    assert entry.changes["stage"] == {"before": "Registered", "after": "Closed won"}

    reopened = canonical(tmp_path, CANONICAL[0].replace('"$1,234.50"', "2000"), name="reopened.csv")
    out, _ = run("import", "deals", str(reopened))
    assert out.strip() == "created 0, updated 1, unchanged 0, rejected 0"
    d1 = deals()["D-1"]
    assert d1.stage.key == "registered" and d1.closed_at is None
    assert [h[:2] for h in history(d1)] == [
        (None, "registered"),
        ("registered", "closed_won"),
        ("closed_won", "registered"),
    ]
    out, _ = run("import", "deals", str(reopened))
    assert out.strip() == "created 0, updated 0, unchanged 1, rejected 0"
    with unscoped():
        assert AuditEntry.objects.filter(object_type="deals.deal").count() == audits + 2


def test_reimport_updates_customer_keys_and_products_but_never_moves_a_deal(world, tmp_path, catalog):
    run("import", "deals", str(canonical(tmp_path, *CANONICAL)))
    moved = canonical(
        tmp_path,
        CANONICAL[0]
        .replace("Initech GmbH,initech.example", "Initrode AG,initrode.example")
        .replace("Core Platform", "Premium Support"),
        CANONICAL[2].replace("D-3,B-1", "D-3,A-1"),
        name="moved.csv",
    )

    result = service(world, moved)
    assert [(e.line, e.column) for e in result.errors] == [(3, "external_id")]
    assert "belongs to Globex Referrals" in result.errors[0].message

    result = service(world, moved, skip_invalid=True)
    assert (result.updated, result.rejected) == (1, 1)
    d1 = deals()["D-1"]
    with unscoped():
        keys = set(CustomerKey.objects.filter(customer_key=d1.customer_key).values_list("key", flat=True))
        products = list(DealLineItem.objects.filter(deal=d1).values_list("product_name", flat=True))
    assert (d1.customer_name, d1.customer_domain, d1.customer_key) == (
        "Initrode AG",
        "initrode.example",
        "initrode",
    )
    assert "d:initrode" in keys and not any("initech" in k for k in keys)
    assert products == ["Premium Support"]
    assert deals()["D-3"].partner == world.partner_b


def test_absent_columns_leave_existing_values(world, tmp_path, catalog):
    run("import", "deals", str(canonical(tmp_path, *CANONICAL)))
    out, _ = run(
        "import",
        "deals",
        str(
            canonical(
                tmp_path,
                "D-2,A-1,Umbrella Corp,closed_won",
                header="external_id,partner_external_id,customer_name,stage",
                name="few.csv",
            )
        ),
    )
    assert out.strip() == "created 0, updated 0, unchanged 1, rejected 0"
    d2 = deals()["D-2"]
    assert (d2.amount, d2.currency, d2.source, d2.customer_domain) == (
        Decimal("1234567.89"),
        "EUR",
        "influenced",
        "umbrella.example",
    )


def test_partner_option_names_and_extra_columns_and_approval_status(world, tmp_path):
    path = canonical(
        tmp_path,
        "X-1,Initech,100,Jane,submitted",
        "X-2,Hooli,200,,",
        header="external_id,customer_name,amount,crm_owner,approval_status",
    )
    out, _ = run("import", "deals", str(path), "--partner", "globex referrals")

    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 0"
    x1, x2 = deals()["X-1"], deals()["X-2"]
    assert x1.partner == x2.partner == world.partner_b
    assert x1.properties == {"crm_owner": "Jane"} and x2.properties == {}
    assert x1.approval_status == ApprovalStatus.SUBMITTED and x1.approved_at is None
    assert x1.approval_due_at is not None
    assert x2.approval_status == ApprovalStatus.APPROVED


def test_dry_run_writes_nothing(world, tmp_path, catalog):
    out, _ = run("import", "deals", str(canonical(tmp_path, *CANONICAL)), "--dry-run")
    assert out.strip() == "would be created 4, would be updated 0, unchanged 0, rejected 0"
    assert counts() == (0, 0, 0, 0)


def test_large_file_streams_in_batches(world, tmp_path, monkeypatch):
    monkeypatch.setattr(DealImport, "batch_size", 1000)  # batches of this file, whatever the default
    lines = [
        f"L-{i},{'A-1' if i % 2 else 'B-1'},Customer {i % 37},c{i % 37}.example,{i}.5,,"
        f"{['registered', 'qualified', 'closed_won', 'closed_lost'][i % 4]},,2025-06-01,,"
        f"{'2025-09-01' if i % 4 >= 2 else ''},"
        for i in range(2500)
    ]
    progress: list[tuple[str, int]] = []
    path = canonical(tmp_path, *lines)
    with scope(world.system.access_scope()), path.open("rb") as stream:
        result = deals_import(
            actor=world.system, stream=stream, on_progress=lambda s, n: progress.append((s, n))
        )

    assert (result.created, result.rejected) == (2500, 0)
    assert result.stage_changes == 2500 + 1875
    assert counts()[:2] == (2500, 4375)
    assert progress[-1] == ("import", path.stat().st_size) and len(progress) > 2
    with unscoped():
        assert len(set(Deal.objects.values_list("public_id", flat=True))) == 2500
    again = service(world, path)
    assert (again.created, again.unchanged) == (0, 2500)


def test_only_importing_roles_may_import(world, tmp_path):
    path = canonical(tmp_path, *CANONICAL)
    for user in (world.analyst, world.finance, world.a_admin):
        actor = actor_for(user)
        with scope(actor.access_scope()), path.open("rb") as stream, pytest.raises(PermissionDenied):
            deals_import(actor=actor, stream=stream)


def test_owned_only_manager_imports_only_for_their_partners(world, tmp_path):
    run("import", "deals", str(canonical(tmp_path, CANONICAL[2])))  # D-3 of Globex
    rita = make_user(world.workspace, "rita@vendor.test", Role.MANAGER, owned_only=True)
    make_partner(world.system, "Rita's Partner", external_id="R-1", owner_email="rita@vendor.test")
    actor = actor_for(rita)
    path = canonical(
        tmp_path,
        "R-D1,R-1,Initech,,1,,registered,,,,,",
        "R-D2,A-1,Initech,,1,,registered,,,,,",
        "D-3,R-1,Hooli,,0,,closed_lost,,1/15/2026,,2/1/2026,",
        name="rita.csv",
    )
    with scope(actor.access_scope()), path.open("rb") as stream:
        result = deals_import(actor=actor, stream=stream)
    assert [(e.line, e.column) for e in result.errors] == [(3, "partner_external_id"), (4, "external_id")]
    assert result.errors[1].message == "A deal you may not change already has this external id."


# --- HubSpot -------------------------------------------------------------------------------------------


def test_hubspot_export_with_unknown_columns_kept_as_properties(world, tmp_path):
    out, _ = run("import", "deals", str(write(tmp_path, HUBSPOT, bom=True)), "--format", "hubspot")

    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 0"
    found = deals()
    platform, expansion, piper = found["9876543210"], found["9876543211"], found["9876543212"]
    assert (platform.title, platform.customer_name, platform.stage.key) == (
        "Initech - Platform",
        "Initech",
        "registered",
    )
    assert platform.registered_at == datetime.datetime(2026, 1, 12, 14, 3, tzinfo=UTC)
    assert platform.expected_close_date == datetime.date(2026, 4, 30) and platform.closed_at is None
    assert platform.amount == Decimal("12000.00") and platform.currency == "USD"
    assert platform.properties == {
        "Pipeline": "Sales Pipeline",
        "Deal owner": "Jane Doe",
        "Deal Type": "newbusiness",
        "Priority": "high",
        "Last Activity Date": "2026-02-01 10:00",
    }
    assert expansion.stage.key == "closed_won" and expansion.amount == Decimal("3500.00")
    assert expansion.closed_at == datetime.datetime(2026, 2, 28, tzinfo=UTC)
    assert piper.customer_name == "Pied Piper"  # no associated company: the deal name
    assert piper.stage.key == "negotiating" and piper.amount == 0 and piper.partner == world.partner_b


def test_hubspot_export_without_partner_column_and_a_stage_map(world, tmp_path):
    text = (
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Associated Company\n"
        "1,Alpha,Partner Review,100,2026-04-30,2026-01-12,Alpha Inc\n"
        "2,Beta,contractsent,200,2026-04-30,2026-01-12,Beta Inc\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(CommandError, match="no partner column"):
        run("import", "deals", str(path), "--format", "hubspot")

    result = service(world, path, format="hubspot", default_partner=world.partner_a)
    assert [(e.line, e.column) for e in result.errors] == [(2, "Deal Stage")]
    assert "Unknown stage 'Partner Review'" in result.errors[0].message

    stage_map = write(tmp_path, "from,to\nPartner Review,qualified\ncontractsent,Proposal sent\n", "map.csv")
    out, _ = run(
        "import", "deals", str(path), "--format", "hubspot", "--partner", "A-1", "--stage-map", str(stage_map)
    )
    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 0"
    assert (deals()["1"].stage.key, deals()["2"].stage.key) == ("qualified", "proposal_sent")

    wrong = write(tmp_path, "from,to\nPartner Review,limbo\n", "wrong.csv")
    result = service(
        world, path, format="hubspot", default_partner=world.partner_a, stage_map={"partnerreview": "limbo"}
    )
    assert "'Partner Review' maps to 'limbo' in the stage map, which is not a stage of Partner Program" in (
        result.errors[0].message
    )
    with pytest.raises(CommandError, match="needs a header row 'from,to'"):
        run("import", "deals", str(path), "--format", "hubspot", "--partner", "A-1", "--stage-map", str(path))
    assert wrong.exists()


# --- Salesforce ----------------------------------------------------------------------------------------


def test_salesforce_report_with_footer_and_currency_columns(world, tmp_path):
    out, _ = run(
        "import", "deals", str(write(tmp_path, SALESFORCE)), "--format", "salesforce", "--partner", "A-1"
    )

    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 0"
    found = deals()
    won = found["0065g00000AbCdEAAV"]
    assert (won.customer_name, won.title, won.stage.key) == (
        "Initrode Inc.",
        "Initrode - 50 seats",
        "closed_won",
    )
    assert (won.amount, won.currency) == (Decimal("1250000.00"), "USD")
    assert won.registered_at == datetime.datetime(2026, 1, 29, tzinfo=UTC)
    assert won.closed_at == datetime.datetime(2026, 3, 15, tzinfo=UTC)
    assert won.properties["Expected Revenue Currency"] == "USD"
    assert won.properties["Opportunity Owner"] == "Jane Doe" and won.properties["Probability (%)"] == "100"
    renewal = found["0065g00000AbCdFAAV"]
    assert (renewal.amount, renewal.currency, renewal.stage.key) == (
        Decimal("48500.00"),
        "EUR",
        "negotiating",
    )
    assert renewal.expected_close_date == datetime.date(2026, 6, 30) and renewal.closed_at is None
    pilot = found["0065g00000AbCdGAAV"]
    assert pilot.stage.key == "proposal_sent"
    assert pilot.registered_at == datetime.datetime(2026, 2, 20, 16, 5, tzinfo=UTC)


def test_salesforce_report_keyed_by_name_with_any_currency_column_and_a_partner_column(world, tmp_path):
    text = (
        '"Partner Account","Opportunity Name","Account Name","Stage","Amount","Total Price Currency",'
        '"Close Date","Created Date"\n'
        '"Acme Resellers","Big One","Initech","Closed Lost","USD 5,000.00","USD","12/1/2025","9/1/2025"\n'
        '"B-1","Small One","Hooli","Prospecting","€700","EUR","1/31/2026","1/2/2026"\n'
        '"B-1","Odd One","Hooli","Qualification","€700","USD","1/31/2026","1/2/2026"\n'
        "\n"
        '"Grand Totals (3 records)"\n'
        '"Confidential Information - Do Not Distribute"\n'
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n'
    )
    path = write(tmp_path, text)
    result = service(world, path, format="salesforce", partner_column="Partner Account", skip_invalid=True)

    assert (result.created, result.rejected, result.rows) == (2, 1, 3)
    assert [str(e) for e in result.errors] == [
        "line 4, column Amount: The amount is in EUR but the currency column says USD."
    ]
    big, small = deals()["Big One"], deals()["Small One"]
    assert big.partner == world.partner_a and small.partner == world.partner_b  # by name and by id
    assert (big.stage.key, big.currency, big.closed_at) == (
        "closed_lost",
        "USD",
        datetime.datetime(2025, 12, 1, tzinfo=UTC),
    )
    assert (small.stage.key, small.currency, small.amount) == ("registered", "EUR", Decimal("700.00"))


# --- pages ---------------------------------------------------------------------------------------------

UPLOAD = reverse("integrations:deals_import")


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def upload(client, text: str, **fields):
    file = SimpleUploadedFile("crm.csv", text.encode(), content_type="text/csv")
    return client.post(UPLOAD, {"file": file, "format": "canonical", **fields})


def test_upload_preview_confirm_for_deals(world, client_for, var_dir, catalog):
    client = client_for(world.manager)
    page = client.get(UPLOAD)
    assert page.status_code == 200 and "Salesforce opportunity report" in page.content.decode()
    assert "Import deals instead" in client.get(reverse("integrations:partners_import")).content.decode()

    bad = "\n".join([HEADER, *CANONICAL, "D-7,A-1,Minus Corp,,-250,,registered,,2026-01-01,,,"])
    response = upload(client, bad)
    assert response.status_code == 302
    preview_url = response["Location"]
    assert preview_url.endswith("?format=canonical")

    page = client.get(preview_url)
    html = page.content.decode()
    assert "4 to create" in html and "1 bad row" in html and "Must not be negative: &#x27;-250&#x27;" in html
    assert [r.external_id for r in page.context["result"].deal_preview] == ["D-1", "D-2", "D-3", "D-4", "D-7"]
    assert counts()[0] == 0  # the preview writes nothing

    token = preview_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    early = client.get(reverse("integrations:deals_import_result", args=[token]))
    assert early.status_code == 302 and early["Location"] == UPLOAD  # not imported yet
    assert client.get(preview_url).status_code == 200  # and the upload is still there

    refused = client.post(preview_url, {}, follow=True)
    assert "Nothing was imported" in refused.content.decode() and counts()[0] == 0

    done = client.post(preview_url, {"skip_invalid": "on"})
    assert done.status_code == 302 and done["Location"].endswith("/result/")
    result_page = client.get(done["Location"])
    assert result_page.context["created"] == 4 and result_page.context["rejected"] == 1
    assert set(deals()) == {"D-1", "D-2", "D-3", "D-4"}
    assert client.get(preview_url).status_code == 302  # finished: the preview sends to the result


def test_upload_a_hubspot_export_for_one_partner(world, client_for, var_dir):
    client = client_for(world.admin)
    text = HUBSPOT.replace(",partner_external_id", "").replace(",A-1\n", "\n").replace(",B-1\n", "\n")

    response = upload(client, text, format="hubspot", partner="nobody")
    assert (
        response.status_code == 200
        and "No partner has this external id or name." in response.content.decode()
    )

    preview_url = upload(client, text, format="hubspot", partner="Globex Referrals")["Location"]
    assert "format=hubspot" in preview_url and "partner=Globex" in preview_url
    page = client.get(preview_url)
    assert page.context["result"].created == 3
    assert client.post(preview_url, {}).status_code == 302
    assert {d.partner_id for d in deals().values()} == {world.partner_b.pk}


def test_deal_file_errors_at_preview(world, client_for, var_dir):
    client = client_for(world.manager)
    response = client.get(upload(client, "external_id,partner_external_id\nD-1,A-1\n")["Location"])
    assert response.status_code == 400
    assert "Missing required column(s): customer_name" in response.content.decode()
    assert list((var_dir / "imports").iterdir()) == []


@pytest.mark.parametrize("role", ["a_admin", "a_rep", "b_admin"])
def test_partner_users_get_404_on_the_deal_import_pages(world, client_for, var_dir, role):
    preview_url = upload(client_for(world.manager), "\n".join([HEADER, CANONICAL[0]]))["Location"]
    client = client_for(getattr(world, role))

    assert client.get(UPLOAD).status_code == 404
    assert upload(client, "\n".join([HEADER, CANONICAL[0]])).status_code == 404
    assert client.get(preview_url).status_code == 404
    assert client.post(preview_url, {"skip_invalid": "on"}).status_code == 404
    token = preview_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    assert client.get(reverse("integrations:deals_import_result", args=[token])).status_code == 404
    assert counts()[0] == 0


def test_pending_deal_imports_belong_to_the_uploader_and_kind(world, client_for, var_dir):
    preview_url = upload(client_for(world.manager), "\n".join([HEADER, CANONICAL[0]]))["Location"]
    assert client_for(world.admin).get(preview_url).status_code == 404
    token = preview_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    as_partners = reverse("integrations:partners_import_preview", args=[token])
    assert client_for(world.manager).get(as_partners).status_code == 404
    assert client_for(world.analyst).get(UPLOAD).status_code == 403


def test_csv_header_error_for_service_callers(world, tmp_path):
    with pytest.raises(CsvHeaderError, match="Unknown format"):
        service(world, canonical(tmp_path, *CANONICAL), format="pipedrive")


def test_historical_open_registrations_are_protected_from_the_import_not_expired(world, tmp_path):
    """Item: an imported open deal's protection runs from the import unless the file has approved_at."""
    from openprm.deals.services import deals_expire

    old = (timezone.now() - datetime.timedelta(days=730)).date().isoformat()
    path = canonical(
        tmp_path,
        f"H-1,A-1,Initech,registered,{old},",
        f"H-2,A-1,Hooli,registered,{old},{old}",
        f"H-3,A-1,Pied Piper,registered,{old},",
        header="external_id,partner_external_id,customer_name,stage,registered_at,approved_at",
    )
    result = service(world, path)
    assert [str(e) for e in result.errors] == [] and result.created == 3

    assert deals_expire(workspace_id=world.workspace.pk) == 1  # H-2 only: approved two years ago per file
    found = deals()
    assert found["H-1"].approval_status == found["H-3"].approval_status == ApprovalStatus.APPROVED
    assert found["H-1"].protection_expires_at > timezone.now() + datetime.timedelta(days=89)
    assert found["H-2"].approval_status == ApprovalStatus.EXPIRED
    assert found["H-2"].approved_at == datetime.datetime.fromisoformat(old).replace(tzinfo=UTC)

    out, _ = run("import", "deals", str(path))  # a re-import keeps the approval time: nothing changes
    assert "updated 0" in out and deals()["H-1"].approved_at == found["H-1"].approved_at


def test_approved_at_must_follow_the_registration_and_belong_to_an_approved_deal(world, tmp_path):
    path = canonical(
        tmp_path,
        "Q-1,A-1,Initech,2026-01-10,2026-01-09,",
        "Q-2,A-1,Hooli,2026-01-10,2026-01-11,submitted",
        header="external_id,partner_external_id,customer_name,registered_at,approved_at,approval_status",
    )
    with pytest.raises(CommandError, match="2 bad row"):
        run("import", "deals", str(path))
    _, err = run("import", "deals", str(path), "--dry-run")
    assert "line 2, column approved_at: Before the registration (registered_at)" in err
    assert "line 3, column approved_at: Set, but the approval status is 'submitted'" in err
