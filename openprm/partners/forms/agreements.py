"""Page form of a partner's agreement."""

from __future__ import annotations

from django import forms

from openprm.partners.forms.fields import DATE
from openprm.partners.models import Agreement, AgreementStatus


class AgreementForm(forms.ModelForm):
    status = forms.ChoiceField(choices=AgreementStatus.choices)

    class Meta:
        model = Agreement
        fields = [
            "title",
            "kind",
            "status",
            "start_date",
            "end_date",
            "auto_renew",
            "renewal_notice_days",
            "terms_summary",
            "file",
        ]
        widgets = {"start_date": DATE, "end_date": DATE}
