from __future__ import annotations

from typing import Any

from django import forms

from openprm.notifications.models import Preference, Severity, WebhookEndpoint


class PreferenceForm(forms.Form):
    severities = forms.MultipleChoiceField(
        choices=Severity.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Severities sent by e-mail",
        help_text="Every notification is listed here in the app whatever you choose.",
    )
    email = forms.BooleanField(label="Send me e-mails", required=False)
    mode = forms.ChoiceField(
        choices=Preference.Mode.choices, widget=forms.RadioSelect, label="When", initial="immediate"
    )


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="http:// or https://; private and loopback addresses are refused unless "
        "PRM_WEBHOOK_ALLOW_PRIVATE is set.",
    )
    kind = forms.ChoiceField(choices=WebhookEndpoint.Kind.choices)
    enabled = forms.BooleanField(required=False, initial=True)
    severities = forms.MultipleChoiceField(
        choices=Severity.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every severity.",
    )
    kinds = forms.CharField(
        required=False,
        max_length=1000,
        label="Kinds",
        help_text="Comma-separated, e.g. deal, alert.firing (a prefix matches its sub-kinds); empty: all.",
    )

    def clean_kinds(self) -> list[str]:
        return [k.strip() for k in str(self.cleaned_data.get("kinds") or "").split(",") if k.strip()][:50]

    @classmethod
    def initial_of(cls, endpoint: WebhookEndpoint) -> dict[str, Any]:
        return {
            "name": endpoint.name,
            "url": endpoint.url,
            "kind": endpoint.kind,
            "enabled": endpoint.enabled,
            "severities": endpoint.severities,
            "kinds": ", ".join(endpoint.kinds),
        }
