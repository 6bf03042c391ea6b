"""Forms of the ledger pages: bulk approve / reject (with a reason), a manual adjustment and the "why
nothing" lookup."""

from __future__ import annotations

from decimal import Decimal
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


class AdjustmentForm(forms.Form):
    """A manual adjustment: the partner and plan are chosen by public id (the selector checks them)."""

    partner = forms.ChoiceField(choices=[])
    plan = forms.ChoiceField(choices=[], help_text="The entry is in the plan's currency, held as it says")
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Positive adds to what the partner earns, negative deducts (e.g. -150.00)",
    )
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept on the entry; the partner reads it",
        error_messages={"required": "Say why: the reason stays on the entry."},
    )
    occurred_on = forms.DateField(
        required=False,
        label="Belongs to the day",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Its period; empty: today",
    )

    def __init__(self, *args: Any, partners: list[Any], plans: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "—"), *((str(p.public_id), p.name) for p in partners)]  # type: ignore[attr-defined]
        self.fields["plan"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((str(p.public_id), f"{p.name} ({p.currency})") for p in plans),
        ]

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if not amount:
            raise forms.ValidationError("Not zero: an adjustment adds or deducts something.")
        return amount

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).replace("\x00", "").strip()
        if not reason:
            raise forms.ValidationError("Say why: the reason stays on the entry.")
        return reason
