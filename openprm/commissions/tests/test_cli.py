"""`prm commissions accrue|replay|simulate`."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from openprm.commissions.tests.test_accrual import PERCENT_20, convert, publish
from openprm.commissions.tests.test_corrections_engine import edit, won_deal
from openprm.commissions.tests.test_replay_corrections import PLAN
from openprm.deals.models import Deal
from openprm.testing import World

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:  # type: ignore[type-arg]
    out = StringIO()
    call_command("commissions", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_accrue_replay_simulate(world: World) -> None:
    publish(world, PERCENT_20, name="Referral")
    convert(world, "100.00")
    convert(world, "50.00", partner=world.partner_b)
    assert run("accrue")["rows"] == 2
    assert run("accrue")["rows"] == 0
    replayed = run("replay", "--from", "2026-01-01", "--to", "2026-06-30")
    assert (replayed["compared"], replayed["identical"], replayed["differences"]) == (2, 2, [])
    sim = run("simulate", "--plan", "Referral", "--months", "6", "--to", "2026-06-30")
    assert (sim["would_pay"], sim["actual"], sim["version"]) == ("30.00", "30.00", 1)
    assert datetime.date.fromisoformat(sim["start"]) == datetime.date(2025, 12, 1)


def test_replay_text_says_the_bounties_kept(world: World) -> None:
    """The text output says what ``--json`` calls ``estimates_kept``: a registration bounty of a deal
    edited since is kept, not compared (otherwise "2 identical, 0 different" hides it)."""
    bounty = {
        "key": "registered",
        "event": ["deal_registered"],
        "reward": {"type": "flat", "amount": 100},
        "conditions": {"all": [{"field": "amount", "op": "gt", "value": 5000}]},
    }
    publish(world, {"rules": [*PLAN["rules"], bounty]})
    deal = won_deal(world, "10000")
    run("accrue")
    window = (
        "replay",
        "--from",
        "2026-03-01",
        "--to",
        str(timezone.localdate() + datetime.timedelta(days=1)),
    )
    out = StringIO()
    call_command("commissions", *window, stdout=out)
    assert "different." in out.getvalue() and "kept" not in out.getvalue()
    edit(Deal, deal, amount=Decimal("3000"))
    run("accrue")
    assert run(*window)["estimates_kept"] == 1
    out = StringIO()
    call_command("commissions", *window, stdout=out)
    assert "1 registration/approval bounties of deals edited since kept, not compared." in out.getvalue()
