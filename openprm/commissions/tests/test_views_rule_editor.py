"""The structured rules editor of a draft version, through the pages: what the form shows posts back the
very same rules; a tiered rule built with the row buttons (no JavaScript) saves; errors name the rule and
the input; a rule only JSON can show is kept as written; published versions read as words; only finance
and admins get the editor, partner users a 404."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from openprm.commissions.forms.plans import EXAMPLE_RULES
from openprm.commissions.models import Plan, PlanVersion
from openprm.commissions.rules import parse_rules
from openprm.commissions.services import plans as plan_services
from openprm.commissions.tests.editor_html import form_values
from openprm.core.scoping import scope

pytestmark = pytest.mark.django_db

NESTED = {
    "key": "deep",
    "event": ["deal_won"],
    "conditions": {
        "all": [{"any": [{"all": [{"field": "amount", "op": "gt", "value": 5}]}]}],
    },
    "reward": {"type": "percent", "rate": 3},
}


def _draft(world: Any, rules: dict[str, Any]) -> PlanVersion:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Editor", currency="USD")
        return plan_services.version_create_draft(
            actor=world.system, plan=plan, rules=rules, effective_from=datetime.date(2026, 1, 1)
        )


def _stored(world: Any, version: PlanVersion) -> dict[str, Any]:
    with scope(world.system.access_scope()):
        return PlanVersion.objects.get(pk=version.pk).rules


def _url(version: PlanVersion) -> str:
    return f"/commissions/versions/{version.public_id}/"


def test_what_the_form_shows_saves_back_the_same_rules(world: Any, client_for: Any) -> None:
    rules = copy.deepcopy(EXAMPLE_RULES)
    rules["rules"][1]["conditions"] = {
        "any": [
            {"field": "amount", "op": "gt", "value": 10000},
            {
                "all": [
                    {"field": "partner.tier", "op": "in", "value": ["Gold", "Platinum"]},
                    {"field": "metadata.plan_code", "op": "eq", "value": "PRO"},
                ]
            },
        ]
    }
    rules["rules"][2]["event"] = ["recurring_payment", "purchase"]  # the order is kept
    rules["rules"][2]["caps"] = {"per_event": 1000, "per_period": 5000, "period": "quarter"}
    rules["rules"].append(NESTED)
    version = _draft(world, rules)
    client = client_for(world.finance)
    page = client.get(_url(version)).content.decode()
    assert 'id="rule-editor"' in page and 'id="json-editor"' in page
    assert "conditions nested more than one group deep" in page  # the 4th rule stays JSON
    values = form_values(page, "rule-editor")
    assert values["rule-0-tier-1-from"] == ["50000"] and values["rule-0-tier_mode"] == ["marginal"]
    answer = client.post(_url(version), values)
    assert answer.status_code == 302, form_values(answer.content.decode(), "rule-editor")
    stored = _stored(world, version)
    assert parse_rules(stored) == parse_rules(rules)
    assert stored["rules"][2]["event"] == ["recurring_payment", "purchase"]
    assert stored["rules"][3] == NESTED  # exactly as written


def test_a_tiered_rule_built_with_the_row_buttons_saves(world: Any, client_for: Any) -> None:
    version = _draft(world, {"rules": []})
    client = client_for(world.finance)
    values = form_values(client.get(_url(version)).content.decode(), "rule-editor")
    page = client.post(_url(version), {**values, "op": "add_rule"}).content.decode()
    values = form_values(page, "rule-editor")
    assert values["rule-0-key"] == ["rule-1"] and values["rule-0-event"] == ["deal_won"]
    values.update({"rule-0-reward": ["tiered"], "rule-0-tier-0-from": ["0"], "rule-0-tier-0-rate": ["10"]})
    values = form_values(
        client.post(_url(version), {**values, "op": "add_tier:0"}).content.decode(), "rule-editor"
    )
    assert values["rule-0-reward"] == ["tiered"] and values["rule-0-tier-0-rate"] == ["10"]
    values = form_values(
        client.post(_url(version), {**values, "op": "add_cond:0"}).content.decode(), "rule-editor"
    )
    values.update(
        {
            "rule-0-key": ["resale"],
            "rule-0-tier-1-from": ["50,000"],
            "rule-0-tier-1-rate": ["15"],
            "rule-0-tiered_period": ["quarter"],
            "rule-0-tier_mode": ["retroactive"],
            "rule-0-c-0-field": ["amount"],
            "rule-0-c-0-op": ["gte"],
            "rule-0-c-0-value": ["1000"],
        }
    )
    assert _stored(world, version) == {"rules": []}  # the row buttons saved nothing
    assert client.post(_url(version), values).status_code == 302
    assert _stored(world, version) == {
        "rules": [
            {
                "key": "resale",
                "event": ["deal_won"],
                "conditions": {"all": [{"field": "amount", "op": "gte", "value": 1000}]},
                "reward": {
                    "type": "tiered",
                    "period": "quarter",
                    "mode": "retroactive",
                    "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
                },
            }
        ]
    }
    words = client.get(_url(version)).content.decode()
    assert "15%" in words and "retroactive" in words.lower()


def test_errors_name_the_rule_and_the_input(world: Any, client_for: Any) -> None:
    rules = copy.deepcopy(EXAMPLE_RULES)
    version = _draft(world, rules)
    client = client_for(world.finance)
    values = form_values(client.get(_url(version)).content.decode(), "rule-editor")
    values.update(
        {
            "rule-0-tier-1-from": ["0"],
            "rule-1-amount": ["lots"],
            "rule-2-rate": ["120"],
            "rule-2-key": ["resale"],
        }
    )
    answer = client.post(_url(version), values)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Rule 1 (resale), tier 2, from: must be above 0 (where tier 1 starts)" in page
    assert "Rule 2 (big-deal-bounty), amount: &#x27;lots&#x27; is not a number" in page
    values["rule-1-amount"] = ["500"]
    page = client.post(_url(version), values).content.decode()
    assert "Rule 3 (resale), rate: Input should be less than or equal to 100" in page
    values.update({"rule-2-rate": ["20"], "rule-0-tier-1-from": ["50000"]})  # the rest is right now
    page = client.post(_url(version), values).content.decode()
    assert "Rule 3 (resale), key: another rule already uses this key" in page
    values.update({"rule-0-tier-1-from": ["40000"], "rule-2-rate": ["20"], "rule-2-key": ["saas"]})
    values["rule-0-tier-0-from"] = ["100"]
    page = client.post(_url(version), values).content.decode()
    assert "Rule 1 (resale), tier 1, from: the first tier starts from 0" in page
    assert 'aria-invalid="true"' in page
    assert parse_rules(_stored(world, version)) == parse_rules(EXAMPLE_RULES)  # nothing saved


def test_a_new_draft_through_the_form(world: Any, client_for: Any) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Fresh", currency="EUR")
    client = client_for(world.finance)
    url = f"/commissions/plans/{plan.public_id}/versions/new/"
    values = form_values(client.get(url).content.decode(), "rule-editor")
    assert values["rule-0-key"] == ["resale"]  # the worked example
    values["draft-note"] = ["From the form"]
    values["note"] = ["From the form"]
    assert client.post(url, values).status_code == 302
    with scope(world.system.access_scope()):
        version = PlanVersion.objects.get(plan=plan)
    assert version.note == "From the form"
    assert parse_rules(version.rules) == parse_rules(EXAMPLE_RULES)
    early = {**values, "effective_from": ["2020-01-01"]}
    with scope(world.system.access_scope()):
        plan_services.version_publish(actor=world.system, version=version)
    page = client.post(url, early).content.decode()
    assert "On or after" in page  # the date refused beside the form's own date field


def test_published_versions_read_as_words_without_an_editor(world: Any, client_for: Any) -> None:
    version = _draft(world, EXAMPLE_RULES)
    with scope(world.system.access_scope()):
        plan_services.version_publish(actor=world.system, version=version)
    client = client_for(world.finance)
    page = client.get(_url(version)).content.decode()
    assert 'id="rule-editor"' not in page
    assert "10% up to 50k a quarter" in page and "Rules as JSON" in page
    assert client.post(_url(version), {"action": "form", "rule-0-key": ["x"]}).status_code == 404


def test_only_planners_edit_and_partner_users_get_404(world: Any, client_for: Any) -> None:
    version = _draft(world, EXAMPLE_RULES)
    for user in (world.analyst, world.manager):
        page = client_for(user).get(_url(version)).content.decode()
        assert 'id="rule-editor"' not in page
        assert client_for(user).post(_url(version), {"action": "form", "op": "add_rule"}).status_code == 404
    for user in (world.a_admin, world.b_admin):
        assert client_for(user).get(_url(version)).status_code == 404
        assert client_for(user).post(_url(version), {"action": "form"}).status_code == 404
    with scope(world.system.access_scope()):
        assert Plan.objects.count() == 1
