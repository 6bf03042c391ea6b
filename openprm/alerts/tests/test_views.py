"""The alert pages: staff see them (admins and managers edit, analysts read), partner users get 404; the
rule form saves conditions without JSON and names errors per field; actions on an alert."""

from __future__ import annotations

import re
from typing import Any

import pytest

from openprm.alerts.evaluation import evaluate_rules
from openprm.alerts.models import Alert, AlertRule, Silence
from openprm.alerts.tests.conftest import NOW
from openprm.core.scoping import scope
from openprm.partners.models import Tier
from openprm.scorecards.tests.conftest import register

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Pipeline too small",
    "severity": "warning",
    "combine": "and",
    "interval_minutes": "5",
    "for_minutes": "0",
    "repeat_minutes": "0",
    "no_data": "ok",
    "recipients": "admin",
    "kind_0": "threshold",
    "metric_0": "won_count",
    "grain_0": "month",
    "op_0": "=",
    "number_0": "0",
    "enabled": "on",
}


def test_rule_form_saves_conditions_and_names_errors(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    bad = client.post("/alerts/rules/new/", FORM | {"metric_0": ""})
    assert bad.status_code == 200
    assert "conditions.items.0.metric" in bad.content.decode()
    two = client.post("/alerts/rules/new/", FORM | {"kind_1": "registration_sla", "kind_2": "deal_stalled"})
    assert "one kind of record" in two.content.decode()
    saved = client.post("/alerts/rules/new/", FORM)
    assert saved.status_code == 302
    with scope(world.system.access_scope()):
        rule = AlertRule.objects.get(name="Pipeline too small")
    assert rule.conditions["items"] == [
        {"kind": "threshold", "metric": "won_count", "grain": "month", "days": 30, "op": "=", "value": "0"}
    ]
    edit = client.get(f"/alerts/rules/{rule.public_id}/edit/")
    assert 'value="won_count" selected' in edit.content.decode()


def test_the_partner_set_is_chosen_from_the_workspace_programs_tiers_types_and_tags(
    world: Any, client_for: Any
) -> None:
    client = client_for(world.manager)
    with scope(world.system.access_scope()):
        gold = Tier.objects.select_related("program").get(name="Gold")
    page = client.get("/alerts/rules/new/").content.decode()
    assert f'<option value="{gold.public_id}">{gold.program.name} · Gold</option>' in page
    assert f'<option value="{gold.program.public_id}">{gold.program.name}</option>' in page
    assert '<option value="referral">Referral</option>' in page
    saved = client.post("/alerts/rules/new/", FORM | {"name": "Gold only", "tier": str(gold.public_id)})
    assert saved.status_code == 302
    with scope(world.system.access_scope()):
        rule = AlertRule.objects.get(name="Gold only")
    assert rule.partner_filters == {"tier": str(gold.public_id)}
    edit = client.get(f"/alerts/rules/{rule.public_id}/edit/").content.decode()
    assert f'value="{gold.public_id}" selected' in edit
    other = client.post("/alerts/rules/new/", FORM | {"name": "Nope", "tier": "not-a-tier"})
    assert other.status_code == 200 and "Select a valid choice" in other.content.decode()


def test_pages_and_actions(world: Any, client_for: Any) -> None:
    register(world, world.partner_b, "100.00")  # the workspace has deals: won_count is 0, not "no data"
    with scope(world.system.access_scope()):
        rule = AlertRule.objects.create(
            workspace=world.workspace,
            name="No wins",
            conditions={
                "combine": "and",
                "items": [{"kind": "threshold", "metric": "won_count", "op": "=", "value": "0"}],
            },
        )
    evaluate_rules(workspace_id=world.workspace.pk, now=NOW, rule_ids=[rule.pk])
    with scope(world.system.access_scope()):
        alert = Alert.objects.filter(rule=rule).select_related("partner").first()
    assert alert is not None and alert.partner is not None
    analyst = client_for(world.analyst)
    for url in (
        "/alerts/",
        "/alerts/rules/",
        f"/alerts/rules/{rule.public_id}/",
        f"/alerts/{alert.public_id}/",
    ):
        assert analyst.get(url).status_code == 200, url
    page = analyst.get(f"/alerts/{alert.public_id}/").content.decode()
    assert f"/dashboards/partners/{alert.partner.public_id}/" in page and "0 = 0" in page
    assert analyst.get("/alerts/rules/new/").status_code == 404
    assert analyst.post("/alerts/", {"alert": alert.public_id, "action": "acknowledge"}).status_code == 404
    manager = client_for(world.manager)
    done = manager.post(
        "/alerts/",
        {"alert": alert.public_id, "action": "silence_partner", "until": "2099-01-01", "reason": "x"},
    )
    assert done.status_code == 302
    manager.post("/alerts/", {"alert": alert.public_id, "action": "acknowledge"})
    with scope(world.system.access_scope()):
        assert Silence.objects.get().partner_id == alert.partner_id
        alert.refresh_from_db()
    assert alert.acknowledged_at is not None


def test_partner_users_get_404(world: Any, client_for: Any) -> None:
    with scope(world.system.access_scope()):
        rule = AlertRule.objects.first()
    assert rule is not None
    for user in (world.a_admin, world.b_admin):
        client = client_for(user)
        for url in ("/alerts/", "/alerts/rules/", f"/alerts/rules/{rule.public_id}/", "/alerts/rules/new/"):
            assert client.get(url).status_code == 404, url


def test_rule_form_keeps_firing_for_and_inhibits_and_the_pages_show_both(world: Any, client_for: Any) -> None:
    register(world, world.partner_b, "100.00")  # the workspace has deals: won_count is 0, not "no data"
    client = client_for(world.manager)
    assert client.post("/alerts/rules/new/", FORM | {"name": "Low"}).status_code == 302
    with scope(world.system.access_scope()):
        low = AlertRule.objects.get(name="Low")
    page = client.get("/alerts/rules/new/").content.decode()
    assert f'value="{low.public_id}"' in page and "Keep firing for" in page
    saved = client.post(
        "/alerts/rules/new/",
        FORM | {"name": "Quiet", "keep_firing_minutes": "45", "inhibits": [str(low.public_id)]},
    )
    assert saved.status_code == 302
    with scope(world.system.access_scope()):
        quiet = AlertRule.objects.get(name="Quiet")
        assert quiet.keep_firing_minutes == 45 and list(quiet.inhibits.all()) == [low]
    edit = client.get(f"/alerts/rules/{quiet.public_id}/edit/").content.decode()
    assert re.search(f'value="{low.public_id}" id="id_inhibits_[0-9]+" checked', edit)
    assert str(quiet.public_id) not in edit.split("Inhibits</legend>")[1]  # not itself
    evaluate_rules(workspace_id=world.workspace.pk, now=NOW, rule_ids=[quiet.pk, low.pk])
    with scope(world.system.access_scope()):
        inhibited = Alert.objects.filter(rule=low, inhibited_by__isnull=False).first()
    assert inhibited is not None
    listed = client.get("/alerts/").content.decode()
    assert "badge-inhibited" in listed and f"/alerts/{inhibited.inhibited_by.public_id}/" in listed
    detail = client.get(f"/alerts/{inhibited.public_id}/").content.decode()
    assert "Inhibited" in detail and "announced to no one" in detail
    rule_page = client.get(f"/alerts/rules/{quiet.public_id}/").content.decode()
    assert "keep firing for 45 min" in rule_page and "Inhibits: <a" in rule_page
    low_page = client.get(f"/alerts/rules/{low.public_id}/").content.decode()
    assert "Inhibited by: <a" in low_page
