"""The form of logging an interaction (a note, call, meeting or e-mail) on a partner's timeline."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.activity.services.interactions import DIRECTIONS, KINDS
from openprm.partners.models import Contact


class InteractionForm(forms.Form):
    """Log an interaction (a note, call, meeting or e-mail) on a partner's timeline."""

    kind = forms.ChoiceField(choices=KINDS, label="Type")
    direction = forms.ChoiceField(choices=DIRECTIONS, initial="outbound")
    occurred_at = forms.DateTimeField(
        label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=20000)
    # Scoped managers refuse to build querysets at import time; the real queryset is set per request.
    contact = forms.ModelChoiceField(queryset=Contact._base_manager.none(), required=False)

    def __init__(self, *args: Any, partner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(partner=partner)  # type: ignore[attr-defined]
