"""Page forms: they parse browser input into service input; the services do the validation that matters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django_countries import countries

from openprm.accounts.models import User
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    CustomFieldDefinition,
    PartnerStatus,
    PartnerType,
    Program,
    Tier,
)
from openprm.partners.services import PartnerInput

DATE = forms.DateInput(attrs={"type": "date"})


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


class PartnerForm(forms.Form):
    name = forms.CharField(max_length=200)
    legal_name = forms.CharField(max_length=200, required=False)
    type = forms.ChoiceField()
    status = forms.ChoiceField(choices=PartnerStatus.choices)
    external_id = forms.CharField(max_length=100, required=False, label="External id")
    country = forms.ChoiceField(required=False)
    region = forms.CharField(max_length=60, required=False)
    domains = forms.CharField(
        max_length=2000, required=False, help_text="Comma-separated, e.g. acme.com, acme.de"
    )
    website = forms.CharField(max_length=300, required=False)
    owner = forms.ChoiceField(required=False, label="Owner (partner manager)")
    tags = forms.CharField(max_length=2000, required=False, help_text="Comma-separated")
    start_date = forms.DateField(required=False, widget=DATE)
    notes = forms.CharField(required=False, widget=forms.Textarea, max_length=20000)

    def __init__(
        self,
        *args: Any,
        types: list[PartnerType],
        owners: list[User],
        programs: list[Program],
        tiers: list[Tier],
        custom_fields: list[CustomFieldDefinition],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(t.key, t.label) for t in types]  # type: ignore[attr-defined]
        self.fields["country"].choices = [("", "—"), *list(countries)]  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "— nobody —")] + [  # type: ignore[attr-defined]
            (u.email, u.display_name) for u in owners
        ]
        self.programs = programs
        for program in programs:
            choices = [("", "— not enrolled —"), ("-", "Enrolled, no tier")] + [
                (t.name, t.name) for t in tiers if t.program_id == program.pk
            ]
            self.fields[f"tier_{program.pk}"] = forms.ChoiceField(
                choices=choices, required=False, label=f"Tier in {program.name}"
            )
        self.custom_definitions = custom_fields
        for definition in custom_fields:
            field: forms.Field
            kind = definition.field_type
            if kind == CustomFieldDefinition.FieldType.BOOLEAN:
                field = forms.BooleanField(required=False)
            elif kind == CustomFieldDefinition.FieldType.DATE:
                field = forms.DateField(required=definition.required, widget=DATE)
            elif kind == CustomFieldDefinition.FieldType.NUMBER:
                field = forms.DecimalField(required=definition.required)
            elif kind == CustomFieldDefinition.FieldType.CHOICE:
                field = forms.ChoiceField(
                    required=definition.required, choices=[("", "—")] + [(c, c) for c in definition.choices]
                )
            else:
                field = forms.CharField(required=definition.required, max_length=1000)
            field.label = definition.label
            self.fields[f"cf_{definition.key}"] = field

    def to_input(self) -> PartnerInput:
        data = self.cleaned_data
        tiers: dict[str, str | None] = {}
        for program in self.programs:
            value = data.get(f"tier_{program.pk}")
            if value:
                tiers[program.name] = None if value == "-" else value
        custom: dict[str, Any] = {}
        for definition in self.custom_definitions:
            value = data.get(f"cf_{definition.key}")
            if value is not None and value != "":
                custom[definition.key] = value.isoformat() if hasattr(value, "isoformat") else value
        return {
            "name": data["name"],
            "legal_name": data["legal_name"],
            "type": data["type"],
            "status": data["status"],
            "external_id": data["external_id"] or None,
            "country": data["country"],
            "region": data["region"],
            "domains": _split(data["domains"]),
            "website": data["website"],
            "owner_email": data["owner"] or None,
            "tags": _split(data["tags"]),
            "start_date": data["start_date"],
            "notes": data["notes"],
            "tiers": tiers,
            "custom_fields": custom,
        }

    def add_service_error(self, error: ValidationError) -> None:
        """Show each service error next to the field it names."""
        aliases = {"owner_email": "owner", "program": None}
        for key, messages in error.message_dict.items():
            target: str | None = aliases.get(key, key)
            if key == "tier":
                target = next((f for f in self.fields if f.startswith("tier_")), None)
            elif key.startswith("custom_fields."):
                target = "cf_" + key.split(".", 1)[1]
            self.add_error(target if target in self.fields else None, messages)


def partner_initial(partner: Any) -> dict[str, Any]:
    initial = {
        "name": partner.name,
        "legal_name": partner.legal_name,
        "type": partner.type.key,
        "status": partner.status,
        "external_id": partner.external_id or "",
        "country": partner.country.code if partner.country else "",
        "region": partner.region,
        "domains": ", ".join(partner.domains),
        "website": partner.website,
        "owner": partner.owner.email if partner.owner_id else "",
        "tags": ", ".join(t.name for t in partner.tags.all()),
        "start_date": partner.start_date,
        "notes": partner.notes,
    }
    for enrolment in partner.enrolments.all():
        initial[f"tier_{enrolment.program_id}"] = enrolment.tier.name if enrolment.tier else "-"
    for key, value in (partner.custom_fields or {}).items():
        initial[f"cf_{key}"] = value
    return initial


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "title", "role", "is_primary"]


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


class TierChangeForm(forms.Form):
    program = forms.CharField(max_length=120)
    tier = forms.CharField(max_length=60, required=False)


class BulkForm(forms.Form):
    ACTIONS = [("owner", "Assign owner"), ("tag", "Add tag"), ("tier", "Change tier")]
    action = forms.ChoiceField(choices=ACTIONS)
    partners = forms.CharField(widget=forms.MultipleHiddenInput, required=False)
    owner = forms.CharField(max_length=254, required=False)
    tag = forms.CharField(max_length=60, required=False)
    tier = forms.CharField(max_length=200, required=False, help_text="program::tier")


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80)
    query = forms.CharField(max_length=2000, required=False)


class InviteForm(forms.Form):
    role = forms.ChoiceField(
        choices=[
            ("partner_rep", "Partner rep"),
            ("partner_manager", "Partner manager"),
            ("partner_admin", "Partner admin"),
        ]
    )


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
        return _split(self.cleaned_data.get("choices") or "")


class ProgramForm(forms.Form):
    """A program's name and settings; the service checks the bounds and the unique name."""

    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False)
    is_default = forms.BooleanField(
        required=False, label="Default program", help_text="New partners are enrolled in it"
    )
    approval_sla_days = forms.IntegerField(
        label="Approval SLA (business days)", help_text="Registrations should be decided within it (1–90)"
    )
    protection_days = forms.IntegerField(
        label="Registration protection (days)",
        help_text="An approved registration stays protected this long (1–1095)",
    )
    attribution_model = forms.ChoiceField(
        choices=Program._meta.get_field("attribution_model").choices,  # type: ignore[arg-type]
        help_text="Which of a customer's clicks earns a conversion",
    )
    attribution_window_days = forms.IntegerField(
        label="Attribution window (days)", help_text="Conversions within it count for a click (1–365)"
    )
    active_window_days = forms.IntegerField(
        label="Active window (days)",
        help_text="A partner is active with a qualifying activity within it (1–730)",
    )

    @staticmethod
    def initial_of(program: Program | None) -> dict[str, Any]:
        if program is None:
            return {
                "approval_sla_days": 2,
                "protection_days": 90,
                "attribution_model": "last_click",
                "attribution_window_days": 30,
                "active_window_days": 90,
            }
        return {name: getattr(program, name) for name in ProgramForm.base_fields}


class TierForm(forms.Form):
    name = forms.CharField(max_length=60, label="Tier name")
