"""Page forms of the workspace's reference data: partner types and custom partner fields."""

from __future__ import annotations

from django import forms

from openprm.partners.forms.fields import split_list
from openprm.partners.models import CustomFieldDefinition


class PartnerTypeForm(forms.Form):
    key = forms.SlugField(max_length=40, help_text="e.g. marketplace")
    label = forms.CharField(max_length=80)


class CustomFieldForm(forms.Form):
    key = forms.SlugField(max_length=40, help_text="Column name in CSV files, e.g. crm_account_id")
    label = forms.CharField(max_length=80)
    field_type = forms.ChoiceField(choices=CustomFieldDefinition.FieldType.choices)
    choices = forms.CharField(max_length=2000, required=False, help_text="For choice fields: comma-separated")
    required = forms.BooleanField(required=False)

    def choice_list(self) -> list[str]:
        return split_list(self.cleaned_data.get("choices") or "")
