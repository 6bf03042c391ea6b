"""The deals bulk service writes what the single-deal services write: the same audit entries, stage
history and customer index, and conflicts found in batches with the single-deal rule, one row per pair."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import ApprovalStatus, CustomerKey, Deal, DealConflict, DealStageChange
from openprm.deals.services.bulk import DEAL_FIELDS, OPTIONAL_FIELDS, DealBulkWriter, DealChange, DealCreate
from openprm.deals.services.conflicts import deal_customer
from openprm.partners.models import Program
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def stages() -> dict[str, int]:
    with unscoped():
        program = Program.objects.get(is_default=True)
        return {stage.key: stage.pk for stage in services.program_stages(program=program)}


def new_values(world: Any, external_id: str, name: str, domain: str, **extra: Any) -> dict[str, Any]:
    """Every DEAL_FIELDS key of an approved open deal of partner A, as an import validates them."""
    customer = deal_customer(name, domain)
    assert customer is not None
    now = timezone.now()
    with unscoped():
        program = Program.objects.get(is_default=True)
    values = {
        "partner_id": world.partner_a.pk,
        "program_id": program.pk,
        "external_id": external_id,
        "title": "",
        "customer_name": name,
        "customer_key": customer.key,
        "customer_domain": customer.domain,
        "customer_domain_root": customer.root,
        "contact_name": "",
        "contact_email": "",
        "amount": Decimal("1000.00"),
        "currency": "USD",
        "expected_close_date": None,
        "source": "sourced",
        "stage_id": stages()["registered"],
        "stage_changed_at": now,
        "approval_status": ApprovalStatus.APPROVED,
        "approval_due_at": None,
        "decided_at": now,
        "protection_expires_at": now + datetime.timedelta(days=90),
        "registered_at": now,
        "approved_at": now,
        "closed_at": None,
        "lost_reason": "",
        "properties": {},
        **extra,
    }
    assert set(values) == set(DEAL_FIELDS)
    return values


def bulk_write(actor: Actor, *, creates=(), updates=()) -> DealBulkWriter:
    writer = DealBulkWriter(actor=actor)
    with scope(actor.access_scope()), transaction.atomic():
        writer.write(creates=creates, updates=updates)
    return writer


def audit_of(deal: Deal) -> AuditEntry:
    with unscoped():
        return AuditEntry.objects.get(object_id=deal.public_id)


def test_a_created_deal_is_audited_as_deal_register_audits_it(world):
    """Both paths on the same deal: the create entries match field for field (registered_by aside,
    which only the service knows)."""
    actor = Actor.system(world.workspace.pk, label="sync")
    with scope(actor.access_scope()):
        registered, _ = services.deal_register(
            actor=actor,
            data={
                "partner_id": world.partner_a.pk,
                "customer_name": "Initech GmbH",
                "customer_domain": "https://www.initech.example/",
                "amount": "1234.5",
                "external_id": "REG-1",
                "expected_close_date": datetime.date(2026, 12, 31),
            },
        )
    with unscoped():
        stored = Deal.objects.values(*DEAL_FIELDS).get(pk=registered.pk)
    bulk_write(actor, creates=[DealCreate(values={**stored, "external_id": "BULK-1"})])

    with unscoped():
        bulk = Deal.objects.get(external_id="BULK-1")
    registered_entry, bulk_entry = audit_of(registered), audit_of(bulk)
    assert bulk_entry.action == registered_entry.action == AuditEntry.Action.CREATE
    assert (bulk_entry.partner_id, bulk_entry.actor_label, bulk_entry.object_type) == (
        world.partner_a.pk,
        "sync",
        "deals.deal",
    )
    assert bulk_entry.object_repr == str(bulk)
    expected = {**registered_entry.changes, "external_id": {"before": None, "after": "BULK-1"}}
    assert bulk_entry.changes == expected
    assert bulk_entry.changes["stage"] == {"before": None, "after": "Registered"}
    assert bulk_entry.changes["partner"] == {"before": None, "after": "Acme Resellers"}


def test_owner_registrar_and_public_id_are_written_and_audited_as_the_service_does(world):
    """A staff registration with an owner: the bulk path given the same (``extra``) writes the same
    entry, and keeps the public id it is given."""
    manager = actor_for(world.manager)
    with scope(manager.access_scope()):
        registered, _ = services.deal_register(
            actor=manager,
            data={
                "partner_id": world.partner_b.pk,
                "customer_name": "Hooli",
                "amount": "10",
                "owner_id": world.admin.pk,
                "description": "Expansion",
            },
        )
    fields = (*DEAL_FIELDS, *OPTIONAL_FIELDS)
    with unscoped():
        stored = Deal.objects.values(*fields).get(pk=registered.pk)
    values = {k: v for k, v in stored.items() if k in DEAL_FIELDS}
    extra = {k: v for k, v in stored.items() if k in OPTIONAL_FIELDS}
    public_id = uuid.uuid4()
    bulk_write(manager, creates=[DealCreate(values=values, extra=extra, public_id=public_id)])

    with unscoped():
        bulk = Deal.objects.get(public_id=public_id)
    assert (bulk.owner_id, bulk.registered_by_id, bulk.description) == (
        world.admin.pk,
        world.manager.pk,
        "Expansion",
    )
    assert audit_of(bulk).changes == audit_of(registered).changes
    assert audit_of(bulk).changes["owner"] == {"before": None, "after": str(world.admin)}


def test_created_deals_get_history_keys_and_one_audit_entry_each(world):
    won = stages()["closed_won"]
    later = timezone.now() + datetime.timedelta(days=3)
    creates = [
        DealCreate(values=new_values(world, "B-1", "Initech", "initech.example")),
        DealCreate(
            values=new_values(
                world, "B-2", "Hooli", "", stage_id=won, stage_changed_at=later, closed_at=later
            ),
            lines=[(None, "Widget", Decimal("2.00"), Decimal("10.00"))],
        ),
    ]
    writer = bulk_write(world.system, creates=creates)

    with unscoped():
        deals = {d.external_id: d for d in Deal.objects.all()}
        hooli = deals["B-2"]
        assert [(c.from_stage_id, c.to_stage_id) for c in DealStageChange.objects.filter(deal=hooli)] == [
            (None, stages()["registered"]),
            (stages()["registered"], won),
        ]
        assert hooli.line_items.get().product_name == "Widget"
        assert CustomerKey.objects.filter(customer_key="initech", key="d:initech").exists()
        assert AuditEntry.objects.filter(object_type="deals.deal", action="create").count() == 2
    assert (writer.stage_changes, writer.audit_entries, writer.conflicts) == (3, 2, 0)


def test_an_update_is_audited_by_field_name_and_moves_the_stage(world):
    bulk_write(
        world.system, creates=[DealCreate(values=new_values(world, "U-1", "Initech", "initech.example"))]
    )
    with unscoped():
        current = Deal.objects.values("id", "public_id", *DEAL_FIELDS).get(external_id="U-1")
    moved = timezone.now()
    values = {k: v for k, v in current.items() if k in DEAL_FIELDS}
    values.update(stage_id=stages()["qualified"], stage_changed_at=moved, amount=Decimal("5.00"))
    changed = ("amount", "stage_id", "stage_changed_at")
    bulk_write(world.system, updates=[DealChange(current=current, values=values, changed=changed)])

    with unscoped():
        deal = Deal.objects.select_related("stage").get(external_id="U-1")
        entry = AuditEntry.objects.filter(object_id=deal.public_id, action="update").get()
        history = list(DealStageChange.objects.filter(deal=deal).values_list("to_stage__key", flat=True))
    assert (deal.stage.key, deal.amount) == ("qualified", Decimal("5.00"))
    assert history == ["registered", "qualified"]
    assert entry.changes["stage"] == {"before": "Registered", "after": "Qualified"}
    assert entry.changes["amount"] == {"before": "1000.00", "after": "5.00"}
    assert set(entry.changes) == {"stage", "amount", "stage_changed_at"}


def register(user: Any, name: str, domain: str) -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor, data={"customer_name": name, "customer_domain": domain, "amount": "10"}
        )
    return deal


def test_conflicts_found_in_a_batch_follow_the_single_deal_rule(world):
    """Against another partner's pending registration: found. Between two approved deals: not a conflict
    (no decision to inform). A pending deal of the batch and an approved one of another partner in the
    same batch: one row, the later registration on the ``deal`` side."""
    pending_a = register(world.a_admin, "Initech", "initech.example")
    earlier = timezone.now() - datetime.timedelta(days=2)
    b = world.partner_b.pk
    creates = [
        DealCreate(values=new_values(world, "C-1", "Initech Inc", "initech.example", partner_id=b)),
        DealCreate(values=new_values(world, "C-2", "Umbrella Corp", "umbrella.example")),
        DealCreate(values=new_values(world, "C-3", "Umbrella", "umbrella.example", partner_id=b)),
        DealCreate(
            values=new_values(
                world,
                "C-4",
                "Vandelay Industries",
                "vandelay.example",
                approval_status=ApprovalStatus.SUBMITTED,
                approved_at=None,
                decided_at=None,
                protection_expires_at=None,
            )
        ),
        DealCreate(
            values=new_values(
                world, "C-5", "Vandelay", "vandelay.example", partner_id=b, registered_at=earlier
            )
        ),
    ]
    writer = bulk_write(world.system, creates=creates)

    with unscoped():
        pairs = sorted(DealConflict.objects.values_list("deal__external_id", "other_id"))
        by_external = dict(Deal.objects.values_list("external_id", "id"))
    assert pairs == [("C-1", pending_a.pk), ("C-4", by_external["C-5"])]
    assert writer.conflicts == 2
    with unscoped():
        reasons = DealConflict.objects.get(deal__external_id="C-1").reasons
    assert reasons[-1] == "Acme Resellers has an open registration awaiting a decision"
    manager = actor_for(world.manager)  # the registered side sees it: its approval is held up
    with scope(manager.access_scope()), pytest.raises(ValidationError, match="Globex Referrals"):
        services.deal_approve(actor=manager, deal=pending_a)


def test_rewriting_a_pair_refreshes_its_row_and_keeps_its_status(world):
    pending_a = register(world.a_admin, "Initech", "initech.example")
    b = world.partner_b.pk
    bulk_write(
        world.system,
        creates=[DealCreate(values=new_values(world, "R-1", "Initrode", "x.example", partner_id=b))],
    )
    with unscoped():
        assert not DealConflict.objects.exists()
        current = Deal.objects.values("id", "public_id", *DEAL_FIELDS).get(external_id="R-1")
    customer = deal_customer("Initech Corp", "initech.example")
    assert customer is not None
    values = {k: v for k, v in current.items() if k in DEAL_FIELDS}
    values.update(
        customer_name="Initech Corp",
        customer_key=customer.key,
        customer_domain=customer.domain,
        customer_domain_root=customer.root,
    )
    changed = ("customer_name", "customer_key", "customer_domain", "customer_domain_root")
    change = DealChange(current=current, values=values, changed=changed)
    bulk_write(world.system, updates=[change])
    with unscoped():
        conflict = DealConflict.objects.get()
        conflict.status = "dismissed"
        conflict.save()
    bulk_write(world.system, updates=[change])  # the same change again: checked again, not duplicated
    with unscoped():
        assert list(DealConflict.objects.values_list("other_id", "status")) == [(pending_a.pk, "dismissed")]
