"""Page forms of programs and their tiers."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.partners.models import Program


class ProgramForm(forms.Form):
    """A program's name and settings; the service checks the bounds and the unique name."""

    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False)
    is_default = forms.BooleanField(
        required=False, label="Default program", help_text="New partners are enrolled in it"
    )
    approval_sla_days = forms.IntegerField(
        label="Approval SLA (business days)", help_text="Registrations should be decided within it (1–90)"
    )
    protection_days = forms.IntegerField(
        label="Registration protection (days)",
        help_text="An approved registration stays protected this long (1–1095)",
    )
    attribution_model = forms.ChoiceField(
        choices=Program._meta.get_field("attribution_model").choices,  # type: ignore[arg-type]
        help_text="Which of a customer's clicks earns a conversion",
    )
    attribution_window_days = forms.IntegerField(
        label="Attribution window (days)", help_text="Conversions within it count for a click (1–365)"
    )
    active_window_days = forms.IntegerField(
        label="Active window (days)",
        help_text="A partner is active with a qualifying activity within it (1–730)",
    )

    @staticmethod
    def initial_of(program: Program | None) -> dict[str, Any]:
        if program is None:
            return {
                "approval_sla_days": 2,
                "protection_days": 90,
                "attribution_model": "last_click",
                "attribution_window_days": 30,
                "active_window_days": 90,
            }
        return {name: getattr(program, name) for name in ProgramForm.base_fields}


class TierForm(forms.Form):
    name = forms.CharField(max_length=60, label="Tier name")
