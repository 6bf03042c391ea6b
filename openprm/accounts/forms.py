from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from openprm.core.permissions import PARTNER_ROLES, STAFF_ROLES, Role


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this token, e.g. 'CRM sync'.")


class StaffUserForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r in STAFF_ROLES])
    owned_only = forms.BooleanField(required=False, label="Sees only the partners they own")


class PartnerUserForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r in PARTNER_ROLES])


def add_service_errors(form: forms.BaseForm, error: Exception) -> None:
    """Attach a service ValidationError to the form: per field where the field exists, else non-field."""
    from django.core.exceptions import ValidationError

    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, str(error))
