"""`prm bench alerts` at a tiny scale: one cycle of rules of every kind over the scale dataset, timed
against reading its metric tables alone; nothing it created stays; an empty database is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from openprm.accounts.models import Notification
from openprm.alerts.models import Alert, AlertRule
from openprm.core.scoping import unscoped
from openprm.demo.scale import SCALES, Scale, scale_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    settings.VAR_DIR = tmp_path  # the scale load writes its logins file there
    monkeypatch.setitem(SCALES, "s", Scale("s", partners=12, deals=300, events=3_000))
    return "s"


def test_the_bench_times_a_cycle_of_rules_of_every_kind_and_leaves_nothing(tiny: str, capsys: Any) -> None:
    scale_load(scale=SCALES[tiny])
    with unscoped():
        before = (AlertRule.objects.count(), Alert.objects.count(), Notification.objects.count())
    call_command("bench", "alerts", "--scale", tiny, "--rules", "40", "--json")
    found = json.loads(capsys.readouterr().out)
    assert found["partners"] == 12 and found["rules"] == 40 and found["errors"] == 0
    assert {
        "threshold",
        "change",
        "inactivity",
        "target",
        "agreement_expiring",
        "registration_pending",
    } <= set(found["rule_kinds"])
    assert {"deal_stalled", "conflict_waiting", "registration_sla"} <= set(found["rule_kinds"])
    assert found["metric_tables"] > 0 and found["read_s"] > 0 and found["cycle_s"] > 0
    assert found["ratio"] == pytest.approx(found["cycle_s"] / found["read_s"], rel=0.05)
    assert found["transitions"] > 0 and found["announced"] == found["transitions"]
    assert found["firing_alerts"] == found["transitions"] and found["second_transitions"] == 0
    assert 0 < found["notifications"] < found["announced"]  # one per rule and recipient, not per alert
    with unscoped():
        after = (AlertRule.objects.count(), Alert.objects.count(), Notification.objects.count())
    assert after == before


def test_the_bench_refuses_an_empty_database(tiny: str) -> None:
    with pytest.raises(CommandError, match="holds 0 partners"):
        call_command("bench", "alerts", "--scale", tiny, "--json")
