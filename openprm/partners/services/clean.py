"""Validation of partner input, shared by every way a partner is written (pages, API, CSV imports, the bulk
service): ``partner_clean`` turns caller input into model-ready values or one ``ValidationError`` naming
every bad field, against the workspace's reference data loaded once (``PartnerLookups``)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django_countries import countries

from openprm.accounts.models import Membership
from openprm.core.actors import Actor
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.partners.models import (
    CustomFieldDefinition,
    PartnerStatus,
    PartnerType,
    Program,
    Tier,
)

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_TAGS = 50


class PartnerInput(TypedDict, total=False):
    """Fields a caller may set on a partner. Absent keys are left unchanged on update."""

    external_id: str | None
    name: str
    legal_name: str
    type: str  # PartnerType key
    status: str
    country: str
    region: str
    domains: list[str]
    website: str
    owner_email: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    start_date: datetime.date | None
    notes: str
    tiers: dict[str, str | None]  # program name → tier name (None: enrolled without a tier)


@dataclass
class PartnerLookups:
    """Per-workspace reference data, loaded once per import or request."""

    workspace_id: int
    types: dict[str, PartnerType] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)
    tiers: dict[tuple[int, str], Tier] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)
    custom_fields: dict[str, CustomFieldDefinition] = field(default_factory=dict)

    @classmethod
    def load(cls, actor: Actor) -> PartnerLookups:
        lookups = cls(workspace_id=actor.workspace_id)
        lookups.types = {t.key: t for t in PartnerType.objects.all()}
        lookups.programs = {p.name.lower(): p for p in Program.objects.all()}
        lookups.tiers = {(t.program_id, t.name.lower()): t for t in Tier.objects.all()}
        with unscoped():
            staff = Membership.objects.filter(
                workspace_id=actor.workspace_id, partner__isnull=True, is_active=True
            ).values_list("user__email", "user_id")
        lookups.owners = {email.lower(): user_id for email, user_id in staff}
        lookups.custom_fields = {c.key: c for c in CustomFieldDefinition.objects.all()}
        return lookups

    @property
    def default_program(self) -> Program | None:
        for program in self.programs.values():
            if program.is_default:
                return program
        return next(iter(self.programs.values()), None)


def normalize_domain(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/")[0].split("?")[0].split(":")[0].rstrip(".")
    return value.removeprefix("www.")


def clean_choice(
    errors: dict[str, str], key: str, raw: Any, choices: list[str], what: str, default: str = ""
) -> str:
    """A lower-cased enum value (``default`` when blank); an unknown one is an error naming the choices."""
    value = clean_text(errors, key, raw, 40, required=not default).lower() or default
    if value and key not in errors and value not in choices:
        errors[key] = f"Unknown {what} '{value}'. Known: {', '.join(choices)}."
    return value


def _clean_custom_fields(
    errors: dict[str, str], values: dict[str, Any], lookups: PartnerLookups
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if not isinstance(values, dict):
        errors["custom_fields"] = "Must be an object of field key → value."
        return cleaned
    for key, raw in values.items():
        definition = lookups.custom_fields.get(key)
        where = f"custom_fields.{key}"
        if definition is None:
            errors[where] = "Unknown custom field."
            continue
        if raw is None or raw == "":
            continue
        kind = definition.field_type
        try:
            if kind == CustomFieldDefinition.FieldType.NUMBER:
                number = Decimal(str(raw))
                if not number.is_finite():
                    raise ValueError
                cleaned[key] = str(number)
            elif kind == CustomFieldDefinition.FieldType.DATE:
                cleaned[key] = datetime.date.fromisoformat(str(raw)).isoformat()
            elif kind == CustomFieldDefinition.FieldType.BOOLEAN:
                if isinstance(raw, bool):
                    cleaned[key] = raw
                elif str(raw).lower() in {"true", "yes", "1"}:
                    cleaned[key] = True
                elif str(raw).lower() in {"false", "no", "0"}:
                    cleaned[key] = False
                else:
                    raise ValueError
            elif kind == CustomFieldDefinition.FieldType.CHOICE:
                if str(raw) not in definition.choices:
                    errors[where] = f"'{raw}' is not one of: {', '.join(definition.choices)}."
                    continue
                cleaned[key] = str(raw)
            else:
                text = clean_text(errors, where, raw, 1000)
                cleaned[key] = text
        except (ValueError, InvalidOperation):
            errors[where] = f"Not a valid {definition.get_field_type_display().lower()}: '{raw}'."
    for key, definition in lookups.custom_fields.items():
        if definition.required and key not in cleaned:
            errors[f"custom_fields.{key}"] = "This custom field is required."
    return cleaned


def partner_clean(*, data: PartnerInput, lookups: PartnerLookups, creating: bool) -> dict[str, Any]:
    """Validate caller input; return model-ready values or raise ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if "external_id" in data:
        ext = clean_text(errors, "external_id", data["external_id"], 100)
        out["external_id"] = ext or None
    if creating or "name" in data:
        out["name"] = clean_text(errors, "name", data.get("name"), 200, required=True)
    if "legal_name" in data:
        out["legal_name"] = clean_text(errors, "legal_name", data["legal_name"], 200)
    if creating or "type" in data:
        key = clean_text(errors, "type", data.get("type"), 40, required=True).lower()
        if key and "type" not in errors:
            if key in lookups.types:
                out["type"] = lookups.types[key]
            else:
                errors["type"] = f"Unknown partner type '{key}'. Known: {', '.join(sorted(lookups.types))}."
    if "status" in data:
        out["status"] = clean_choice(
            errors, "status", data["status"], PartnerStatus.values, "status", PartnerStatus.APPLICANT
        )
    if "country" in data:
        code = clean_text(errors, "country", data["country"], 60).upper()
        if code and code not in countries:
            by_name = countries.by_name(code.title())
            if by_name:
                code = by_name
            else:
                errors["country"] = f"Unknown country '{data['country']}'; use an ISO 3166 code such as DE."
        out["country"] = code
    if "region" in data:
        out["region"] = clean_text(errors, "region", data["region"], 60)
    if "domains" in data:
        domains: list[str] = []
        raw_domains = data["domains"] or []
        if isinstance(raw_domains, str):
            raw_domains = [raw_domains]
        for raw in raw_domains:
            domain = normalize_domain(str(raw))
            if not domain:
                continue
            if "\x00" in domain or not DOMAIN_RE.match(domain):
                errors["domains"] = f"'{raw}' is not a valid domain name."
                break
            if domain not in domains:
                domains.append(domain)
        out["domains"] = domains[:20]
    if "website" in data:
        website = clean_text(errors, "website", data["website"], 300)
        if website and "website" not in errors:
            if "://" not in website:
                website = "https://" + website
            try:
                URLValidator(schemes=["http", "https"])(website)
            except ValidationError:
                errors["website"] = f"'{data['website']}' is not a valid web address."
        out["website"] = website
    if "owner_email" in data:
        email = clean_text(errors, "owner_email", data["owner_email"], 254).lower()
        if email and "owner_email" not in errors:
            if email not in lookups.owners:
                errors["owner_email"] = f"No staff user with e-mail '{email}' in this workspace."
            out["owner_id"] = lookups.owners.get(email)
        elif not email:
            out["owner_id"] = None
    if "tags" in data:
        tags: list[str] = []
        for raw in data["tags"] or []:
            tag = clean_text(errors, "tags", raw, 60)
            if tag and tag.lower() not in {t.lower() for t in tags}:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            errors["tags"] = f"At most {MAX_TAGS} tags."
        out["tags"] = tags
    if "custom_fields" in data:
        out["custom_fields"] = _clean_custom_fields(errors, data["custom_fields"] or {}, lookups)
    if "start_date" in data:
        start = data["start_date"]
        if start is not None and not isinstance(start, datetime.date):
            errors["start_date"] = "Use an ISO date (YYYY-MM-DD)."
        out["start_date"] = start
    if "notes" in data:
        out["notes"] = clean_text(errors, "notes", data["notes"], 20000)
    if "tiers" in data:
        enrolments: list[tuple[Program, Tier | None]] = []
        for program_name, tier_name in (data["tiers"] or {}).items():
            program = lookups.programs.get(str(program_name).strip().lower())
            if program is None:
                errors["program"] = f"Unknown program '{program_name}'."
                continue
            tier = None
            if tier_name:
                tier = lookups.tiers.get((program.pk, str(tier_name).strip().lower()))
                if tier is None:
                    known = [t.name for (pid, _), t in lookups.tiers.items() if pid == program.pk]
                    errors["tier"] = (
                        f"Unknown tier '{tier_name}' in {program.name}. Known: {', '.join(known)}."
                    )
                    continue
            enrolments.append((program, tier))
        out["tiers"] = enrolments
    if errors:
        raise ValidationError(errors)
    return out
