"""Partner CSV import through the `prm import` command and the service, on the real database."""

from __future__ import annotations

import csv
import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.integrations.formats.partners import CsvHeaderError
from openprm.integrations.services.partners import partners_import
from openprm.integrations.tests.helpers import HEADER, csv_file, run
from openprm.partners.models import CustomFieldDefinition, Partner, Program, Tier
from openprm.testing import actor_for, make_partner, make_user

pytestmark = pytest.mark.django_db

GOOD = [
    "P-1,Alpha GmbH,reseller,Gold,active,DE,EMEA,manager@vendor.test,alpha.example;alpha.de,2024-03-01,"
    "vip;emea",
    "P-2,Beta Inc,referral,,onboarding,US,NA,,beta.example,,",
    "P-3,Gamma Ltd,affiliate,Bronze,,GB,,,,,influencer|uk",
]


def partners() -> dict[str, Partner]:
    with unscoped():
        return {
            p.external_id: p
            for p in Partner.objects.select_related("type", "owner").prefetch_related(
                "tags", "enrolments__tier"
            )
        }


def counts() -> tuple[int, int]:
    with unscoped():
        return Partner.objects.count(), AuditEntry.objects.count()


def test_imports_a_canonical_file(world, tmp_path):
    out, _ = run("import", "partners", str(csv_file(tmp_path, *GOOD)))

    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 0"
    alpha = partners()["P-1"]
    assert alpha.name == "Alpha GmbH"
    assert alpha.type.key == "reseller"
    assert alpha.status == "active"
    assert alpha.country.code == "DE"
    assert alpha.region == "EMEA"
    assert alpha.owner.email == "manager@vendor.test"
    assert alpha.domains == ["alpha.example", "alpha.de"]
    assert alpha.start_date == datetime.date(2024, 3, 1)
    assert sorted(t.name for t in alpha.tags.all()) == ["emea", "vip"]
    assert [(e.program.name, e.tier.name) for e in alpha.enrolments.all()] == [("Partner Program", "Gold")]
    beta = partners()["P-2"]
    assert beta.owner is None and beta.start_date is None
    assert [e.tier for e in beta.enrolments.all()] == [None]  # enrolled in the default program, no tier
    gamma = partners()["P-3"]
    assert gamma.status == "applicant"  # blank status → the default
    assert sorted(t.name for t in gamma.tags.all()) == ["influencer", "uk"]  # "|" also separates


def test_imported_creates_and_updates_are_audited(world, tmp_path):
    run("import", "partners", str(csv_file(tmp_path, *GOOD)))
    changed = GOOD[0].replace("Alpha GmbH", "Alpha AG")
    run("import", "partners", str(csv_file(tmp_path, changed, *GOOD[1:])))

    alpha = partners()["P-1"]
    with unscoped():
        entries = list(AuditEntry.objects.filter(object_id=alpha.public_id).order_by("at", "id"))
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[0].actor_label == "cli"
    assert entries[1].changes["name"] == {"before": "Alpha GmbH", "after": "Alpha AG"}


def test_bom_crlf_and_blank_lines_are_accepted(world, tmp_path):
    path = csv_file(
        tmp_path, "", GOOD[0], "", "", GOOD[1], ",,,,,,,,,,", GOOD[2], "", bom=True, newline="\r\n"
    )

    out, _ = run("import", "partners", str(path))

    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 0"
    assert {"P-1", "P-2", "P-3"} <= set(partners())
    assert partners()["P-3"].tags.count() == 2  # no stray "\r" in the last column


def test_every_bad_row_is_reported_with_line_column_and_reason(world, tmp_path):
    path = csv_file(
        tmp_path,
        GOOD[0],
        "P-12,Beta,reseller,,active,XX,,,,,",  # line 3: unknown country
        "P-13,Gamma,reseller,,active,DE,,,,31/12/2024,",  # line 4: not an ISO date
        "P-14,Delta,spaceship,Diamond,asleep,DE,,,,2024-02-30,",  # line 5: four problems
        GOOD[1],
    )
    before = counts()

    with pytest.raises(CommandError, match="Import refused: 3 bad row"):
        run("import", "partners", str(path))

    assert counts() == before  # nothing written: no partner, no audit entry
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))
    messages = [str(e) for e in result.errors]
    assert "line 3, column country: Unknown country 'XX'; use an ISO 3166 code such as DE." in messages
    assert "line 4, column start_date: Not an ISO date (YYYY-MM-DD): '31/12/2024'." in messages
    line_5 = [(e.column, e.message.split(".")[0]) for e in result.errors if e.line == 5]
    assert sorted(line_5) == [
        ("start_date", "Not an ISO date (YYYY-MM-DD): '2024-02-30'"),
        ("status", "Unknown status 'asleep'"),
        ("tier", "Unknown tier 'Diamond' in Partner Program"),
        ("type", "Unknown partner type 'spaceship'"),
    ]
    assert result.refused and result.rejected == 3 and result.created == 0


def test_unknown_type_status_tier_and_program(world, tmp_path):
    path = csv_file(
        tmp_path,
        "P-1,Alpha,spaceship,,active,DE,,,,,",
        "P-2,Beta,reseller,,asleep,DE,,,,,",
        "P-3,Gamma,reseller,Diamond,active,DE,,,,,",
        "P-4,Delta,reseller,Gold,active,DE,,nobody@vendor.test,,,",
    )
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))

    by_line = {e.line: e for e in result.errors}
    assert by_line[2].column == "type" and "Unknown partner type 'spaceship'" in by_line[2].message
    assert by_line[3].column == "status" and "Unknown status 'asleep'" in by_line[3].message
    assert by_line[4].column == "tier" and "Unknown tier 'Diamond' in Partner Program" in by_line[4].message
    assert by_line[5].column == "manager_email" and "No staff user" in by_line[5].message
    assert result.refused and counts()[0] == 2

    program_file = csv_file(
        tmp_path, "P-1,Alpha,reseller,Gold,active,DE,,,,,,Nope", header=HEADER + ",program", name="p.csv"
    )
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=program_file.open("rb"))
    assert [(e.line, e.column) for e in result.errors] == [(2, "program")]


def test_duplicate_external_id_names_the_first_line(world, tmp_path):
    path = csv_file(tmp_path, GOOD[0], GOOD[1], GOOD[0].replace("Alpha GmbH", "Alpha again"))

    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))

    assert [str(e) for e in result.errors] == [
        "line 4, column external_id: Duplicate external_id 'P-1': already used on line 2."
    ]
    assert result.refused and counts()[0] == 2


def test_rows_need_an_external_id(world, tmp_path):
    path = csv_file(tmp_path, ",No Id Ltd,reseller,,active,DE,,,,,")

    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))

    assert [(e.line, e.column) for e in result.errors] == [(2, "external_id")]


def test_missing_required_columns_refuse_the_file(world, tmp_path):
    path = csv_file(tmp_path, "P-1,Alpha,DE", header="external_id,name,country")

    with pytest.raises(CommandError, match=r"Missing required column\(s\): type"):
        run("import", "partners", str(path))
    with scope(world.system.access_scope()), pytest.raises(CsvHeaderError):
        partners_import(actor=world.system, stream=path.open("rb"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    with pytest.raises(CommandError, match="The file is empty"):
        run("import", "partners", str(empty))


def test_minimal_columns_and_ignored_extra_columns(world, tmp_path):
    path = csv_file(tmp_path, "Z-1,Zeta,agency,whatever", header="External_ID , name,type,notes_from_crm")

    out, _ = run("import", "partners", str(path))

    assert out.strip() == "created 1, updated 0, unchanged 0, rejected 0"
    assert partners()["Z-1"].type.key == "agency"


def test_unreadable_rows_are_reported(world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        (HEADER + "\n" + GOOD[0] + "\n").encode()
        + b"P-9,Caf\xe9 Latin-1,reseller,,active,FR,,,,,\n"
        + b"P-10,Too,many,fields,,,,,,,,,,\n"
    )
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))

    assert [str(e) for e in result.errors] == [
        "line 3: Not valid UTF-8 text; save the file as UTF-8.",
        "line 4: Has 14 fields; the header has 11.",
    ]


def test_quoted_fields_spanning_lines_keep_line_numbers(world, tmp_path):
    path = csv_file(
        tmp_path, '"P-1","Alpha\nwith a newline",reseller,,active,DE,,,,,', "P-2,Beta,reseller,,x,DE,,,,,"
    )

    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))

    assert [(e.line, e.column) for e in result.errors] == [(4, "status")]  # the record starting on line 4


def test_skip_invalid_imports_valid_rows_and_writes_rejects(world, tmp_path):
    path = csv_file(
        tmp_path,
        GOOD[0],
        "P-2,Beta,reseller,,active,XX,,,,31/12/2024,",
        GOOD[2],
        "P-4,Delta,spaceship,,active,DE,,,,,",
        header=HEADER,
    )

    out, err = run("import", "partners", str(path), "--skip-invalid")

    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 2"
    assert "line 3, column start_date: Not an ISO date (YYYY-MM-DD): '31/12/2024'." in err
    assert "line 5, column type: Unknown partner type 'spaceship'" in err
    assert set(partners()) == {"A-1", "B-1", "P-1", "P-3"}
    rejects = tmp_path / "partners.rejects.csv"
    assert f"2 rejected row(s) written to {rejects}" in err
    with rejects.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [*HEADER.split(","), "line", "error"]
    assert rows[1][:11] == ["P-2", "Beta", "reseller", "", "active", "XX", "", "", "", "31/12/2024", ""]
    assert rows[1][11] == "3"
    assert rows[1][12] == (
        "start_date: Not an ISO date (YYYY-MM-DD): '31/12/2024'.; "
        "country: Unknown country 'XX'; use an ISO 3166 code such as DE."
    )
    assert rows[2][0] == "P-4" and rows[2][11] == "5" and rows[2][12].startswith("type: Unknown partner type")
    # The rejects file is itself importable once fixed (extra columns are ignored).
    fixed = rejects.read_text(encoding="utf-8").replace("31/12/2024", "2024-12-31")
    fixed = fixed.replace("spaceship", "agency").replace(",XX,", ",FR,")
    fixed_path = tmp_path / "fixed.csv"
    fixed_path.write_text(fixed, encoding="utf-8")
    out, _ = run("import", "partners", str(fixed_path), "--rejects", str(tmp_path / "r2.csv"))
    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 0"


def test_reimport_is_idempotent_and_updates_by_external_id(world, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    run("import", "partners", str(path))
    before = counts()

    out, _ = run("import", "partners", str(path))
    assert out.strip() == "created 0, updated 0, unchanged 3, rejected 0"
    assert counts() == before  # no duplicates, no audit noise

    changed = csv_file(
        tmp_path,
        GOOD[0].replace(",Gold,", ",Platinum,").replace("vip;emea", "vip"),
        GOOD[1].replace(",onboarding,", ",active,"),
        GOOD[2],
        name="changed.csv",
    )
    out, _ = run("import", "partners", str(changed))
    assert out.strip() == "created 0, updated 2, unchanged 1, rejected 0"
    alpha, beta = partners()["P-1"], partners()["P-2"]
    assert [e.tier.name for e in alpha.enrolments.all()] == ["Platinum"]
    assert [t.name for t in alpha.tags.all()] == ["vip"]
    assert beta.status == "active"
    assert counts()[0] == before[0]


def test_blank_optional_cells_clear_and_absent_columns_keep(world, tmp_path):
    run("import", "partners", str(csv_file(tmp_path, *GOOD)))
    cleared = csv_file(tmp_path, "P-1,Alpha GmbH,reseller,,,,,,,,", name="cleared.csv")
    out, _ = run("import", "partners", str(cleared))
    assert out.strip() == "created 0, updated 1, unchanged 0, rejected 0"
    alpha = partners()["P-1"]
    assert alpha.status == "active"  # blank status keeps the current one
    assert (alpha.country.code, alpha.region, alpha.owner, alpha.domains, alpha.start_date) == (
        "",
        "",
        None,
        [],
        None,
    )
    assert alpha.tags.count() == 0
    assert [e.tier for e in alpha.enrolments.all()] == [None]  # blank tier removes the tier

    run("import", "partners", str(csv_file(tmp_path, *GOOD, name="again.csv")))
    narrow = csv_file(tmp_path, "P-1,Alpha GmbH,reseller", header="external_id,name,type", name="narrow.csv")
    out, _ = run("import", "partners", str(narrow))
    assert out.strip() == "created 0, updated 0, unchanged 1, rejected 0"
    assert partners()["P-1"].country.code == "DE"


def test_program_column_and_custom_fields(world, tmp_path):
    with unscoped():
        program = Program.objects.create(workspace=world.workspace, name="Cloud Alliance")
        Tier.objects.create(workspace=world.workspace, program=program, name="Member", rank=1)
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="employees", label="Employees", field_type="number"
        )
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="certified", label="Certified", field_type="boolean"
        )
    header = HEADER + ",program,employees,certified,unrelated"
    path = csv_file(
        tmp_path,
        "C-1,Cloudy,technology,member,active,DE,,,,,,cloud alliance,120,yes,x",
        "C-2,Rainy,technology,,active,DE,,,,,,,many,maybe,y",
        header=header,
    )
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"), skip_invalid=True)

    assert sorted((e.line, e.column) for e in result.errors) == [(3, "certified"), (3, "employees")]
    cloudy = partners()["C-1"]
    assert cloudy.custom_fields == {"employees": "120", "certified": True}
    assert [(e.program.name, e.tier.name) for e in cloudy.enrolments.all()] == [("Cloud Alliance", "Member")]


def test_large_file_imports_in_batches(world, tmp_path):
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.split(","))
        for i in range(5000):
            writer.writerow(
                [
                    f"L-{i}",
                    f"Partner {i}",
                    "reseller",
                    ["Bronze", "Silver", ""][i % 3],
                    "active",
                    "DE",
                    "EMEA",
                    "",
                    f"p{i}.example",
                    "2024-01-15",
                    "bulk",
                ]
            )
    progress: list[tuple[str, int]] = []

    with scope(world.system.access_scope()):
        result = partners_import(
            actor=world.system, stream=path.open("rb"), on_progress=lambda s, n: progress.append((s, n))
        )

    assert (result.created, result.rejected) == (5000, 0)
    assert counts()[0] == 5002
    size = path.stat().st_size
    assert progress[-1] == ("import", size)
    assert [n for s, n in progress if s == "check"] == sorted(n for s, n in progress if s == "check")
    # One bad row at the very end: nothing of the 5,001 is written.
    with path.open("a", encoding="utf-8") as handle:
        handle.write("L-bad,Bad,reseller,,active,XX,,,,,\n")
    with path.open("r", encoding="utf-8") as handle:
        text = handle.read().replace("L-", "M-")
    path.write_text(text, encoding="utf-8")
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))
    assert result.refused and result.created == 0 and [e.line for e in result.errors] == [5002]
    assert counts()[0] == 5002


def test_dry_run_writes_nothing(world, tmp_path):
    out, _ = run("import", "partners", str(csv_file(tmp_path, *GOOD)), "--dry-run")

    assert out.strip() == "would be created 3, would be updated 0, unchanged 0, rejected 0"
    assert counts()[0] == 2


def test_cli_workspace_and_missing_file(world, tmp_path):
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        run("import", "partners", str(csv_file(tmp_path, *GOOD)), "--workspace", "nope")
    with pytest.raises(CommandError, match="No such file"):
        run("import", "partners", str(tmp_path / "missing.csv"))


def test_only_importing_roles_may_import(world, tmp_path):
    path = csv_file(tmp_path, *GOOD)
    for user in (world.analyst, world.finance, world.a_admin):
        actor = actor_for(user)
        with scope(actor.access_scope()), pytest.raises(PermissionDenied):
            partners_import(actor=actor, stream=path.open("rb"))
    manager = actor_for(world.manager)
    with scope(manager.access_scope()):
        assert partners_import(actor=manager, stream=path.open("rb")).created == 3


def test_owned_only_manager_cannot_touch_partners_outside_their_book(world, tmp_path):
    rita = make_user(world.workspace, "rita@vendor.test", Role.MANAGER, owned_only=True)
    mine = make_partner(world.system, "Rita's Partner", external_id="R-1", owner_email="rita@vendor.test")
    actor = actor_for(rita)
    path = csv_file(
        tmp_path,
        "R-1,Rita's Partner renamed,reseller,,,,,,,,",
        "A-1,Hijacked Acme,reseller,,,,,,,,",  # partner_a: exists, but not in Rita's book
        "R-2,Brand new,reseller,,,,,,,,",
    )
    with scope(actor.access_scope()):
        result = partners_import(actor=actor, stream=path.open("rb"), skip_invalid=True)

    assert [str(e) for e in result.errors] == [
        "line 3, column external_id: A partner you may not change already has this id."
    ]
    assert (result.created, result.updated) == (1, 1)
    everything = partners()
    assert everything["A-1"].name == "Acme Resellers"
    assert everything["R-1"].pk == mine.pk and everything["R-1"].name == "Rita's Partner renamed"
    assert everything["R-2"].owner == rita  # the importing manager owns what they create


def test_a_row_that_turns_bad_between_check_and_write_rolls_everything_back(world, tmp_path):
    rita = make_user(world.workspace, "rita@vendor.test", Role.MANAGER, owned_only=True)
    actor = actor_for(rita)
    path = csv_file(tmp_path, "R-1,First,reseller,,,,,,,,", "R-2,Second,reseller,,,,,,,,")

    def meanwhile(stage: str, done: int) -> None:
        if stage == "check":  # after the check, before the write: someone else takes R-2
            with unscoped():
                if not Partner.objects.filter(external_id="R-2").exists():
                    make_partner(world.system, "Someone else's", external_id="R-2")

    with scope(actor.access_scope()):
        result = partners_import(actor=actor, stream=path.open("rb"), on_progress=meanwhile)

    assert result.refused and (result.created, result.rejected) == (0, 1)
    assert [(e.line, e.column) for e in result.errors] == [(3, "external_id")]
    assert set(partners()) == {"A-1", "B-1", "R-2"}  # R-1 was not written either


def test_an_id_taken_right_before_the_write_refuses_the_file_cleanly(world, tmp_path, monkeypatch):
    """The bulk service checks external ids itself: losing that race (another request takes the id
    right before the batch is written) refuses the file with a message, not an exception."""
    from openprm.partners.services.bulk import PartnerBulkWriter

    actor = actor_for(world.manager)
    path = csv_file(tmp_path, "R-1,First,reseller,,,,,,,,", "R-2,Second,reseller,,,,,,,,")
    create = PartnerBulkWriter.create

    def racing_create(self: PartnerBulkWriter, batch: list) -> None:
        with unscoped():
            make_partner(world.system, "Someone else's", external_id="R-2")
        create(self, batch)

    monkeypatch.setattr(PartnerBulkWriter, "create", racing_create)
    with scope(actor.access_scope()):
        result = partners_import(actor=actor, stream=path.open("rb"))

    assert result.refused and result.created == 0
    assert "nothing was imported" in str(result.errors[0]) and "external" in str(result.errors[0]).lower()
    assert set(partners()) == {"A-1", "B-1"}  # the rival's row rolled back with the import's transaction
