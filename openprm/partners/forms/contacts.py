"""Page forms of a partner's contacts (the portal uses ContactForm too)."""

from __future__ import annotations

from django import forms

from openprm.partners.models import Contact


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "title", "role", "is_primary"]


class InviteForm(forms.Form):
    role = forms.ChoiceField(
        choices=[
            ("partner_rep", "Partner rep"),
            ("partner_manager", "Partner manager"),
            ("partner_admin", "Partner admin"),
        ]
    )
