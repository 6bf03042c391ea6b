"""Grafana's Recovering state and Alertmanager's inhibition, at controlled moments: a firing alert whose
condition clears recovers for the rule's "keep firing for" before it resolves, and goes back to firing
(the same alert, nothing announced) when it breaches again; a rule that inhibits another marks that
rule's alerts on the same partner inhibited and keeps them quiet while it fires."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprm.alerts.models import Alert, AlertRule, AlertTransition
from openprm.alerts.services import rule_update
from openprm.alerts.tests.conftest import NOW, at, events, make_rule
from openprm.alerts.tests.test_evaluation import alerts, logins_below_one, notices, run
from openprm.core.scoping import scope

pytestmark = pytest.mark.django_db


def steps(world: Any, alert: Alert) -> list[tuple[str, str, bool]]:
    with scope(world.system.access_scope()):
        rows = AlertTransition.objects.filter(alert=alert).order_by("at", "id")
        return list(rows.values_list("from_state", "to_state", "announced"))


@pytest.fixture
def september(quiet: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Both partners logged in in September only (the workspace has login data)."""
    rows = [("A-1", "portal_login", at(days=-60)), ("B-1", "portal_login", at(days=-60))]
    events(quiet, rows, django_capture_on_commit_callbacks)
    return quiet


def test_a_cleared_alert_recovers_then_resolves_after_keep_firing_for(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = september
    rule = logins_below_one(quiet, keep_firing_minutes=30, partner_filters={"type": "reseller"})
    run(quiet, NOW)
    assert alerts(quiet, rule)["Acme Resellers"].state == "firing"
    events(quiet, [("A-1", "portal_login", at(minutes=1))], django_capture_on_commit_callbacks)
    run(quiet, at(minutes=5))
    alert = alerts(quiet, rule)["Acme Resellers"]
    assert alert.state == "recovering" and alert.recovering_at == at(minutes=5)
    assert alert.resolved_at is None and alert.is_open
    run(quiet, at(minutes=30))  # 25 minutes recovering: not yet
    assert alerts(quiet, rule)["Acme Resellers"].state == "recovering"
    assert notices(quiet) == ["[Firing] No logins this month: Acme Resellers"]
    run(quiet, at(minutes=35))
    alert = alerts(quiet, rule)["Acme Resellers"]
    assert alert.state == "resolved" and alert.resolved_at == at(minutes=35)
    assert alert.recovering_at is None
    assert notices(quiet)[-1] == "[Resolved] No logins this month: Acme Resellers"
    assert steps(quiet, alert) == [
        ("", "firing", True),
        ("firing", "recovering", False),
        ("recovering", "resolved", True),
    ]


def test_a_recovering_alert_that_breaches_again_fires_again_without_a_new_alert_or_notice(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """No logins this month: Acme logs in on 20 November (recovering, kept firing for 14 days), and on
    1 December the new month has no login yet: it breaches again inside the 14 days."""
    quiet = september
    rule = logins_below_one(quiet, keep_firing_minutes=60 * 24 * 14, partner_filters={"type": "reseller"})
    run(quiet, NOW)
    first = alerts(quiet, rule)["Acme Resellers"]
    assert first.state == "firing"
    events(quiet, [("A-1", "portal_login", at(minutes=1))], django_capture_on_commit_callbacks)
    run(quiet, at(minutes=2))
    assert alerts(quiet, rule)["Acme Resellers"].state == "recovering"
    run(quiet, at(days=11))  # 1 December
    again = alerts(quiet, rule)["Acme Resellers"]
    assert again.pk == first.pk and again.state == "firing" and again.recovering_at is None
    assert again.fired_at == NOW  # still the first firing
    assert notices(quiet) == ["[Firing] No logins this month: Acme Resellers"]  # no second notice
    assert steps(quiet, again) == [
        ("", "firing", True),
        ("firing", "recovering", False),
        ("recovering", "firing", False),
    ]
    with scope(quiet.system.access_scope()):
        assert Alert.objects.filter(rule=rule).count() == 1


def test_keep_firing_zero_resolves_at_once_as_before(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = september
    rule = logins_below_one(quiet, partner_filters={"type": "reseller"})
    run(quiet, NOW)
    events(quiet, [("A-1", "portal_login", at(minutes=1))], django_capture_on_commit_callbacks)
    run(quiet, at(minutes=2))
    alert = alerts(quiet, rule)["Acme Resellers"]
    assert alert.state == "resolved"
    assert [s[:2] for s in steps(quiet, alert)] == [("", "firing"), ("firing", "resolved")]


def test_a_pending_alert_that_clears_resolves_at_once(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = september
    rule = logins_below_one(
        quiet, for_minutes=10, keep_firing_minutes=30, partner_filters={"type": "reseller"}
    )
    run(quiet, NOW)
    events(quiet, [("A-1", "portal_login", at(minutes=1))], django_capture_on_commit_callbacks)
    run(quiet, at(minutes=2))
    assert alerts(quiet, rule)["Acme Resellers"].state == "resolved"
    assert notices(quiet) == []


# --------------------------------------------------------------------------------------------- inhibition


def inactive_and_low_logins(world: Any) -> tuple[AlertRule, AlertRule]:
    """ "No logins this month" (both partners) inhibited by "Inactive 30 days" (Acme only)."""
    low = logins_below_one(world)
    item = {"kind": "inactivity", "metric": "last_contact", "days": 30}
    inactive = make_rule(world, [item], name="Inactive 30 days", inhibits=[str(low.public_id)])
    return inactive, low


def test_an_inhibiting_rule_keeps_the_other_rules_alerts_on_its_partner_quiet(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = september
    events(quiet, [("B-1", "meeting", at(days=-2))], django_capture_on_commit_callbacks)  # Globex active
    inactive, low = inactive_and_low_logins(quiet)
    run(quiet, NOW)
    source = alerts(quiet, inactive)["Acme Resellers"]
    found = alerts(quiet, low)
    assert {name: a.state for name, a in found.items()} == {
        "Acme Resellers": "firing",
        "Globex Referrals": "firing",
    }
    assert found["Acme Resellers"].inhibited_by_id == source.pk
    assert found["Globex Referrals"].inhibited_by_id is None
    with scope(quiet.system.access_scope()):
        assert found["Acme Resellers"].is_inhibited and not found["Globex Referrals"].is_inhibited
    assert found["Acme Resellers"].announced_at is None
    assert sorted(notices(quiet)) == [
        "[Firing] Inactive 30 days: Acme Resellers",
        "[Firing] No logins this month: Globex Referrals",  # Acme's is inhibited
    ]
    # Acme meets someone: the inhibiting alert resolves, the inhibited one is announced at last
    events(quiet, [("A-1", "meeting", at(minutes=1))], django_capture_on_commit_callbacks)
    run(quiet, at(minutes=2))
    assert alerts(quiet, inactive)["Acme Resellers"].state == "resolved"
    now_free = alerts(quiet, low)["Acme Resellers"]
    assert now_free.state == "firing" and now_free.inhibited_by_id is None
    assert now_free.announced_at == at(minutes=2)
    assert "[Still firing] No logins this month: Acme Resellers" in notices(quiet)


def test_inhibition_is_per_partner_and_only_while_the_source_fires(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = september
    events(quiet, [("B-1", "meeting", at(days=-45))], django_capture_on_commit_callbacks)  # both inactive
    inactive, low = inactive_and_low_logins(quiet)
    with scope(quiet.system.access_scope()):
        rule_update(actor=quiet.system, rule=inactive, data={"enabled": False})
    run(quiet, NOW)
    assert all(a.inhibited_by_id is None for a in alerts(quiet, low).values())
    assert len(notices(quiet)) == 1  # both partners in one firing notice
    with scope(quiet.system.access_scope()):
        rule_update(actor=quiet.system, rule=inactive, data={"enabled": True})
    run(quiet, at(minutes=1))
    found = alerts(quiet, low)
    sources = alerts(quiet, inactive)
    assert {n: a.inhibited_by_id for n, a in found.items()} == {n: a.pk for n, a in sources.items()}
    run(quiet, at(minutes=2))  # the inhibited alerts stay quiet: no reminder, no new notice
    assert len(notices(quiet)) == 2  # + the inhibiting rule's own firing


def test_inhibits_is_validated_and_round_trips_through_the_api(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    base = {
        "name": "Inactive",
        "conditions": {"items": [{"kind": "inactivity", "metric": "last_contact", "days": 30}]},
    }
    target = admin.post(
        "/api/v1/alerts/rules", data=json.dumps(base | {"name": "Low"}), content_type="application/json"
    ).json()
    made = admin.post(
        "/api/v1/alerts/rules",
        data=json.dumps(base | {"inhibits": [target["id"]], "keep_firing_minutes": 15}),
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["inhibits"] == [target["id"]] and made.json()["keep_firing_minutes"] == 15
    myself = admin.patch(
        f"/api/v1/alerts/rules/{made.json()['id']}",
        data=json.dumps({"inhibits": [made.json()["id"]]}),
        content_type="application/json",
    )
    assert myself.status_code == 422 and myself.json()["field"] == "inhibits"
    unknown = admin.post(
        "/api/v1/alerts/rules",
        data=json.dumps(base | {"inhibits": ["00000000-0000-0000-0000-000000000000"]}),
        content_type="application/json",
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "inhibits"
    cleared = admin.patch(
        f"/api/v1/alerts/rules/{made.json()['id']}",
        data=json.dumps({"inhibits": []}),
        content_type="application/json",
    )
    assert cleared.status_code == 200 and cleared.json()["inhibits"] == []
