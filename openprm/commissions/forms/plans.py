"""Forms of the plan pages: a plan, a draft version (the structured editor's date and note — its rules
are ``rule_editor``'s — or the rules as JSON, with a worked example; errors name the JSON path),
publishing with an effective date (confirmed), an assignment, the what-if's months."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from django import forms

from openprm.commissions.models import Plan, PlanAssignment, Selection
from openprm.commissions.rules import RulesError
from openprm.commissions.services.plans import check_rules

EXAMPLE_RULES: dict[str, Any] = {
    "rules": [
        {
            "key": "resale",
            "label": "10% up to 50k a quarter, then 15% (marginal)",
            "priority": 10,
            "event": ["deal_won"],
            "reward": {
                "type": "tiered",
                "period": "quarter",
                "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}],
            },
        },
        {
            "key": "big-deal-bounty",
            "label": "500 per won deal over 10k",
            "event": ["deal_won"],
            "conditions": {"all": [{"field": "amount", "op": "gt", "value": 10000}]},
            "reward": {"type": "flat", "amount": 500},
            "bonus": True,
        },
        {
            "key": "saas",
            "label": "20% of every payment for 12 months",
            "event": ["purchase", "recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
            "recurring": {"months": 12},
            "caps": {"per_event": 1000},
        },
    ],
    "overrides": {"levels": [5]},
}
EXAMPLE_JSON = json.dumps(EXAMPLE_RULES, indent=2)


class JsonProblem(ValueError):
    """Rules text that does not read as JSON, said for a person (no line when the reader gives none)."""


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            shown = key if len(key) <= 40 else key[:40] + "…"
            raise JsonProblem(f'"{shown}" is given twice in one object (only one would be kept)')
        found[key] = value
    return found


def read_json(text: str) -> Any:
    """The JSON value of rules text; ``JsonProblem`` says what is wrong: not JSON (with the line and
    column), a key given twice in one object, nesting too deep to read, a number too long to read."""
    try:
        return json.loads(text, object_pairs_hook=_each_key_once)
    except JsonProblem:
        raise
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise JsonProblem("not valid JSON: nested too deeply to read") from None
    except ValueError:  # an integer beyond the interpreter's digit limit
        raise JsonProblem("not valid JSON: a number has too many digits to read") from None


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


class PlanForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    program = forms.ChoiceField(required=False, help_text="The program the plan is for (optional)")
    currency = forms.CharField(
        min_length=3,
        max_length=3,
        initial="USD",
        help_text="ISO 4217: every commission of the plan is paid in it",
    )
    hold_days = forms.IntegerField(
        min_value=0,
        max_value=365,
        initial=30,
        help_text="Days an entry stays pending (cover the refund window)",
    )
    min_payout = forms.DecimalField(
        label="Minimum payout", min_value=Decimal(0), max_digits=14, decimal_places=2, initial=Decimal(0)
    )
    selection = forms.ChoiceField(
        label="When several rules match one event",
        choices=Selection.choices,
        initial=Selection.HIGHEST,
        help_text="Bonus rules always add on top. By priority: the rule with the lowest priority number "
        "(each rule's Priority in the rules editor)",
    )

    def __init__(self, *args: Any, programs: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["program"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "— any program —")] + [(str(p.public_id), p.name) for p in programs]

    def clean_currency(self) -> str:
        value = str(self.cleaned_data["currency"]).strip().upper()
        if not (len(value) == 3 and value.isalpha()):
            raise forms.ValidationError("Three letters, e.g. USD or EUR.")
        return value

    @staticmethod
    def initial_of(plan: Plan) -> dict[str, Any]:
        return {
            "name": plan.name,
            "description": plan.description,
            "program": str(plan.program.public_id) if plan.program else "",
            "currency": plan.currency,
            "hold_days": plan.hold_days,
            "min_payout": plan.min_payout,
            "selection": plan.selection,
        }


class VersionForm(forms.Form):
    rules = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "class": "code"}),
        help_text="The rules as JSON: see the worked example beside.",
    )
    effective_from = forms.DateField(widget=_date_input(), help_text="In force from this day once published")
    note = forms.CharField(max_length=300, required=False, help_text="What changed, for the history")

    def clean_rules(self) -> dict[str, Any]:
        text = self.cleaned_data["rules"]
        try:
            data = read_json(text)
        except JsonProblem as exc:
            raise forms.ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        try:
            check_rules(data)
        except RulesError as exc:
            raise forms.ValidationError([f"{e['path']}: {e['message']}" for e in exc.errors]) from None
        return data


class DraftForm(forms.Form):
    """The structured editor's own fields beside the rules (the rules come from ``rule_editor``)."""

    effective_from = forms.DateField(widget=_date_input(), help_text="In force from this day once published")
    note = forms.CharField(max_length=300, required=False, help_text="What changed, for the history")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "draft_%s")  # the JSON editor on the same page uses id_*
        super().__init__(*args, **kwargs)


class PublishForm(forms.Form):
    effective_from = forms.DateField(
        widget=_date_input(), help_text="Events on or after this day use this version"
    )
    confirm = forms.BooleanField(
        label="I understand a published version never changes",
        help_text="Later changes are a new version; nothing earned under earlier versions changes.",
    )


class AssignmentForm(forms.Form):
    target = forms.ChoiceField(
        label="Applies to", help_text="A partner, a partner group (tag), a tier or a program"
    )
    starts_on = forms.DateField(widget=_date_input())
    ends_on = forms.DateField(widget=_date_input(), required=False)

    def __init__(
        self, *args: Any, reference: dict[str, list[Any]], partners: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["target"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("Partner", [(f"partner:{p.public_id}", p.name) for p in partners]),
            ("Partner group (tag)", [(f"tag:{t.public_id}", t.name) for t in reference["tags"]]),
            ("Tier", [(f"tier:{t.public_id}", f"{t.program.name} · {t.name}") for t in reference["tiers"]]),
            ("Program", [(f"program:{p.public_id}", p.name) for p in reference["programs"]]),
        ]
        self.fields["starts_on"].initial = datetime.date.today()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "Ends before it starts.")
        target = data.get("target") or ""
        level, _, public_id = target.partition(":")
        if level not in PlanAssignment.PRECEDENCE:
            self.add_error("target", "Choose what the plan applies to.")
        data["level"], data["target_id"] = level, public_id
        return data


class WhatIfForm(forms.Form):
    months = forms.IntegerField(
        min_value=1, max_value=24, initial=6, help_text="The last N whole months (1–24)"
    )
