"""Page forms for deals: they parse browser input into service input; the services validate what matters."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms

from openprm.deals.models import DealSource, PipelineStage, Product
from openprm.deals.services import DealInput

DATE = forms.DateInput(attrs={"type": "date"})


class RegistrationForm(forms.Form):
    """The partner's registration form: four required fields, the rest optional (under two minutes)."""

    customer_name = forms.CharField(
        max_length=200,
        label="Customer company",
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "customer-suggestions"}),
    )
    customer_domain = forms.CharField(
        max_length=253,
        label="Customer website / domain",
        widget=forms.TextInput(attrs={"placeholder": "acme.com", "inputmode": "url"}),
    )
    amount = forms.DecimalField(
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        label="Deal value",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": "0"}),
    )
    expected_close_date = forms.DateField(label="Expected close date", widget=DATE)
    contact_name = forms.CharField(max_length=200, required=False, label="Customer contact name")
    contact_email = forms.EmailField(max_length=254, required=False, label="Customer contact e-mail")
    product = forms.ChoiceField(required=False, label="Product")
    source = forms.ChoiceField(
        choices=DealSource.choices,
        initial=DealSource.SOURCED,
        required=False,
        label="Your role",
        help_text="Sourced: you found the opportunity. Influenced: you help close it.",
    )
    description = forms.CharField(
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Notes for the partner manager",
    )

    def __init__(self, *args: Any, products: list[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (p.name, p.name) for p in products
        ]

    def to_input(self) -> DealInput:
        data = self.cleaned_data
        result: DealInput = {
            "customer_name": data["customer_name"],
            "customer_domain": data["customer_domain"],
            "amount": data["amount"],
            "expected_close_date": data["expected_close_date"],
            "contact_name": data["contact_name"],
            "contact_email": data["contact_email"],
            "source": data["source"] or DealSource.SOURCED,
            "description": data["description"],
        }
        if data.get("product"):
            result["line_items"] = [{"product": data["product"], "quantity": 1, "unit_price": data["amount"]}]
        elif "product" in self.changed_data:
            result["line_items"] = []
        return result


def registration_initial(deal: Any) -> dict[str, Any]:
    lines = list(deal.line_items.all())
    return {
        "customer_name": deal.customer_name,
        "customer_domain": deal.customer_domain,
        "amount": deal.amount,
        "expected_close_date": deal.expected_close_date,
        "contact_name": deal.contact_name,
        "contact_email": deal.contact_email,
        "product": lines[0].product_name if lines else "",
        "source": deal.source,
        "description": deal.description,
    }


class DecisionNoteForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, label="Note to the partner (optional)")


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label="Reason (sent to the partner)",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the partner a reason for the rejection."},
    )


class InfoRequestForm(forms.Form):
    message = forms.CharField(
        max_length=2000,
        label="What do you need to know?",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what information you need."},
    )


class StageForm(forms.Form):
    stage = forms.ChoiceField(label="Stage")
    lost_reason = forms.CharField(max_length=300, required=False, label="Lost reason")

    def __init__(self, *args: Any, stages: list[PipelineStage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s.key, s.name) for s in stages]  # type: ignore[attr-defined]
        self.lost_keys = {s.key for s in stages if s.outcome == "lost"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("stage") in self.lost_keys and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", "Say why the deal was lost.")
        return data


RESOLUTION_CHOICES = [
    ("approve_this", "Approve this & reject the other"),
    ("approve_other", "Approve the other & reject this"),
    ("co_sell", "Mark co-sell"),
    ("dismiss", "Not a conflict"),
]


class ConflictResolveForm(forms.Form):
    """Resolutions are relative to the deal whose page the form is on (``this``)."""

    resolution = forms.ChoiceField(choices=RESOLUTION_CHOICES)
    reason = forms.CharField(max_length=2000, required=False, label="Reason (sent to the rejected partner)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("resolution") in ("approve_this", "approve_other")
            and not (data.get("reason") or "").strip()
        ):
            self.add_error("reason", "Give the rejected partner a reason.")
        return data


def close_month_choices(today: datetime.date, months: int = 12) -> list[tuple[str, str]]:
    """This month, the previous three and the next ``months`` as (YYYY-MM, label)."""
    out = []
    year, month = today.year, today.month - 3
    while month < 1:
        year, month = year - 1, month + 12
    for _ in range(months + 4):
        value = f"{year:04d}-{month:02d}"
        out.append((value, datetime.date(year, month, 1).strftime("%b %Y")))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out
