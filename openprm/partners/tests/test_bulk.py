"""The import's batch writes must leave exactly what partner_create / partner_update leave."""

from __future__ import annotations

import datetime

import pytest

from openprm.core.audit import snapshot
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.integrations.services.partners import partners_import
from openprm.integrations.tests.helpers import HEADER, csv_file
from openprm.partners.models import CustomFieldDefinition, Partner, StatusChange, Tag
from openprm.partners.services import partner_create, partner_update

pytestmark = pytest.mark.django_db

VOLATILE = {"external_id", "status_changed_at"}


def state(external_id: str) -> dict:
    """Everything the services write about a partner, minus what differs between any two partners."""
    with unscoped():
        partner = Partner.objects.get(external_id=external_id)
        entries = AuditEntry.objects.filter(object_id=partner.public_id).order_by("at", "id")
        return {
            "fields": {k: v for k, v in snapshot(partner).items() if k not in VOLATILE},
            "tags": sorted(t.name for t in partner.tags.all()),
            "enrolments": sorted(
                (e.program.name, e.tier.name if e.tier else None) for e in partner.enrolments.all()
            ),
            "status_changes": [
                (s.from_status, s.to_status, s.actor_label)
                for s in StatusChange.objects.filter(partner=partner).order_by("changed_at", "id")
            ],
            "audit": [
                (
                    e.action,
                    e.actor_label,
                    e.object_repr,
                    {k: v for k, v in e.changes.items() if k not in VOLATILE},
                )
                for e in entries
            ],
        }


@pytest.fixture
def custom_field(world):
    with unscoped():
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="employees", label="Employees", field_type="number"
        )
        Tag.objects.create(workspace=world.workspace, name="VIP")


def import_rows(world, tmp_path, *lines: str) -> None:
    path = csv_file(
        tmp_path, *lines, header=HEADER + ",employees", name=f"{len(list(tmp_path.iterdir()))}.csv"
    )
    with scope(world.system.access_scope()):
        result = partners_import(actor=world.system, stream=path.open("rb"))
    assert not result.errors, result.errors


def test_bulk_create_matches_partner_create(world, tmp_path, custom_field):
    data = {
        "name": "Same Partner",
        "type": "agency",
        "status": "active",
        "country": "FR",
        "region": "EMEA",
        "domains": ["same.example", "same.fr"],
        "owner_email": "manager@vendor.test",
        "tags": ["vip", "new-tag"],
        "start_date": datetime.date(2023, 5, 1),
        "custom_fields": {"employees": "42"},
        "tiers": {"Partner Program": "Gold"},
    }
    with scope(world.system.access_scope()):
        partner_create(actor=world.system, data={**data, "external_id": "S-1"})
    import_rows(
        world,
        tmp_path,
        "I-1,Same Partner,agency,gold,active,FR,EMEA,Manager@Vendor.test,same.example;same.fr,2023-05-01,"
        "vip;new-tag,42",
    )

    service, imported = state("S-1"), state("I-1")
    assert imported == service
    assert service["tags"] == ["VIP", "new-tag"] and service["audit"][0][0] == "create"


def test_bulk_update_matches_partner_update(world, tmp_path, custom_field):
    row = "{},Same Partner,agency,Silver,onboarding,FR,EMEA,,same.example,2023-05-01,vip,10"
    with scope(world.system.access_scope()):
        for ext in ("S-1", "I-1"):
            partner_create(
                actor=world.system,
                data={
                    "external_id": ext,
                    "name": "Same Partner",
                    "type": "agency",
                    "status": "onboarding",
                    "country": "FR",
                    "region": "EMEA",
                    "domains": ["same.example"],
                    "tags": ["VIP"],
                    "start_date": datetime.date(2023, 5, 1),
                    "custom_fields": {"employees": "10"},
                    "tiers": {"Partner Program": "Silver"},
                },
            )
    import_rows(world, tmp_path, row.format("I-1"))  # nothing changes: nothing recorded
    assert state("I-1") == state("S-1")

    changes = {
        "name": "Renamed",
        "type": "reseller",
        "status": "active",
        "country": "DE",
        "region": "",
        "domains": ["renamed.example"],
        "owner_email": "admin@vendor.test",
        "tags": ["new-tag"],
        "start_date": None,
        "custom_fields": {"employees": "11"},
        "tiers": {"Partner Program": "Platinum"},
    }
    with scope(world.system.access_scope()):
        partner = Partner.objects.get(external_id="S-1")
        partner_update(actor=world.system, partner=partner, data=changes)
    import_rows(
        world,
        tmp_path,
        "I-1,Renamed,reseller,Platinum,active,DE,,admin@vendor.test,renamed.example,,new-tag,11",
    )

    service, imported = state("S-1"), state("I-1")
    assert imported == service
    assert [a[0] for a in service["audit"]] == ["create", "update"]
    assert service["status_changes"][-1][:2] == ("onboarding", "active")
    assert service["audit"][1][3]["tiers"] == {
        "before": {"Partner Program": "Silver"},
        "after": {"Partner Program": "Platinum"},
    }

    # A partner enrolled in a second program keeps it; clearing the tier is recorded the same way.
    with scope(world.system.access_scope()):
        partner = Partner.objects.get(external_id="S-1")
        partner_update(actor=world.system, partner=partner, data={"tiers": {"Partner Program": None}})
    import_rows(
        world, tmp_path, "I-1,Renamed,reseller,,active,DE,,admin@vendor.test,renamed.example,,new-tag,11"
    )
    assert state("I-1") == state("S-1")
