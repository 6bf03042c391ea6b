"""Tier history: enrolments and tier moves are recorded by the services that make them (the form/API
service and the CSV import), and the tier progression metric reads them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from openprm.core.scoping import scope, unscoped
from openprm.integrations.services.partners import partners_import
from openprm.integrations.tests.helpers import csv_file
from openprm.metrics import figures
from openprm.metrics.periods import Period
from openprm.partners.models import Partner, Tier, TierChange
from openprm.partners.services.partners import partner_update
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def _rank(name: str) -> int:
    with unscoped():
        return Tier.objects.get(name=name, program__name="Partner Program").rank


def _progression(actor: Any, period: Period) -> Any:
    with scope(actor.access_scope()):
        return figures.metric_table(actor=actor, keys=["tier_progression"], period=period)


def _month(offset: int = 0) -> Period:
    today = timezone.now().astimezone(datetime.UTC).date()
    return Period.month_of(today.replace(day=1) - datetime.timedelta(days=offset))


def test_a_tier_move_is_recorded_and_measured(world: Any) -> None:
    admin = actor_for(world.admin)
    with unscoped():
        joined = {
            (c.partner.name, c.from_name, c.to_name) for c in TierChange.objects.select_related("partner")
        }
    assert joined == {(world.partner_a.name, "", "Silver"), (world.partner_b.name, "", "Gold")}
    with scope(admin.access_scope()):
        partner = Partner.objects.get(pk=world.partner_a.pk)
        partner_update(actor=admin, partner=partner, data={"tiers": {"Partner Program": "Gold"}})
        partner_update(actor=admin, partner=partner, data={"tiers": {"Partner Program": "Gold"}})  # no move
    with unscoped():
        move = TierChange.objects.get(partner=world.partner_a, from_name="Silver")
    assert (move.to_name, move.from_rank, move.to_rank) == ("Gold", _rank("Silver"), _rank("Gold"))
    assert (
        move.actor_label == admin.label and move.changed_on == timezone.now().astimezone(datetime.UTC).date()
    )

    table = _progression(admin, _month())
    up = _rank("Gold") - _rank("Silver")
    assert table.value(world.partner_a.pk, "tier_progression").value == up
    assert table.value(world.partner_b.pk, "tier_progression").value == 0  # joined, never moved
    assert table.total("tier_progression").value == up
    before = _progression(admin, _month(offset=1))  # last month: nothing moved yet
    assert before.total("tier_progression").value == 0

    partner_user = actor_for(world.a_admin)  # a partner user reads its own progression only
    own = _progression(partner_user, _month())
    assert own.partner_ids == (world.partner_a.pk,)
    assert own.value(world.partner_a.pk, "tier_progression").value == up


def test_the_csv_import_records_joining_and_moving(world: Any, tmp_path: Any) -> None:
    first = csv_file(tmp_path, "P-1,Alpha GmbH,reseller,Bronze,active,DE,,,,,", name="a.csv")
    moved = csv_file(tmp_path, "P-1,Alpha GmbH,reseller,Gold,active,DE,,,,,", name="b.csv")
    with scope(world.system.access_scope()):
        assert partners_import(actor=world.system, stream=first.open("rb")).created == 1
        assert partners_import(actor=world.system, stream=moved.open("rb")).updated == 1
    with unscoped():
        history = list(
            TierChange.objects.filter(partner__external_id="P-1")
            .order_by("id")
            .values_list("from_name", "to_name", "from_rank", "to_rank")
        )
    assert history == [
        ("", "Bronze", None, _rank("Bronze")),
        ("Bronze", "Gold", _rank("Bronze"), _rank("Gold")),
    ]


def test_without_any_tier_history_the_metric_says_what_it_needs(world: Any) -> None:
    with unscoped():
        TierChange.objects.all().delete()
    value = _progression(actor_for(world.admin), _month()).total("tier_progression")
    assert value.value is None and value.missing.startswith("no data: needs tier history")
