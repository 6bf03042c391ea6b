"""`prm commissions accrue|replay|simulate`."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command

from openprm.commissions.tests.test_accrual import PERCENT_20, convert, publish
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
