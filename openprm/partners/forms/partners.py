"""Page forms of partners: they parse browser input into service input; the services do the validation
that matters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django_countries import countries

from openprm.accounts.models import User
from openprm.partners.forms.fields import DATE, split_list
from openprm.partners.models import CustomFieldDefinition, PartnerStatus, PartnerType, Program, Tier
from openprm.partners.services import PartnerInput


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
            "domains": split_list(data["domains"]),
            "website": data["website"],
            "owner_email": data["owner"] or None,
            "tags": split_list(data["tags"]),
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
