"""`prm export partners` and the export → import round trip."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.management.base import CommandError

from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.integrations.tests.helpers import HEADER, run
from openprm.partners.models import CustomFieldDefinition, Partner, Program, Tier
from openprm.testing import make_partner

pytestmark = pytest.mark.django_db


def test_export_writes_the_canonical_csv_to_stdout(world):
    out, _ = run("export", "partners")

    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == HEADER.split(",")
    assert rows[1:] == [
        ["A-1", "Acme Resellers", "reseller", "Silver", "applicant", "DE", "", "", "acme.example", "", ""],
        ["B-1", "Globex Referrals", "referral", "Gold", "applicant", "US", "", "", "globex.example", "", ""],
    ]


def test_export_to_a_file_and_unknown_workspace(world, tmp_path):
    target = tmp_path / "out.csv"
    _, err = run("export", "partners", "--output", str(target))

    assert "2 partner(s) written" in err
    assert target.read_bytes().startswith((HEADER + "\r\n").encode())  # RFC 4180 line ends, no BOM
    with pytest.raises(CommandError, match="No workspace"):
        run("export", "partners", "--workspace", "elsewhere")


def test_export_then_import_changes_nothing(world, tmp_path):
    with unscoped():
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="employees", label="Employees", field_type="number"
        )
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="certified", label="Certified", field_type="boolean"
        )
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="since", label="Since", field_type="date"
        )
        other = Program.objects.create(workspace=world.workspace, name="Cloud Alliance")
        Tier.objects.create(workspace=world.workspace, program=other, name="Member", rank=1)
    make_partner(
        world.system,
        'Café "Zürich", Ltd\nSecond line',
        type="agency",
        external_id="Z-1",
        status="at_risk",
        country="CH",
        region="DACH",
        owner_email="manager@vendor.test",
        domains=["cafe.example", "cafe.ch"],
        tags=["VIP", "coffee & tea", "Ünïcode"],
        start_date=datetime.date(2022, 2, 28),
        custom_fields={"employees": "12.50", "certified": False, "since": "2020-01-01"},
        tiers={"Partner Program": "Platinum", "Cloud Alliance": "Member"},
    )
    target = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(target))
    with unscoped():
        before = (
            list(Partner.objects.order_by("pk").values()),
            AuditEntry.objects.count(),
        )

    out, _ = run("import", "partners", str(target))

    assert out.strip() == "created 0, updated 0, unchanged 3, rejected 0"
    with unscoped():
        after = (list(Partner.objects.order_by("pk").values()), AuditEntry.objects.count())
    assert after == before  # not a field touched, not an audit entry written


def test_partners_without_external_id_are_exported_but_not_matched(world, tmp_path):
    make_partner(world.system, "No External Id", type="service")
    target = tmp_path / "partners.csv"
    run("export", "partners", "--output", str(target))

    out, err = run("import", "partners", str(target), "--skip-invalid")

    assert out.strip() == "created 0, updated 0, unchanged 2, rejected 1"
    assert "line 4, column external_id: Required" in err  # reported, never duplicated
    with unscoped():
        assert Partner.objects.count() == 3


def test_export_runs_in_the_actors_scope(world):
    """The rows are read lazily, after the caller's scope may have ended."""
    from openprm.integrations.selectors import partner_export
    from openprm.testing import actor_for

    actor = actor_for(world.analyst)
    with scope(actor.access_scope()):
        rows = partner_export(actor=actor)
    assert [row[0] for row in rows] == ["external_id", "A-1", "B-1"]
