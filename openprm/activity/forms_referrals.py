"""Page forms for referral tracking: they parse browser input into service input."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.activity.services.referrals import LinkInput


class LinkForm(forms.Form):
    """A tracking link: where it leads and how the visit is labelled (UTM parameters)."""

    destination = forms.URLField(
        max_length=2000,
        label="Destination",
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://www.example.com/pricing"}),
    )
    code = forms.CharField(
        max_length=64, required=False, label="Code", help_text="Left empty: 8 generated characters"
    )
    campaign = forms.CharField(max_length=120, required=False)
    utm_source = forms.CharField(max_length=120, required=False, label="utm_source")
    utm_medium = forms.CharField(max_length=120, required=False, label="utm_medium")
    utm_campaign = forms.CharField(max_length=120, required=False, label="utm_campaign")

    def __init__(self, *args: Any, partners: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if partners is not None:
            self.fields = {
                "partner": forms.ChoiceField(choices=[("", "—"), *partners], label="Partner"),
                **self.fields,
            }

    def to_input(self) -> LinkInput:
        data = self.cleaned_data
        out: LinkInput = {
            "destination": data["destination"],
            "campaign": data["campaign"],
            "utm_source": data["utm_source"],
            "utm_medium": data["utm_medium"],
            "utm_campaign": data["utm_campaign"],
        }
        if data.get("code"):
            out["code"] = data["code"]
        return out
