"""Forms of the customers pages. They only shape input: the services validate (dates, amounts, the
channel of a CSAT answer, usage within what is available)."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.customers.models import ChangeKind, CustomerAccount

DATE = forms.DateInput(attrs={"type": "date"})


class AccountForm(forms.Form):
    partner = forms.ChoiceField(label="Managing partner")
    name = forms.CharField(max_length=200)
    external_id = forms.CharField(
        max_length=100,
        required=False,
        label="External id",
        help_text="Your id of the account; imports match on it",
    )
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. customer.example")
    started_on = forms.DateField(label="Customer since", widget=DATE)
    ended_on = forms.DateField(
        label="Churned on", required=False, widget=DATE, help_text="Empty while it is a customer"
    )
    arr = forms.CharField(max_length=40, required=False, label="ARR", help_text="Annual recurring revenue")
    mrr = forms.CharField(max_length=40, required=False, label="MRR", help_text="Monthly recurring revenue")
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Internal: partners never see it"
    )

    def __init__(self, *args: Any, partners: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "—"), *partners]  # type: ignore[attr-defined]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("partner")
        return data


def account_initial(account: CustomerAccount) -> dict[str, Any]:
    return {
        "partner": str(account.partner.public_id),
        "name": account.name,
        "external_id": account.external_id or "",
        "domain": account.domain,
        "started_on": account.started_on,
        "ended_on": account.ended_on,
        "arr": account.arr if account.arr is not None else "",
        "mrr": account.mrr if account.mrr is not None else "",
        "note": account.note,
    }


class ChangeForm(forms.Form):
    kind = forms.ChoiceField(choices=ChangeKind.choices)
    occurred_on = forms.DateField(label="On", widget=DATE)
    amount = forms.CharField(max_length=40, required=False, help_text="Renewed, added or lost value")


class CsatForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(5, 0, -1)], coerce=int, label="Score (1-5)"
    )
    answered_on = forms.DateField(label="Answered on", widget=DATE)


class UsageForm(forms.Form):
    month = forms.DateField(
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"), input_formats=["%Y-%m", "%Y-%m-%d"]
    )
    active_users = forms.IntegerField(min_value=0, initial=0, label="Active users")
    features_used = forms.IntegerField(min_value=0, initial=0, label="Features used")
    features_available = forms.IntegerField(min_value=0, initial=0, label="Features available")
