"""The finance pages' forms: text in, the finance services validate (one set of rules for pages, API and
imports). A partner is named by its external id or name, as in the CSV files."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.finance.models import CostCategory

PARTNER_HELP = "The partner's external id or name."
MONTH_HELP = "YYYY-MM"
DATE_ATTRS = {"type": "date"}


class CostForm(forms.Form):
    partner = forms.CharField(max_length=200, help_text=PARTNER_HELP)
    period = forms.CharField(
        max_length=10, label="Month", help_text=MONTH_HELP, widget=forms.TextInput(attrs={"type": "month"})
    )
    category = forms.ChoiceField(choices=CostCategory.choices)
    amount = forms.CharField(max_length=40, help_text="In the workspace currency, e.g. 1250.00")
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class InvoiceForm(forms.Form):
    partner = forms.CharField(max_length=200, help_text=PARTNER_HELP)
    number = forms.CharField(max_length=60)
    issued_on = forms.CharField(max_length=10, label="Issued on", widget=forms.TextInput(attrs=DATE_ATTRS))
    due_on = forms.CharField(max_length=10, label="Due on", widget=forms.TextInput(attrs=DATE_ATTRS))
    amount = forms.CharField(max_length=40)
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code; empty: the workspace's")
    paid_on = forms.CharField(
        max_length=10,
        required=False,
        label="Paid on",
        help_text="Empty: not paid",
        widget=forms.TextInput(attrs=DATE_ATTRS),
    )
    disputed = forms.BooleanField(required=False)
    corrected = forms.BooleanField(required=False)
    note = forms.CharField(
        max_length=2000,
        required=False,
        help_text="Internal: partners never see it",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SellThroughForm(forms.Form):
    partner = forms.CharField(max_length=200, label="Distributor", help_text=PARTNER_HELP)
    period = forms.CharField(
        max_length=10, label="Month", help_text=MONTH_HELP, widget=forms.TextInput(attrs={"type": "month"})
    )
    sku = forms.CharField(max_length=60, label="SKU")
    region = forms.CharField(max_length=60, required=False)
    units_sold = forms.CharField(max_length=12, required=False, label="Units sold")
    units_on_hand = forms.CharField(
        max_length=12, required=False, label="Units on hand", help_text="At the month's end"
    )
    unit_price = forms.CharField(max_length=40, label="Price charged")
    list_price = forms.CharField(max_length=40, label="List price")


class CompanyRevenueForm(forms.Form):
    period = forms.CharField(
        max_length=10, label="Month", help_text=MONTH_HELP, widget=forms.TextInput(attrs={"type": "month"})
    )
    amount = forms.CharField(max_length=40, help_text="All channels, in the workspace currency")
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


FORMS: dict[str, type[forms.Form]] = {
    "costs": CostForm,
    "invoices": InvoiceForm,
    "sellthrough": SellThroughForm,
    "company-revenue": CompanyRevenueForm,
}


def record_initial(record: Any) -> dict[str, Any]:
    """The form's values for editing ``record`` (a month as YYYY-MM, a partner by external id or name)."""
    initial: dict[str, Any] = {}
    for field in record._meta.concrete_fields:
        value = getattr(record, field.attname)
        if field.name == "partner":
            partner = record.partner
            initial["partner"] = partner.external_id or partner.name
        elif field.name == "period":
            initial["period"] = f"{value:%Y-%m}"
        elif value is not None:
            initial[field.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return initial
