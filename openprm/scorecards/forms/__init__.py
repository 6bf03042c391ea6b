"""Forms of the scorecards pages (the services validate metrics, periods, scopes and values)."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.metrics.kpis import FORMULAS
from openprm.scorecards.models import Grain
from openprm.scorecards.scoring import METHODS, metric_problem
from openprm.scorecards.tiers import label_of


def metric_choices(*, overall: bool = False) -> list[tuple[str, str]]:
    """The metrics a target, a scorecard or a tier criterion may name, by label."""
    keys = sorted((k for k in FORMULAS if not metric_problem(k)), key=lambda k: label_of(k).lower())
    choices = [(k, f"{label_of(k)} ({k})") for k in keys]
    return ([("overall_score", "Overall score (0-100)")] if overall else []) + choices


class TargetForm(forms.Form):
    metric = forms.ChoiceField(choices=())
    period = forms.CharField(max_length=8, help_text="YYYY-MM, YYYY-Qn or YYYY")
    scope = forms.ChoiceField(
        choices=[("partner", "A partner"), ("tier", "A tier"), ("program", "A program")]
    )
    partner = forms.ChoiceField(choices=(), required=False)
    tier = forms.ChoiceField(choices=(), required=False)
    program = forms.ChoiceField(choices=(), required=False)
    value = forms.CharField(max_length=30, help_text="For a ratio: 0.25 is 25%")
    owner = forms.ChoiceField(choices=(), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Staff only")

    def __init__(
        self, *args: Any, partners: Any, tiers: Any, programs: Any, owners: Any, editing: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = metric_choices()  # type: ignore[attr-defined]
        self.fields["partner"].choices = [("", "—")] + [(str(p.public_id), p.name) for p in partners]  # type: ignore[attr-defined]
        tier_choices = [(str(t.public_id), f"{t.program} · {t.name}") for t in tiers]
        self.fields["tier"].choices = [("", "—"), *tier_choices]  # type: ignore[attr-defined]
        self.fields["program"].choices = [("", "—")] + [(str(p.public_id), p.name) for p in programs]  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "Nobody")] + [(str(u.public_id), str(u)) for u in owners]  # type: ignore[attr-defined]
        if editing:
            for name in ("metric", "period", "scope", "partner", "tier", "program"):
                self.fields[name].disabled = True
                self.fields[name].required = False


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV, UTF-8: metric,period,partner_external_id,tier,program,value,owner_email,notes"
    )
    dry_run = forms.BooleanField(required=False, label="Check only (write nothing)")


class CriterionForm(forms.Form):
    tier = forms.ChoiceField(choices=())
    metric = forms.ChoiceField(choices=())
    minimum = forms.CharField(max_length=30, help_text="At most, for a lower-is-better metric")
    grain = forms.ChoiceField(choices=Grain.choices, initial=Grain.YEAR, label="Per")

    def __init__(self, *args: Any, tiers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [(str(t.public_id), f"{t.program} · {t.name}") for t in tiers]  # type: ignore[attr-defined]
        self.fields["metric"].choices = metric_choices(overall=True)  # type: ignore[attr-defined]


METHOD_CHOICES = [
    (m, {"auto": "Target, else peers", "target": "Target", "percentile": "Peer percentile"}[m])
    for m in METHODS
]
