"""Forms of the ledger pages: bulk approve / reject (with a reason) and the "why nothing" lookup."""

from __future__ import annotations

from typing import Any

from django import forms


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    ids = forms.MultipleChoiceField(required=True, error_messages={"required": "Tick the entries first."})
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the selector keeps those the actor may see.
        self.fields["ids"].valid_value = lambda value: True  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why: the reason stays on each entry.")
        if len(data.get("ids") or []) > 5000:
            self.add_error("ids", "At most 5,000 entries at once.")
        return data


class WhyForm(forms.Form):
    source = forms.ChoiceField(choices=[("deal", "Deal"), ("conversion", "Conversion")])
    id = forms.UUIDField(label="Its id", help_text="The deal's or conversion's id (from its page or the API)")
