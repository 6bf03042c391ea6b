"""The evaluation cycle at controlled moments: each condition kind, AND/OR, the "for" duration, one open
alert per rule and partner, reminders, silences and snoozes, auto-resolve with its notice, the no-data
policy, and idempotence."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from openprm.accounts.models import Notification
from openprm.alerts.evaluation import evaluate_rules
from openprm.alerts.models import Alert, AlertRule, AlertTransition
from openprm.alerts.services import alert_acknowledge, alert_snooze, rule_update, silence_create
from openprm.alerts.tests.conftest import NOW, at, events, make_rule
from openprm.core.scoping import scope, unscoped
from openprm.deals.services.registration import deal_register
from openprm.scorecards.services import target_create

pytestmark = pytest.mark.django_db


def run(world: Any, now: datetime.datetime, rule: AlertRule | None = None) -> Any:
    return evaluate_rules(
        workspace_id=world.workspace.pk, now=now, rule_ids=[rule.pk] if rule is not None else None
    )


def alerts(world: Any, rule: AlertRule) -> dict[str, Alert]:
    """Open and closed alerts of the rule by partner name (the latest each)."""
    with scope(world.system.access_scope()):
        rows = Alert.objects.filter(rule=rule).select_related("partner").order_by("started_at", "id")
        return {a.partner.name if a.partner else "": a for a in rows}


def notices(world: Any) -> list[str]:
    with unscoped():
        return list(
            Notification.objects.filter(user=world.admin).order_by("id").values_list("title", flat=True)
        )


@pytest.fixture
def september(quiet: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Both partners logged in in September only (the workspace has login data)."""
    rows = [("A-1", "portal_login", at(days=-60)), ("B-1", "portal_login", at(days=-60))]
    events(quiet, rows, django_capture_on_commit_callbacks)
    return quiet


def logins_below_one(world: Any, **data: Any) -> AlertRule:
    """Logins this month < 1: both partners (their only logins were in September)."""
    item = {"kind": "threshold", "metric": "logins", "grain": "month", "op": "<", "value": "1"}
    return make_rule(world, [item], name="No logins this month", **data)


def test_threshold_fires_for_the_partner_below_it_and_says_why(
    quiet: Any, django_capture_on_commit_callbacks: Any
) -> None:
    events(quiet, [("A-1", "portal_login", at(days=-1))], django_capture_on_commit_callbacks)
    rule = logins_below_one(quiet)
    result = run(quiet, NOW)
    found = alerts(quiet, rule)
    assert set(found) == {"Globex Referrals"}
    alert = found["Globex Referrals"]
    assert alert.state == "firing" and alert.fired_at == NOW
    why = alert.values["conditions"][0]
    assert (why["value"], why["op"], why["threshold"], why["period"]) == ("0", "<", "1", "2026-11")
    assert result.metric_calls == 1
    assert notices(quiet) == ["[Firing] No logins this month: Globex Referrals"]


def test_for_duration_pending_then_firing_then_auto_resolved_with_notice(
    september: Any, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = september
    rule = logins_below_one(quiet, for_minutes=10)
    run(quiet, NOW)
    assert {a.state for a in alerts(quiet, rule).values()} == {"pending"}
    run(quiet, at(minutes=5))
    assert {a.state for a in alerts(quiet, rule).values()} == {"pending"}
    assert notices(quiet) == []
    run(quiet, at(minutes=10))
    assert {a.state for a in alerts(quiet, rule).values()} == {"firing"}
    assert notices(quiet) == ["[Firing] No logins this month: 2 partners"]  # one message, both alerts
    with unscoped():
        body = Notification.objects.get(user=quiet.admin).body
    assert (
        body
        == "Acme Resellers: Portal logins 0 < 1 (2026-11)\nGlobex Referrals: Portal logins 0 < 1 (2026-11)"
    )
    events(quiet, [("A-1", "portal_login", at(minutes=11))], django_capture_on_commit_callbacks)
    run(quiet, at(minutes=12))
    found = alerts(quiet, rule)
    assert found["Acme Resellers"].state == "resolved"
    assert found["Acme Resellers"].resolved_at == at(minutes=12)
    assert found["Globex Referrals"].state == "firing"
    assert notices(quiet)[-1] == "[Resolved] No logins this month: Acme Resellers"
    with scope(quiet.system.access_scope()):
        steps = list(
            AlertTransition.objects.filter(alert=found["Acme Resellers"])
            .order_by("at", "id")
            .values_list("from_state", "to_state")
        )
    assert steps == [("", "pending"), ("pending", "firing"), ("firing", "resolved")]


def test_running_twice_at_the_same_moment_changes_nothing(september: Any) -> None:
    quiet = september
    rule = logins_below_one(quiet, for_minutes=5)
    run(quiet, NOW)
    run(quiet, at(minutes=5))
    with scope(quiet.system.access_scope()):
        before = (Alert.objects.count(), AlertTransition.objects.count())
    again = evaluate_rules(workspace_id=quiet.workspace.pk, now=at(minutes=5))
    forced = run(quiet, at(minutes=5), rule)
    with scope(quiet.system.access_scope()):
        assert (Alert.objects.count(), AlertTransition.objects.count()) == before
    assert again.rules == 0 and forced.transitions == 0
    assert len(notices(quiet)) == 1  # both firings in one announcement


def test_one_open_alert_per_rule_and_partner(september: Any) -> None:
    quiet = september
    rule = logins_below_one(quiet)
    for minutes in (0, 1, 2, 3):
        run(quiet, at(minutes=minutes))
    with scope(quiet.system.access_scope()):
        assert Alert.objects.filter(rule=rule).count() == 2
        alert = Alert.objects.filter(rule=rule).first()
        assert alert is not None
        with pytest.raises(IntegrityError), transaction.atomic():
            Alert.objects.create(
                workspace_id=alert.workspace_id,
                rule=rule,
                key=alert.key,
                partner_id=alert.partner_id,
                state="pending",
                started_at=NOW,
                last_evaluated_at=NOW,
            )


def test_repeat_interval_reminds_until_acknowledged(september: Any) -> None:
    quiet = september
    rule = logins_below_one(quiet, repeat_minutes=60, partner_filters={"type": "referral"})
    run(quiet, NOW)
    run(quiet, at(minutes=30))
    assert len(notices(quiet)) == 1
    run(quiet, at(minutes=60))
    assert notices(quiet)[-1] == "[Still firing] No logins this month: Globex Referrals"
    alert = alerts(quiet, rule)["Globex Referrals"]
    with scope(quiet.system.access_scope()):
        alert_acknowledge(actor=quiet.system, alert=alert, now=at(minutes=61))
    run(quiet, at(minutes=180))
    assert len(notices(quiet)) == 2


def test_silence_and_snooze_keep_states_but_announce_nothing(september: Any) -> None:
    quiet = september
    rule = logins_below_one(quiet)
    with scope(quiet.system.access_scope()):
        silence_create(
            actor=quiet.system,
            rule=rule,
            partner=None,
            starts_at=NOW,
            ends_at=at(minutes=30),
            reason="deploy",
        )
    run(quiet, NOW)
    found = alerts(quiet, rule)
    assert {a.state for a in found.values()} == {"firing"}
    assert notices(quiet) == []
    with scope(quiet.system.access_scope()):
        alert_snooze(
            actor=quiet.system, alert=found["Acme Resellers"], until=at(minutes=90), now=at(minutes=1)
        )
    run(quiet, at(minutes=30))  # the silence ended: the not-yet-announced firing goes out, not the snoozed
    assert notices(quiet) == ["[Still firing] No logins this month: Globex Referrals"]
    run(quiet, at(minutes=90))
    assert notices(quiet)[-1] == "[Still firing] No logins this month: Acme Resellers"


def test_change_against_baseline_and_previous(quiet: Any, django_capture_on_commit_callbacks: Any) -> None:
    rows = []
    for window in (1, 2, 3):  # 4 meetings in each of the three 30-day windows before the current one
        rows += [("A-1", "meeting", at(days=-30 * window - d)) for d in (1, 5, 9, 13)]
    rows += [("A-1", "meeting", at(days=-2)), ("A-1", "meeting", at(days=-3))]  # 2 now: down 50%
    rows += [("B-1", "meeting", at(days=-2 - d)) for d in range(3)] + [("B-1", "meeting", at(days=-40))]
    events(quiet, rows, django_capture_on_commit_callbacks)
    item = {"kind": "change", "metric": "contacts", "grain": "rolling", "days": 30, "percent": "40"}
    baseline = make_rule(
        quiet, [item | {"against": "baseline", "baseline_periods": 3}], name="Down vs baseline"
    )
    rise = make_rule(
        quiet, [item | {"against": "previous", "direction": "rise", "percent": "100"}], name="Up"
    )
    run(quiet, NOW)
    down = alerts(quiet, baseline)
    assert set(down) == {"Acme Resellers"}
    why = down["Acme Resellers"].values["conditions"][0]
    assert (why["value"], why["baseline"], why["change_percent"]) == ("2", "4", "-50")
    assert set(alerts(quiet, rise)) == {"Globex Referrals"}  # 3 now against 1 before: +200%


def test_inactivity_and_combinations(quiet: Any, django_capture_on_commit_callbacks: Any) -> None:
    events(
        quiet,
        [
            ("A-1", "meeting", at(days=-40)),
            ("B-1", "meeting", at(days=-5)),
            ("A-1", "portal_login", at(days=-1)),
        ],
        django_capture_on_commit_callbacks,
    )
    inactive = {"kind": "inactivity", "metric": "last_contact", "days": 30}
    no_logins = {
        "kind": "threshold",
        "metric": "logins",
        "grain": "rolling",
        "days": 30,
        "op": "=",
        "value": "0",
    }
    lone = make_rule(quiet, [inactive], name="Inactive")
    both = make_rule(quiet, [inactive, no_logins], combine="and", name="Both")
    either = make_rule(quiet, [inactive, no_logins], combine="or", name="Either")
    run(quiet, NOW)
    assert set(alerts(quiet, lone)) == {"Acme Resellers"}
    assert alerts(quiet, lone)["Acme Resellers"].values["conditions"][0]["days_since"] == 40
    assert set(alerts(quiet, both)) == set()  # Acme is inactive but logged in; Globex is active
    assert set(alerts(quiet, either)) == {"Acme Resellers", "Globex Referrals"}


def test_target_deviation(quiet: Any, django_capture_on_commit_callbacks: Any) -> None:
    events(quiet, [("A-1", "portal_login", at(days=-1))] * 1, django_capture_on_commit_callbacks)
    with scope(quiet.system.access_scope()):
        for partner in (quiet.partner_a, quiet.partner_b):
            target_create(
                actor=quiet.system,
                data={"metric": "logins", "period": "2026-11", "partner": partner, "value": "2"},
            )
    rule = make_rule(
        quiet,
        [{"kind": "target", "metric": "logins", "measure": "attainment", "behind_percent": "60"}],
        name="Behind",
    )
    run(quiet, NOW)
    found = alerts(quiet, rule)
    assert set(found) == {"Globex Referrals"}  # A at 50% (behind by 50), B at 0% (behind by 100)
    assert found["Globex Referrals"].values["conditions"][0]["target"] == "2"


@pytest.mark.parametrize(
    ("policy", "states"), [("ok", set()), ("alerting", {"firing"}), ("nodata", {"nodata"})]
)
def test_no_data_policy(quiet: Any, policy: str, states: set[str]) -> None:
    rule = make_rule(
        quiet,
        [{"kind": "threshold", "metric": "nps", "grain": "quarter", "op": "<", "value": "0"}],
        no_data=policy,
    )
    run(quiet, NOW)
    assert {a.state for a in alerts(quiet, rule).values()} == states
    if policy == "alerting":  # keep_last: the firing alerts stay as they are
        with scope(quiet.system.access_scope()):
            rule_update(actor=quiet.system, rule=rule, data={"no_data": "keep_last"})
        run(quiet, at(minutes=5))
        assert {a.state for a in alerts(quiet, rule).values()} == {"firing"}


def test_registration_pending_is_one_alert_per_deal_resolved_when_decided(quiet: Any) -> None:
    with scope(quiet.system.access_scope()):
        rule = AlertRule.objects.get(name="New registration awaiting approval")
        rule.enabled = True
        rule.save()
        deal, _ = deal_register(
            actor=quiet.system,
            data={"partner_id": quiet.partner_a.pk, "customer_name": "Initech", "amount": "900"},
        )
    run(quiet, NOW)
    found = alerts(quiet, rule)
    assert list(found) == ["Acme Resellers"]
    assert found["Acme Resellers"].subject == f"deal:{deal.public_id}"
    assert "Initech" in found["Acme Resellers"].subject_label
    with scope(quiet.system.access_scope()):
        deal.approval_status = "approved"
        deal.save(update_fields=["approval_status"])
    run(quiet, at(minutes=1))
    assert alerts(quiet, rule)["Acme Resellers"].state == "resolved"


def test_every_workspace_starts_with_the_starter_rules(world: Any) -> None:
    with scope(world.system.access_scope()):
        names = set(AlertRule.objects.filter(builtin=True, enabled=True).values_list("name", flat=True))
    assert names == {
        "New registration awaiting approval",
        "Approval SLA breached",
        "Partner inactive 30 days",
        "Agreement expiring in 30 days",
        "Engagement down 40% vs baseline",
    }


def test_many_new_alerts_written_in_bulk_keep_their_history(
    september: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk path for many new alerts (COPY on PostgreSQL) writes the same rows: alerts with their
    ids, their transitions, one announcement; a run after it finds them open and changes nothing."""
    from openprm.alerts import evaluation

    monkeypatch.setattr(evaluation, "COPY_MIN_ROWS", 1)
    quiet = september
    rule = logins_below_one(quiet)
    first = run(quiet, NOW)
    found = alerts(quiet, rule)
    assert {a.state for a in found.values()} == {"firing"} and len(found) == 2
    with scope(quiet.system.access_scope()):
        steps = AlertTransition.objects.filter(alert__rule=rule).values_list(
            "alert_id", "from_state", "to_state"
        )
        assert sorted(steps) == sorted((a.pk, "", "firing") for a in found.values())
    assert first.transitions == 2 and notices(quiet) == ["[Firing] No logins this month: 2 partners"]
    again = run(quiet, at(minutes=1))
    assert again.transitions == 0 and len(notices(quiet)) == 1


def test_a_rule_whose_announcement_cannot_be_built_fails_alone(
    september: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The announcement is built in the rule's savepoint: a rule whose message fails leaves no alert and
    records its error; the other rules of the cycle fire and are told."""
    from openprm.alerts import announce

    quiet = september
    item = {"kind": "threshold", "metric": "logins", "grain": "month", "op": "<", "value": "1"}
    broken, fine = make_rule(quiet, [item], name="Broken"), make_rule(quiet, [item], name="Fine")
    real = announce.message

    def message(rule: AlertRule, *args: Any, **kwargs: Any) -> tuple[str, str]:
        if rule.name == "Broken":
            raise ValueError("unreadable value")
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(announce, "message", message)
    result = run(quiet, NOW)
    assert alerts(quiet, broken) == {} and set(alerts(quiet, fine)) == {"Acme Resellers", "Globex Referrals"}
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert "unreadable value" in broken.last_error and fine.last_error == ""
    assert notices(quiet) == ["[Firing] Fine: 2 partners"]
    assert result.rules == 1
