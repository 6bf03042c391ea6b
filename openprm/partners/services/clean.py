"""Validation of partner input, shared by every way a partner is written (pages, API, CSV imports, the bulk
service): ``partner_clean`` turns caller input into model-ready values or one ``ValidationError`` naming
every bad field, against the workspace's reference data loaded once (``PartnerLookups``)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django_countries import countries

from openprm.accounts.models import Membership
from openprm.core.actors import Actor
from openprm.core.domains import normalize_domain
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.partners.models import (
    CustomFieldDefinition,
    PartnerStatus,
    PartnerType,
    Program,
    Tier,
)

MAX_TAGS = 50
MAX_DOMAINS = 20


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


def clean_choice(
    errors: dict[str, str], key: str, raw: Any, choices: list[str], what: str, default: str = ""
) -> str:
    """A lower-cased enum value (``default`` when blank); an unknown one is an error naming the choices."""
    value = clean_text(errors, key, raw, 40, required=not default).lower() or default
    if value and key not in errors and value not in choices:
        errors[key] = f"Unknown {what} '{value}'. Known: {', '.join(choices)}."
    return value


_TRUE, _FALSE = frozenset({"true", "yes", "1"}), frozenset({"false", "no", "0"})


_TYPED_KINDS = frozenset(
    {
        CustomFieldDefinition.FieldType.NUMBER,
        CustomFieldDefinition.FieldType.DATE,
        CustomFieldDefinition.FieldType.BOOLEAN,
        CustomFieldDefinition.FieldType.CHOICE,
    }
)


def _typed_value(kind: str, raw: Any) -> Any:
    """The stored form of a number, date or yes/no value; ValueError (InvalidOperation) when it is not
    one."""
    if kind == CustomFieldDefinition.FieldType.NUMBER:
        number = Decimal(str(raw))
        if not number.is_finite():
            raise ValueError(raw)
        return str(number)
    if kind == CustomFieldDefinition.FieldType.DATE:
        return datetime.date.fromisoformat(str(raw)).isoformat()
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in _TRUE:
        return True
    if str(raw).lower() in _FALSE:
        return False
    raise ValueError(raw)


def _clean_custom_fields(
    errors: dict[str, str], values: dict[str, Any], lookups: PartnerLookups
) -> dict[str, Any]:
    """The values of the workspace's custom fields by key (blank ones left out), each in its stored form;
    an unknown key, a value not of its field's type and a missing required field are errors."""
    cleaned: dict[str, Any] = {}
    if not isinstance(values, dict):
        errors["custom_fields"] = "Must be an object of field key → value."
        return cleaned
    for key, raw in values.items():
        definition = lookups.custom_fields.get(key)
        where = f"custom_fields.{key}"
        if definition is None:
            errors[where] = "Unknown custom field."
        elif raw is None or raw == "":
            continue
        elif definition.field_type not in _TYPED_KINDS:  # text (and a definition stored without a type)
            cleaned[key] = clean_text(errors, where, raw, 1000)
        elif definition.field_type == CustomFieldDefinition.FieldType.CHOICE:
            if str(raw) in definition.choices:
                cleaned[key] = str(raw)
            else:
                errors[where] = f"'{raw}' is not one of: {', '.join(definition.choices)}."
        else:
            try:
                cleaned[key] = _typed_value(definition.field_type, raw)
            except (ValueError, InvalidOperation):
                errors[where] = f"Not a valid {definition.get_field_type_display().lower()}: '{raw}'."
    for key, definition in lookups.custom_fields.items():
        if definition.required and key not in cleaned:
            errors[f"custom_fields.{key}"] = "This custom field is required."
    return cleaned


Cleaner = Callable[[dict[str, str], Any, PartnerLookups], Any]


def _text(key: str, max_length: int, *, required: bool = False) -> Cleaner:
    return lambda errors, raw, lookups: clean_text(errors, key, raw, max_length, required)


def _external_id(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> str | None:
    return clean_text(errors, "external_id", raw, 100) or None


def _type(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> PartnerType | None:
    key = clean_text(errors, "type", raw, 40, required=True).lower()
    if not key or "type" in errors:
        return None
    if key not in lookups.types:
        errors["type"] = f"Unknown partner type '{key}'. Known: {', '.join(sorted(lookups.types))}."
    return lookups.types.get(key)


def _status(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> str:
    return clean_choice(errors, "status", raw, PartnerStatus.values, "status", PartnerStatus.APPLICANT)


def _country(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> str:
    """An ISO 3166 code; an English country name is accepted and turned into its code."""
    code = clean_text(errors, "country", raw, 60).upper()
    if code and code not in countries:
        by_name = countries.by_name(code.title())
        if by_name:
            return str(by_name)
        errors["country"] = f"Unknown country '{raw}'; use an ISO 3166 code such as DE."
    return code


def _domains(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> list[str]:
    """Each domain as ``core.domains.normalize_domain`` reduces it, the rule conflict matching applies to
    customer domains: a partner's stored domain is what matching computes for the same input. Blank entries
    are skipped and repeats dropped; an entry that names no host (an IP address, a lone label, NUL...) is
    an error. At most 20 are kept."""
    values = [raw] if isinstance(raw, str) else list(raw or [])
    domains: list[str] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        domain = "" if "\x00" in text else normalize_domain(text)
        if not domain:
            errors["domains"] = f"'{value}' is not a valid domain name."
            break
        if domain not in domains:
            domains.append(domain)
    return domains[:MAX_DOMAINS]


def _website(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> str:
    website = clean_text(errors, "website", raw, 300)
    if website and "website" not in errors:
        if "://" not in website:
            website = "https://" + website
        try:
            URLValidator(schemes=["http", "https"])(website)
        except ValidationError:
            errors["website"] = f"'{raw}' is not a valid web address."
    return website


def _owner(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> int | None:
    """The id of the active staff user with this e-mail; blank: no owner."""
    email = clean_text(errors, "owner_email", raw, 254).lower()
    if email and "owner_email" not in errors and email not in lookups.owners:
        errors["owner_email"] = f"No staff user with e-mail '{email}' in this workspace."
    return lookups.owners.get(email)


def _tags(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> list[str]:
    """Tag names, the first spelling of each kept (tags differing only in case are one tag)."""
    tags: list[str] = []
    for value in raw or []:
        tag = clean_text(errors, "tags", value, 60)
        if tag and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"At most {MAX_TAGS} tags."
    return tags


def _custom_fields(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> dict[str, Any]:
    return _clean_custom_fields(errors, raw or {}, lookups)


def _start_date(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> datetime.date | None:
    if raw is not None and not isinstance(raw, datetime.date):
        errors["start_date"] = "Use an ISO date (YYYY-MM-DD)."
    return raw


def _tiers(errors: dict[str, str], raw: Any, lookups: PartnerLookups) -> list[tuple[Program, Tier | None]]:
    """Program name → tier name (None: enrolled without a tier), as (program, tier) pairs."""
    enrolments: list[tuple[Program, Tier | None]] = []
    for program_name, tier_name in (raw or {}).items():
        program = lookups.programs.get(str(program_name).strip().lower())
        if program is None:
            errors["program"] = f"Unknown program '{program_name}'."
            continue
        tier = None
        if tier_name:
            tier = lookups.tiers.get((program.pk, str(tier_name).strip().lower()))
            if tier is None:
                known = [t.name for (pid, _), t in lookups.tiers.items() if pid == program.pk]
                errors["tier"] = f"Unknown tier '{tier_name}' in {program.name}. Known: {', '.join(known)}."
                continue
        enrolments.append((program, tier))
    return enrolments


# Input key → (key of the cleaned value, its cleaner), in the order errors are reported.
_FIELDS: dict[str, tuple[str, Cleaner]] = {
    "external_id": ("external_id", _external_id),
    "name": ("name", _text("name", 200, required=True)),
    "legal_name": ("legal_name", _text("legal_name", 200)),
    "type": ("type", _type),
    "status": ("status", _status),
    "country": ("country", _country),
    "region": ("region", _text("region", 60)),
    "domains": ("domains", _domains),
    "website": ("website", _website),
    "owner_email": ("owner_id", _owner),
    "tags": ("tags", _tags),
    "custom_fields": ("custom_fields", _custom_fields),
    "start_date": ("start_date", _start_date),
    "notes": ("notes", _text("notes", 20000)),
    "tiers": ("tiers", _tiers),
}
_REQUIRED_ON_CREATE = frozenset({"name", "type"})


def partner_clean(*, data: PartnerInput, lookups: PartnerLookups, creating: bool) -> dict[str, Any]:
    """Validate caller input; return model-ready values or raise ValidationError naming every bad field.

    Only the keys present in ``data`` are cleaned (on create, also the required ``name`` and ``type``);
    ``owner_email`` comes back as ``owner_id`` and ``tiers`` as (program, tier) pairs."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, (out_key, cleaner) in _FIELDS.items():
        if key in data or (creating and key in _REQUIRED_ON_CREATE):
            out[out_key] = cleaner(errors, data.get(key), lookups)
    if errors:
        raise ValidationError(errors)
    return out
