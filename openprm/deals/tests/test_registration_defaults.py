"""Registration agrees with the rest of the product: money rounds half up, new pipelines stall by the
documented thresholds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openprm.core.scoping import scope
from openprm.deals import services
from openprm.deals.models import DEFAULT_STALL_DAYS
from openprm.partners.models import Program
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("text", "rounded"), [("0.125", "0.13"), ("1234.565", "1234.57"), ("0.135", "0.14")])
def test_registered_amounts_round_half_up_like_imports_and_conversions(world, text, rounded):
    actor = actor_for(world.a_admin)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor, data={"customer_name": f"Initech {text}", "amount": text}
        )
    assert deal.amount == Decimal(rounded)


def test_a_new_programs_pipeline_uses_the_documented_stalled_thresholds(world):
    actor = actor_for(world.admin)
    with scope(actor.access_scope()):
        program = Program.objects.create(workspace=world.workspace, name="Referral Program")
        stages = {s.key: s.stall_days for s in services.program_stages(program=program)}
    for key, days in DEFAULT_STALL_DAYS.items():
        assert stages[key] == days, key
    assert stages["closed_won"] is None and stages["closed_lost"] is None
