"""The definition form: plain fields (choices for programs, tiers, partner types and staff users), turned
into the service's data; the service validates and names the offending field."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from openprm.core.actors import Actor
from openprm.reports.models import FORMATS, Kind, PeriodChoice, ReportDefinition, Schedule
from openprm.reports.services import FIELDS, FILTER_FIELDS

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"),
            (6, "Sunday")]  # fmt: skip


class DefinitionForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Kind.choices, label="Report")
    schedule = forms.ChoiceField(choices=Schedule.choices)
    weekday = forms.TypedChoiceField(coerce=int, choices=WEEKDAYS, initial=0, label="Weekday (weekly)")
    day = forms.IntegerField(min_value=1, max_value=28, initial=1, label="Day of month (monthly, quarterly)")
    hour = forms.TypedChoiceField(coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], initial=8)
    timezone = forms.ChoiceField(initial="UTC", label="Time zone")
    period = forms.ChoiceField(choices=PeriodChoice.choices, label="Covers")
    formats = forms.MultipleChoiceField(
        choices=[(f, f.upper()) for f in FORMATS], widget=forms.CheckboxSelectMultiple, initial=["pdf"]
    )
    staff_recipients = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Staff recipients"
    )
    partner_recipients = forms.BooleanField(
        required=False, label="Also send each partner its own report (its contacts and portal users)"
    )
    enabled = forms.BooleanField(required=False, initial=True)
    program = forms.ChoiceField(required=False)
    tier = forms.ChoiceField(required=False)
    type = forms.CharField(required=False, label="Partner type")
    region = forms.CharField(required=False)
    owner = forms.CharField(required=False, label='Owner (user id or "none")')
    tag = forms.CharField(required=False)

    def __init__(self, *args: Any, choices: dict[str, list[tuple[str, str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(z, z) for z in sorted(zoneinfo.available_timezones())]  # type: ignore[attr-defined]
        self.fields["staff_recipients"].choices = choices["staff"]  # type: ignore[attr-defined]
        self.fields["program"].choices = [("", "All programs"), *choices["programs"]]  # type: ignore[attr-defined]
        self.fields["tier"].choices = [("", "All tiers"), *choices["tiers"]]  # type: ignore[attr-defined]
        self.fields["type"].choices = [("", "All types"), *choices["types"]]  # type: ignore[attr-defined]
        self.fields["tag"].choices = [("", "Any tag"), *choices["tags"]]  # type: ignore[attr-defined]
        owners = [
            ("", "Any owner"),
            ("none", "No owner"),
            *[(k, v.split(" <")[0]) for k, v in choices["staff"]],
        ]
        self.fields["owner"].choices = owners  # type: ignore[attr-defined]

    def schedule_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("schedule", "weekday", "day", "hour", "timezone", "period")]

    def filter_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in FILTER_FIELDS]

    def to_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        out = {k: data[k] for k in FIELDS if k not in ("filters",)}
        out["filters"] = {k: data[k] for k in FILTER_FIELDS if data.get(k)}
        return out

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


def initial_of(definition: ReportDefinition) -> dict[str, Any]:
    return {**{k: getattr(definition, k) for k in FIELDS if k != "filters"}, **definition.filters}


def form_choices(actor: Actor) -> dict[str, list[tuple[str, str]]]:
    from openprm.accounts.selectors import staff_user_list
    from openprm.partners.selectors import reference_data
    from openprm.scorecards.selectors import program_choices, tier_choices

    reference = reference_data(actor=actor)
    return {
        "types": [(t.key, t.label) for t in reference["types"]],
        "tags": [(t.name, t.name) for t in reference["tags"]],
        "staff": [
            (str(u.public_id), f"{u.full_name or u.email} <{u.email}>") for u in staff_user_list(actor=actor)
        ],
        "programs": [(str(p.public_id), p.name) for p in program_choices(actor=actor)],
        "tiers": [(str(t.public_id), str(t)) for t in tier_choices(actor=actor)],
    }
