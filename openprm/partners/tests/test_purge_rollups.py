"""Purging a partner leaves the deal rollups equal to a rebuild: the co-sold wins its deals gave other
partners (``cosell_won`` on the co-seller's rows) go with its deals, and the wins it co-sold on another
partner's deal go with its own rows; the other partners' figures are untouched otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import DealDayRollup, RollupGrain
from openprm.deals.rollups import rollup_rows, rollups_rebuild
from openprm.partners.services import partner_purge
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def _deal(world: Any, owner: Any, co_seller: Any, amount: str, stage: str | None) -> None:
    staff = world.system
    with scope(staff.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=staff,
            data={"partner_id": owner.pk, "customer_name": f"Customer {amount}", "amount": amount},
        )
        if co_seller is not None:
            deal_services.deal_add_co_seller(actor=staff, deal=deal, partner_id=co_seller.pk, role="co_sell")
        if stage:
            deal_services.deal_move_stage(actor=staff, deal=deal, stage_key=stage, lost_reason="price")


def _cosell_won(world: Any, partner: Any) -> int:
    with unscoped():
        rows = DealDayRollup.objects.filter(workspace_id=world.workspace.pk, partner_id=partner.pk)
        return sum(rows.filter(grain=RollupGrain.EVER).values_list("cosell_won", flat=True))


def _rebuilt(world: Any) -> dict[str, Any]:
    rollups_rebuild(workspace_id=world.workspace.pk)
    return rollup_rows(workspace_id=world.workspace.pk)


def test_purging_a_partner_whose_won_deal_was_co_sold_leaves_rollups_equal_to_a_rebuild(world: Any) -> None:
    a, b = world.partner_a, world.partner_b
    _deal(world, a, b, "1000.00", "closed_won")  # A's win, co-sold by B: B's cosell_won
    _deal(world, a, b, "300.00", None)  # open, co-sold
    _deal(world, a, None, "200.00", "closed_lost")
    _deal(world, b, a, "700.00", "closed_won")  # B's win, co-sold by A
    _deal(world, b, None, "50.00", "closed_won")
    assert _cosell_won(world, b) == 1
    admin = actor_for(world.admin)
    with scope(admin.access_scope()):
        counts = partner_purge(actor=admin, partner=a, confirm=a.name)
    assert counts["deals.Deal"] == 3
    incremental = rollup_rows(workspace_id=world.workspace.pk)
    assert _cosell_won(world, b) == 0  # A's deal is gone, and so is the win it gave B
    assert not [key for key in incremental["dealdayrollup"] if key[2] == a.pk]
    assert incremental == _rebuilt(world)
    with unscoped():
        won = DealDayRollup.objects.filter(
            workspace_id=world.workspace.pk, partner_id=b.pk, grain=RollupGrain.EVER
        )
        assert sum(won.values_list("won", flat=True)) == 2  # B's own wins stay


def test_purging_the_co_seller_leaves_rollups_equal_to_a_rebuild(world: Any) -> None:
    a, b = world.partner_a, world.partner_b
    _deal(world, a, b, "1000.00", "closed_won")
    _deal(world, b, a, "700.00", "closed_won")
    admin = actor_for(world.admin)
    with scope(admin.access_scope()):
        partner_purge(actor=admin, partner=b, confirm=b.name)
    incremental = rollup_rows(workspace_id=world.workspace.pk)
    assert _cosell_won(world, a) == 0
    assert incremental == _rebuilt(world)
