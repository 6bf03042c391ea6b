"""The exchange-rate page's form: a rate entered by hand (text in; ``services.fx`` validates)."""

from __future__ import annotations

from django import forms


class FxRateForm(forms.Form):
    day = forms.CharField(max_length=10, widget=forms.TextInput(attrs={"type": "date"}))
    base = forms.CharField(
        max_length=3, initial="EUR", help_text="1 unit of this currency (ISO code, e.g. EUR)…"
    )
    quote = forms.CharField(max_length=3, help_text="…is worth the rate in this one (e.g. USD)")
    rate = forms.CharField(max_length=40, help_text="e.g. 1.0823 (up to 14 decimal places)")
    overwrite = forms.BooleanField(
        required=False, label="Replace the rate stored for this day and pair, if different"
    )
