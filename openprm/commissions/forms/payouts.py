"""Forms of the payout pages and the payout details form (the portal's page uses it too): text in, the
services validate (one set of rules for pages and API)."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.commissions.models import PayoutDetails

DATE_ATTRS = {"type": "date"}


class RunForm(forms.Form):
    currency = forms.CharField(max_length=3, help_text="ISO code: the run pays the entries in this currency")
    cutoff = forms.DateField(
        widget=forms.DateInput(attrs=DATE_ATTRS),
        help_text="Approved entries that occurred on or before this day",
    )


class MarkPaidForm(forms.Form):
    reference = forms.CharField(max_length=200, help_text="The bank / PayPal / Wise batch reference")
    error = forms.CharField(
        max_length=300,
        required=False,
        label="Why the ticked payments failed",
        help_text="Only when some failed",
    )


class FailForm(forms.Form):
    error = forms.CharField(
        max_length=2000, label="Why the provider refused the file", widget=forms.Textarea(attrs={"rows": 2})
    )


class AbandonForm(forms.Form):
    item = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=300,
        label="Why give up this payment",
        help_text="Kept on the payment and in the audit trail; the amount is carried forward",
        error_messages={"required": "Say why the payment is abandoned."},
    )


class GenerateForm(forms.Form):
    month = forms.DateField(
        widget=forms.DateInput(attrs=DATE_ATTRS), help_text="Any day of the month; every partner with lines"
    )


class DetailsForm(forms.Form):
    """Every field is entered again on each save: the stored sensitive values are never sent back."""

    method = forms.ChoiceField(choices=PayoutDetails.Method.choices)
    currency = forms.CharField(
        max_length=3, help_text="The currency the partner wants to be paid in (ISO code)"
    )
    holder_name = forms.CharField(max_length=200, required=False, label="Account holder")
    iban = forms.CharField(max_length=42, required=False, label="IBAN")
    bic = forms.CharField(max_length=11, required=False, label="BIC / SWIFT")
    account_number = forms.CharField(
        max_length=34, required=False, help_text="Only when the account has no IBAN"
    )
    routing_number = forms.CharField(max_length=20, required=False)
    email = forms.EmailField(max_length=254, required=False, label="PayPal / Wise e-mail")
    tax_id = forms.CharField(max_length=60, required=False, label="Tax / VAT id")
    self_billing = forms.BooleanField(required=False, label="Statements as self-billing invoices")
    min_payout = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        min_value=0,
        label="Own minimum payout",
        help_text="Empty: the plan's minimum",
    )

    def __init__(self, *args: Any, staff: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("iban", "account_number", "email", "tax_id"):
            self.fields[name].widget.attrs["autocomplete"] = "off"
        if not staff:
            del self.fields["min_payout"]
