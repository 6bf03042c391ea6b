from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from openprm.core.permissions import PARTNER_ROLES, STAFF_ROLES, Role


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean_username(self) -> str:
        # E-mails are stored lower-cased: "Anna@Vendor.com" logs in (and is locked out) as anna@vendor.com.
        return str(self.cleaned_data["username"]).strip().lower()


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this token, e.g. 'CRM sync'.")
    expires_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Leave empty for a token that does not expire.",
    )
    read_only = forms.BooleanField(
        label="Read-only", required=False, help_text="The token may only read (GET requests)."
    )


class StaffMemberForm(forms.Form):
    """Change a staff user's role or switch their access off/on (the Users page, one row)."""

    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role if r in STAFF_ROLES], required=False)
    is_active = forms.TypedChoiceField(
        choices=[("1", "active"), ("0", "inactive")],
        coerce=lambda v: v == "1",
        required=False,
        empty_value=None,
    )


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
