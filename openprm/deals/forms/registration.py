"""The registration form (the portal's register and edit pages): browser input parsed into the service's
``DealInput``; the service validates what matters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from openprm.deals.models import DealSource, Product
from openprm.deals.services import DealInput


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
    expected_close_date = forms.DateField(
        label="Expected close date", widget=forms.DateInput(attrs={"type": "date"})
    )
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
