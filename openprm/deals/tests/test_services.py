"""Deal registration services on the real database: SLA, approvals, stages, expiry, conflicts, scoping."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import (
    ApprovalStatus,
    ConflictStatus,
    Deal,
    DealConflict,
    DealCoSeller,
    DealStageChange,
)
from openprm.deals.services import conflicts as conflict_services
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def register(user, **data):
    actor = actor_for(user)
    payload = {"customer_name": "Initech", "customer_domain": "initech.example", "amount": "12000", **data}
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(actor=actor, data=payload, idempotency_key=data.pop("key", None))
    return deal


def as_user(user):
    return scope(actor_for(user).access_scope())


def test_business_days_skip_weekends():
    friday = datetime.datetime(2026, 11, 20, 10, tzinfo=datetime.UTC)
    assert services.add_business_days(friday, 2) == datetime.datetime(2026, 11, 24, 10, tzinfo=datetime.UTC)
    assert services.add_business_days(friday, 0) == friday


def test_partner_registration_starts_in_first_stage_with_sla_and_history(world):
    deal = register(world.a_rep)
    assert deal.partner_id == world.partner_a.pk and deal.registered_by_id == world.a_rep.pk
    assert deal.stage.key == "registered" and deal.approval_status == ApprovalStatus.SUBMITTED
    assert deal.approval_due_at == services.add_business_days(deal.registered_at, 2)
    with unscoped():
        assert DealStageChange.objects.filter(deal=deal, to_stage__key="registered").count() == 1


def test_idempotency_key_returns_the_first_deal(world):
    actor = actor_for(world.a_admin)
    payload = {"customer_name": "Initech", "amount": "5"}
    with scope(actor.access_scope()):
        first, created_1 = services.deal_register(actor=actor, data=payload, idempotency_key="abc")
        again, created_2 = services.deal_register(actor=actor, data=payload, idempotency_key="abc")
        assert (created_1, created_2) == (True, False) and first.pk == again.pk
        assert Deal.objects.count() == 1


def test_validation_names_every_bad_field(world):
    actor = actor_for(world.a_admin)
    with scope(actor.access_scope()), pytest.raises(ValidationError) as error:
        services.deal_register(
            actor=actor,
            data={
                "customer_name": "",
                "amount": "-5",
                "currency": "EURO",
                "contact_email": "nope",
                "customer_domain": "not a domain",
            },
        )
    assert set(error.value.message_dict) >= {
        "customer_name",
        "amount",
        "currency",
        "contact_email",
        "customer_domain",
    }
    with unscoped():
        assert Deal.objects.count() == 0


def test_rep_sees_only_own_deals_partner_sees_only_own_partner(world):
    mine = register(world.a_rep, customer_name="Rep Deal")
    register(world.a_admin, customer_name="Admin Deal")
    register(world.b_admin, customer_name="Other Partner Deal")
    with as_user(world.a_rep):
        assert list(Deal.objects.values_list("customer_name", flat=True)) == ["Rep Deal"]
    with as_user(world.a_admin):
        assert sorted(Deal.objects.values_list("customer_name", flat=True)) == ["Admin Deal", "Rep Deal"]
    with as_user(world.manager):
        assert Deal.objects.count() == 3
    with as_user(world.b_admin):
        assert not Deal.objects.filter(pk=mine.pk).exists()


def test_approve_sets_protection_and_notifies_partner_users(world):
    deal = register(world.a_rep)
    with as_user(world.manager):
        services.deal_approve(actor=actor_for(world.manager), deal=deal, note="ok")
    assert deal.approval_status == ApprovalStatus.APPROVED
    assert deal.protection_expires_at - deal.approved_at == datetime.timedelta(days=90)
    with unscoped():
        notified = set(Notification.objects.values_list("user__email", flat=True))
    assert notified == {"admin@acme.test", "rep@acme.test"}


def test_reject_needs_reason_and_partners_cannot_decide(world):
    deal = register(world.a_rep)
    with as_user(world.manager), pytest.raises(ValidationError):
        services.deal_reject(actor=actor_for(world.manager), deal=deal, reason=" ")
    with as_user(world.a_admin), pytest.raises(PermissionDenied):
        services.deal_approve(actor=actor_for(world.a_admin), deal=deal)
    with as_user(world.analyst), pytest.raises(PermissionDenied):
        services.deal_approve(actor=actor_for(world.analyst), deal=deal)


def test_more_info_then_partner_edit_resubmits(world):
    deal = register(world.a_rep)
    with as_user(world.manager):
        services.deal_request_info(actor=actor_for(world.manager), deal=deal, message="Which product?")
    assert deal.approval_status == ApprovalStatus.MORE_INFO
    with as_user(world.a_rep):
        services.deal_update(actor=actor_for(world.a_rep), deal=deal, data={"description": "Product X"})
    assert deal.approval_status == ApprovalStatus.SUBMITTED


def test_stage_moves_need_approval_for_partners_and_lost_reason(world):
    deal = register(world.a_rep)
    rep = actor_for(world.a_rep)
    with as_user(world.a_rep), pytest.raises(ValidationError):
        services.deal_move_stage(actor=rep, deal=deal, stage_key="qualified")
    with as_user(world.manager):
        services.deal_approve(actor=actor_for(world.manager), deal=deal)
    with as_user(world.a_rep):
        services.deal_move_stage(actor=rep, deal=deal, stage_key="qualified")
        with pytest.raises(ValidationError) as error:
            services.deal_move_stage(actor=rep, deal=deal, stage_key="closed_lost")
        assert "lost_reason" in error.value.message_dict
        services.deal_move_stage(actor=rep, deal=deal, stage_key="closed_won")
    assert deal.closed_at is not None and deal.stage.outcome == "won"
    with unscoped():
        keys = list(DealStageChange.objects.filter(deal=deal).values_list("to_stage__key", flat=True))
    assert keys == ["registered", "qualified", "closed_won"]


def test_unprogressed_approved_registration_expires_after_protection_window(world):
    stale = register(world.a_rep, customer_name="Stale Co")
    moving = register(world.a_rep, customer_name="Moving Co")
    manager = actor_for(world.manager)
    with as_user(world.manager):
        for deal in (stale, moving):
            services.deal_approve(actor=manager, deal=deal)
        services.deal_move_stage(actor=manager, deal=moving, stage_key="qualified")
    later = timezone.now() + datetime.timedelta(days=91)
    assert services.deals_expire(workspace_id=world.workspace.pk, now=later) == 1
    with unscoped():
        assert Deal.objects.get(pk=stale.pk).approval_status == ApprovalStatus.EXPIRED
        assert Deal.objects.get(pk=moving.pk).approval_status == ApprovalStatus.APPROVED
    call_command("deals", "expire")  # the CLI runs the same service (nothing due now)


def test_conflict_found_across_partners_and_resolved_by_staff(world):
    first = register(world.a_admin, customer_name="ACME Inc.", customer_domain="www.acme-widgets.example")
    second = register(world.b_admin, customer_name="Acme Corp", customer_domain="acme-widgets.example")
    with unscoped():
        conflict = DealConflict.objects.get(deal=second)
    assert conflict.other_id == first.pk and conflict.score >= Decimal("0.5")
    assert any("Acme Resellers" in reason for reason in conflict.reasons)
    assert conflict.first_in.pk == first.pk
    from openprm.deals.selectors import conflict_list

    with as_user(world.b_admin):  # partners never see conflicts: they would reveal other partners' deals
        assert not conflict_list(actor=actor_for(world.b_admin)).exists()
    with as_user(world.manager):
        services.conflict_resolve(
            actor=actor_for(world.manager),
            conflict=conflict,
            resolution="approve_this",
            reason="Globex brought the customer to the demo",
        )
    with unscoped():
        assert Deal.objects.get(pk=second.pk).approval_status == ApprovalStatus.APPROVED
        rejected = Deal.objects.get(pk=first.pk)
        assert rejected.approval_status == ApprovalStatus.REJECTED
        assert rejected.decision_note == "Globex brought the customer to the demo"
        assert DealConflict.objects.get(pk=conflict.pk).status == ConflictStatus.RESOLVED


def test_co_sell_resolution_links_the_later_partner(world):
    first = register(world.a_admin, customer_name="Umbrella Group", customer_domain="umbrella.example")
    second = register(world.b_admin, customer_name="Umbrella Group GmbH", customer_domain="umbrella.example")
    with unscoped():
        conflict = DealConflict.objects.get(deal=second)
    with as_user(world.manager):
        services.conflict_resolve(actor=actor_for(world.manager), conflict=conflict, resolution="co_sell")
    with unscoped():
        assert DealCoSeller.objects.filter(deal=first, partner=world.partner_b).exists()


def test_unrelated_customers_do_not_conflict(world):
    register(world.a_admin, customer_name="Global Solutions", customer_domain="globalsolutions.example")
    second = register(world.b_admin, customer_name="Global Systems", customer_domain="globalsystems.example")
    with unscoped():
        assert not DealConflict.objects.filter(deal=second).exists()


def test_answering_an_info_request_restarts_the_sla_clock(world):
    deal = register(world.a_rep)
    with as_user(world.manager):
        services.deal_request_info(actor=actor_for(world.manager), deal=deal, message="Which product?")
    with unscoped():
        Deal.objects.filter(pk=deal.pk).update(approval_due_at=timezone.now() - datetime.timedelta(days=5))
        deal.refresh_from_db()
    assert deal.approval_overdue is False  # waiting on the partner, not on us
    with as_user(world.a_rep):
        services.deal_update(actor=actor_for(world.a_rep), deal=deal, data={"description": "Product X"})
    assert deal.approval_due_at > timezone.now() and not deal.approval_overdue


def test_partners_cannot_register_a_close_date_in_the_past(world):
    with pytest.raises(ValidationError) as error:
        register(world.a_rep, expected_close_date=timezone.localdate() - datetime.timedelta(days=1))
    assert "expected_close_date" in error.value.message_dict


def test_open_conflict_found_even_behind_a_long_closed_history(world, monkeypatch):
    monkeypatch.setattr(conflict_services, "CONFLICT_CANDIDATE_LIMIT", 3)
    manager = actor_for(world.manager)
    for _ in range(5):  # partner A's long history with the customer, all lost
        old = register(world.a_admin, customer_name="Wayne Enterprises", customer_domain="wayne.example")
        with as_user(world.manager):
            services.deal_approve(actor=manager, deal=old)
            services.deal_move_stage(
                actor=manager, deal=old, stage_key="closed_lost", lost_reason="No budget"
            )
    live = register(world.a_admin, customer_name="Wayne Enterprises", customer_domain="wayne.example")
    newcomer = register(
        world.b_admin, customer_name="Wayne Enterprises Inc", customer_domain="www.wayne.example"
    )
    with unscoped():
        assert list(DealConflict.objects.filter(deal=newcomer).values_list("other_id", flat=True)) == [
            live.pk
        ]
