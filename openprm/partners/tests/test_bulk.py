"""The import's batch writes must leave exactly what partner_create / partner_update leave."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openprm.core.actors import Actor
from openprm.core.audit import snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.integrations.services.partners import partners_import
from openprm.integrations.tests.helpers import HEADER, csv_file
from openprm.partners.models import CustomFieldDefinition, Partner, StatusChange, Tag
from openprm.partners.services import (
    PartnerLookups,
    partner_archive,
    partner_clean,
    partner_create,
    partner_update,
    program_create,
)
from openprm.partners.services.bulk import PartnerBulkWriter
from openprm.testing import actor_for, make_user

pytestmark = pytest.mark.django_db

VOLATILE = {"external_id", "status_changed_at", "archived_at"}  # differ between any two partners


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


# --- the rules partner_create / partner_update apply, applied by the bulk service too ---------------------


def write_one(actor: Actor, data: dict, *, lookups: PartnerLookups | None = None) -> Partner:
    """One partner created through the bulk service, from input cleaned as the import cleans it."""
    lookups = lookups or PartnerLookups.load(actor)
    writer = PartnerBulkWriter(actor=actor, lookups=lookups)
    cleaned = partner_clean(data=data, lookups=lookups, creating=True)
    writer.create([cleaned])
    return Partner.objects.get(name=data["name"])


def test_the_bulk_service_needs_the_right_to_edit_partners(world):
    with scope(world.system.access_scope()):
        lookups = PartnerLookups.load(world.system)
    analyst = actor_for(world.analyst)
    with scope(analyst.access_scope()), pytest.raises(PermissionDenied):
        PartnerBulkWriter(actor=analyst, lookups=lookups)
    with scope(analyst.access_scope()), pytest.raises(PermissionDenied):
        partner_create(actor=analyst, data={"name": "Nope", "type": "agency"})


def test_an_external_id_taken_anywhere_in_the_workspace_is_refused_as_by_the_service(world):
    """Even by a partner the writing user may not see (owned-only staff), and twice in one batch."""
    owned_only = actor_for(make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True))
    with scope(world.system.access_scope()):
        partner_create(actor=world.system, data={"name": "Holder", "type": "agency", "external_id": "X-1"})
    data = {"name": "Newcomer", "type": "agency", "external_id": "X-1"}
    with scope(owned_only.access_scope()):
        with pytest.raises(ValidationError) as by_service:
            partner_create(actor=owned_only, data=data)
        with pytest.raises(ValidationError) as by_bulk:
            write_one(owned_only, data)
        assert (
            by_bulk.value.message_dict
            == by_service.value.message_dict
            == {"external_id": ["Another partner already has external id 'X-1'."]}
        )
        lookups = PartnerLookups.load(owned_only)
        twice = [
            partner_clean(data={**data, "name": name, "external_id": "X-2"}, lookups=lookups, creating=True)
            for name in ("First", "Second")
        ]
        with pytest.raises(ValidationError, match="X-2"):
            PartnerBulkWriter(actor=owned_only, lookups=lookups).create(twice)
    with unscoped():
        assert not Partner.objects.filter(name__in=["Newcomer", "First", "Second"]).exists()

    with scope(world.system.access_scope()):
        mine = partner_create(
            actor=world.system, data={"name": "Mine", "type": "agency", "external_id": "M-1"}
        )
        change = {"external_id": "X-1"}
        with pytest.raises(ValidationError) as by_service:
            partner_update(actor=world.system, partner=mine, data=change)
        writer = PartnerBulkWriter(actor=world.system, lookups=PartnerLookups.load(world.system))
        with pytest.raises(ValidationError) as by_bulk:
            writer.update([(Partner.objects.get(pk=mine.pk), [], {}, change)])
        assert by_bulk.value.message_dict == by_service.value.message_dict
        writer.update([(Partner.objects.get(pk=mine.pk), [], {}, {"external_id": "M-1", "name": "Mine 2"})])
        assert Partner.objects.get(pk=mine.pk).name == "Mine 2"  # keeping its own id is no clash


def test_an_owner_added_after_the_lookups_were_loaded_is_kept(world):
    """The service stores the owner it was given; the bulk service must not drop one it had not cached."""
    with scope(world.system.access_scope()):
        stale = PartnerLookups.load(world.system)
        make_user(world.workspace, "late@vendor.test", Role.MANAGER)
        fresh = PartnerLookups.load(world.system)
        writer = PartnerBulkWriter(actor=world.system, lookups=stale)
        data = {"name": "Late Owner", "type": "agency", "owner_email": "late@vendor.test"}
        writer.create([partner_clean(data=data, lookups=fresh, creating=True)])
        partner = Partner.objects.get(name="Late Owner")
        assert partner.owner is not None and partner.owner.email == "late@vendor.test"
        entry = AuditEntry.objects.get(object_id=partner.public_id)
        assert entry.changes["owner"]["after"] == str(partner.owner)


def test_enrolments_are_audited_in_program_order_as_by_the_service(world):
    """The service's audit snapshot lists a partner's programs by name; so does the bulk service's."""
    with scope(world.system.access_scope()):
        program_create(actor=world.system, data={"name": "Alpha Program"})
        data = {
            "name": "Two Programs",
            "type": "agency",
            "tiers": {"Partner Program": "Gold", "Alpha Program": None},
        }
        service = partner_create(actor=world.system, data={**data, "name": "By Service"})
        bulk = write_one(world.system, data)
        entries = {
            p.name: AuditEntry.objects.get(object_id=p.public_id).changes["tiers"]["after"]
            for p in (service, bulk)
        }
    assert (
        list(entries["Two Programs"].items())
        == list(entries["By Service"].items())
        == [
            ("Alpha Program", None),
            ("Partner Program", "Gold"),
        ]
    )


def test_new_tags_of_one_batch_are_created_once_whatever_their_case(world):
    with scope(world.system.access_scope()):
        lookups = PartnerLookups.load(world.system)
        rows = [
            partner_clean(
                data={"name": name, "type": "agency", "tags": [tag]}, lookups=lookups, creating=True
            )
            for name, tag in (("One", "Fresh"), ("Two", "fresh"), ("Three", "FRESH"))
        ]
        PartnerBulkWriter(actor=world.system, lookups=lookups).create(rows)
        assert list(Tag.objects.filter(name__iexact="fresh").values_list("name", flat=True)) == ["Fresh"]
        assert {
            p.name: [t.name for t in p.tags.all()] for p in Partner.objects.filter(tags__name="Fresh")
        } == {
            "One": ["Fresh"],
            "Two": ["Fresh"],
            "Three": ["Fresh"],
        }


def test_an_archived_partner_is_updated_by_both_paths_alike_and_stays_archived(world, tmp_path, custom_field):
    """partner_update does not refuse an archived partner (only new business is refused); nor does an
    import: both change it the same way, and it stays archived."""
    with scope(world.system.access_scope()):
        for ext in ("S-1", "I-1"):
            partner = partner_create(
                actor=world.system, data={"external_id": ext, "name": "Sleeping", "type": "agency"}
            )
            partner_archive(actor=world.system, partner=partner)
        partner_update(
            actor=world.system,
            partner=Partner.objects.get(external_id="S-1"),
            data={"name": "Sleeping Renamed", "status": "inactive"},
        )
    import_rows(world, tmp_path, "I-1,Sleeping Renamed,agency,,inactive,,,,,,,")
    assert state("I-1") == state("S-1")
    with unscoped():
        assert all(p.archived_at for p in Partner.objects.filter(external_id__in=["S-1", "I-1"]))
