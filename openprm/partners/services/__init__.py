"""Writes for the partner database. Every function is keyword-only, atomic and audited."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone
from django_countries import countries

from openprm.accounts.models import Membership
from openprm.accounts.services import user_invite
from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    CustomFieldDefinition,
    Partner,
    PartnerProgram,
    PartnerStatus,
    PartnerType,
    Program,
    SavedView,
    StatusChange,
    Tag,
    Tier,
)

DEFAULT_PROGRAM = "Partner Program"
DEFAULT_TIERS = ["Bronze", "Silver", "Gold", "Platinum"]
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_TAGS = 50


@transaction.atomic
def workspace_bootstrap(*, workspace: Workspace) -> None:
    """Create a workspace's defaults: partner types and a default program with ordered tiers."""
    with unscoped():
        for key, label in PartnerType.DEFAULTS:
            PartnerType.objects.get_or_create(workspace=workspace, key=key, defaults={"label": label})
        if not Program.objects.filter(workspace=workspace).exists():
            program = Program.objects.create(workspace=workspace, name=DEFAULT_PROGRAM, is_default=True)
            for rank, name in enumerate(DEFAULT_TIERS, start=1):
                Tier.objects.create(workspace=workspace, program=program, name=name, rank=rank)


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


def _clean_choice(
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
        out["status"] = _clean_choice(
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


def _partner_extra(partner: Partner) -> dict[str, Any]:
    """The m2m/related parts of a partner that the audit trail shows next to its fields."""
    return {
        "tags": sorted(t.name for t in partner.tags.all()),
        "tiers": {e.program.name: (e.tier.name if e.tier else None) for e in partner.enrolments.all()},
    }


def _apply_tags(partner: Partner, names: list[str]) -> None:
    existing = {t.name.lower(): t for t in Tag.objects.filter(name__in=names)}
    wanted = []
    for name in names:
        tag = existing.get(name.lower())
        if tag is None:
            tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(
                workspace_id=partner.workspace_id, name=name
            )
        wanted.append(tag)
    partner.tags.set(wanted)


def _apply_enrolments(partner: Partner, enrolments: list[tuple[Program, Tier | None]]) -> None:
    for program, tier in enrolments:
        PartnerProgram.objects.update_or_create(
            workspace_id=partner.workspace_id, partner=partner, program=program, defaults={"tier": tier}
        )
    # A partner from partner_get() has its enrolments prefetched: drop them so the audit "after" is fresh.
    getattr(partner, "_prefetched_objects_cache", {}).pop("enrolments", None)


def _check_external_id(workspace_id: int, external_id: str | None, exclude_pk: int | None) -> None:
    """External ids are unique per workspace, whatever part of it the actor may see."""
    if not external_id:
        return
    with unscoped():
        clash = Partner.objects.filter(workspace_id=workspace_id, external_id=external_id)
        if exclude_pk:
            clash = clash.exclude(pk=exclude_pk)
        taken = clash.exists()
    if taken:
        raise ValidationError({"external_id": f"Another partner already has external id '{external_id}'."})


@transaction.atomic
def partner_create(*, actor: Actor, data: PartnerInput, lookups: PartnerLookups | None = None) -> Partner:
    actor.require(Perm.PARTNER_EDIT)
    lookups = lookups or PartnerLookups.load(actor)
    values = partner_clean(data=data, lookups=lookups, creating=True)
    tags = values.pop("tags", [])
    enrolments = values.pop("tiers", None)
    if enrolments is None and lookups.default_program is not None:
        enrolments = [(lookups.default_program, None)]
    _check_external_id(actor.workspace_id, values.get("external_id"), None)
    if actor.owned_only and "owner_id" not in values:
        values["owner_id"] = actor.user_id
    partner = Partner(workspace_id=actor.workspace_id, **values)
    partner.save()
    StatusChange.objects.create(
        workspace_id=actor.workspace_id, partner=partner, to_status=partner.status, actor_label=actor.label
    )
    _apply_tags(partner, tags)
    _apply_enrolments(partner, enrolments or [])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=partner,
        after=snapshot(partner, _partner_extra(partner)),
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partner_update(
    *, actor: Actor, partner: Partner, data: PartnerInput, lookups: PartnerLookups | None = None
) -> Partner:
    actor.require(Perm.PARTNER_EDIT)
    lookups = lookups or PartnerLookups.load(actor)
    values = partner_clean(data=data, lookups=lookups, creating=False)
    before = snapshot(partner, _partner_extra(partner))
    tags = values.pop("tags", None)
    enrolments = values.pop("tiers", None)
    if "external_id" in values:
        _check_external_id(actor.workspace_id, values["external_id"], partner.pk)
    old_status = partner.status
    for key, value in values.items():
        setattr(partner, key, value)
    if partner.status != old_status:
        partner.status_changed_at = timezone.now()
        StatusChange.objects.create(
            workspace_id=actor.workspace_id,
            partner=partner,
            from_status=old_status,
            to_status=partner.status,
            actor_label=actor.label,
        )
    partner.save()
    if tags is not None:
        _apply_tags(partner, tags)
    if enrolments is not None:
        _apply_enrolments(partner, enrolments)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=partner,
        before=before,
        after=snapshot(partner, _partner_extra(partner)),
        partner_id=partner.pk,
    )
    return partner


# Rows a partner gets when it is set up rather than worked with: they alone do not make it "history".
SETUP_RELATIONS = frozenset(
    {
        "partners.partner_tags",
        "partners.partnerprogram",
        "partners.statuschange",
        "partners.contact",
        "accounts.membership",
        "accounts.notification",
        "activity.rollupdirty",
        "core.auditentry",
    }
)


def partner_has_history(*, partner: Partner) -> bool:
    """Whether anything happened with the partner beyond its set-up: a deal, event, click, conversion,
    link, agreement, ... (any row of another table pointing at it), or an audit entry besides its creation.
    The tables are found through the model relations, so apps above this one need not be imported."""
    with unscoped():
        for relation in Partner._meta.get_fields(include_hidden=True):
            if not relation.auto_created or relation.concrete or relation.many_to_many:
                continue
            model = relation.related_model
            assert model is not None and not isinstance(model, str)
            if model._meta.label_lower in SETUP_RELATIONS:
                continue
            field_name = relation.field.name  # type: ignore[union-attr]
            if model._default_manager.filter(**{field_name: partner.pk}).exists():
                return True
        return (
            AuditEntry.objects.filter(workspace_id=partner.workspace_id, partner_id=partner.pk)
            .exclude(object_type=Partner._meta.label_lower, action=AuditEntry.Action.CREATE)
            .exists()
        )


def _archive_snapshot(partner: Partner, logins: list[str]) -> dict[str, Any]:
    return {"archived_at": _plain_time(partner.archived_at), "portal_logins_suspended": logins}


def _plain_time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


@transaction.atomic
def partner_archive(*, actor: Actor, partner: Partner) -> Partner:
    """Hide the partner from lists, exports and pickers and suspend its portal logins (their users cannot
    sign in or use their tokens until it is restored). Its deals, events and history stay. Audited."""
    actor.require(Perm.PARTNER_DELETE)
    if partner.archived_at is not None:
        return partner
    now = timezone.now()
    with unscoped():
        memberships = Membership.objects.filter(partner=partner, is_active=True)
        logins = sorted(memberships.values_list("user__email", flat=True))
        # Stamped with the archive time, so a restore re-opens exactly these logins.
        memberships.update(is_active=False, updated_at=now)
    partner.archived_at = now
    partner.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=partner,
        before=_archive_snapshot(partner, []) | {"archived_at": None},
        after=_archive_snapshot(partner, logins),
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partner_restore(*, actor: Actor, partner: Partner) -> Partner:
    """Bring an archived partner back, with the portal logins its archiving suspended. Audited."""
    actor.require(Perm.PARTNER_DELETE)
    archived_at = partner.archived_at
    if archived_at is None:
        return partner
    with unscoped():
        memberships = Membership.objects.filter(partner=partner, is_active=False, updated_at=archived_at)
        logins = sorted(memberships.values_list("user__email", flat=True))
        memberships.update(is_active=True, updated_at=timezone.now())
    partner.archived_at = None
    partner.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=partner,
        before={"archived_at": _plain_time(archived_at), "portal_logins_restored": []},
        after={"archived_at": None, "portal_logins_restored": logins},
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partner_delete(*, actor: Actor, partner: Partner) -> str:
    """Remove a partner the safe way: one with history is archived (restorable); one with none at all is
    deleted outright. Returns "archived" or "deleted". Both are audited; nothing is cascaded away."""
    actor.require(Perm.PARTNER_DELETE)
    if partner.archived_at is not None or partner_has_history(partner=partner):
        partner_archive(actor=actor, partner=partner)
        return "archived"
    before = snapshot(partner, _partner_extra(partner))
    audit_record(
        actor=actor, action=AuditEntry.Action.DELETE, instance=partner, before=before, partner_id=partner.pk
    )
    with unscoped():
        Membership.objects.filter(partner=partner).delete()
    partner.delete()
    return "deleted"


@transaction.atomic
def partner_purge(*, actor: Actor, partner: Partner, confirm: str) -> dict[str, int]:
    """Delete the partner and everything of it (deals, events, clicks, links, memberships, ...) in one
    transaction. Admins only; ``confirm`` must repeat the partner's name. The audit entry recording the
    purge (with the counts of what went) is kept. Returns the deleted row counts per model."""
    actor.require(Perm.WORKSPACE_ADMIN)
    if confirm.strip() != partner.name:
        raise ValidationError(
            {"confirm": f"Type the partner's exact name ({partner.name!r}) to confirm the purge."}
        )
    before = snapshot(partner, _partner_extra(partner))
    entry = AuditEntry(
        workspace_id=actor.workspace_id,
        partner_id=partner.pk,
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=AuditEntry.Action.DELETE,
        object_type=Partner._meta.label_lower,
        object_id=partner.public_id,
        object_repr=f"{partner} (purged)"[:300],
    )
    with unscoped():
        Membership.objects.filter(partner=partner).delete()
        _, counts = Partner.objects.filter(pk=partner.pk).delete()
    entry.changes = {
        **{key: {"before": value, "after": None} for key, value in before.items()},
        "purged": {"before": None, "after": {k: v for k, v in sorted(counts.items()) if v}},
    }
    entry.save()
    return dict(counts)


@transaction.atomic
def partners_bulk_update(
    *,
    actor: Actor,
    partners: Iterable[Partner],
    owner_email: str | None = None,
    add_tags: list[str] | None = None,
    tier: tuple[str, str] | None = None,
) -> int:
    """Assign an owner, add tags and/or set a tier (program name, tier name) on many partners."""
    actor.require(Perm.PARTNER_EDIT)
    lookups = PartnerLookups.load(actor)
    count = 0
    for partner in partners:
        data: PartnerInput = {}
        if owner_email is not None:
            data["owner_email"] = owner_email
        if add_tags:
            data["tags"] = sorted({t.name for t in partner.tags.all()} | set(add_tags))
        if tier is not None:
            data["tiers"] = {tier[0]: tier[1]}
        partner_update(actor=actor, partner=partner, data=data, lookups=lookups)
        count += 1
    return count


# --- contacts ---------------------------------------------------------------------------------------


def _require_contact_edit(actor: Actor, partner: Partner) -> None:
    if actor.is_partner_user:
        actor.require(Perm.CONTACT_EDIT_OWN)
        if partner.pk != actor.partner_id:
            raise PermissionDenied("Not your partner")
    else:
        actor.require(Perm.PARTNER_EDIT)


CONTACT_FIELDS = ("name", "email", "phone", "title", "role", "is_primary")


def _contact_clean(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = clean_text(errors, "name", data.get("name"), 200, required=True)
    if "email" in data:
        email = clean_text(errors, "email", data["email"], 254).lower()
        if email and "email" not in errors:
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = f"'{email}' is not a valid e-mail address."
        out["email"] = email
    if "phone" in data:
        out["phone"] = clean_text(errors, "phone", data["phone"], 40)
    if "title" in data:
        out["title"] = clean_text(errors, "title", data["title"], 120)
    if "role" in data:
        out["role"] = _clean_choice(
            errors, "role", data["role"], Contact.Role.values, "contact role", Contact.Role.OTHER
        )
    if "is_primary" in data:
        out["is_primary"] = bool(data["is_primary"])
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def contact_create(*, actor: Actor, partner: Partner, data: dict[str, Any]) -> Contact:
    _require_contact_edit(actor, partner)
    values = _contact_clean(data, creating=True)
    contact = Contact(workspace_id=actor.workspace_id, partner=partner, **values)
    contact.save()
    if contact.is_primary:
        Contact.objects.filter(partner=partner).exclude(pk=contact.pk).update(is_primary=False)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=contact,
        after=snapshot(contact),
        partner_id=partner.pk,
    )
    return contact


@transaction.atomic
def contact_update(*, actor: Actor, contact: Contact, data: dict[str, Any]) -> Contact:
    _require_contact_edit(actor, contact.partner)
    values = _contact_clean(data, creating=False)
    with audited_change(actor=actor, instance=contact, partner_id=contact.partner_id):
        apply_values(contact, values)
        contact.save()
    if contact.is_primary:
        Contact.objects.filter(partner_id=contact.partner_id).exclude(pk=contact.pk).update(is_primary=False)
    return contact


@transaction.atomic
def contact_delete(*, actor: Actor, contact: Contact) -> None:
    _require_contact_edit(actor, contact.partner)
    audited_delete(actor=actor, instance=contact, partner_id=contact.partner_id)


@transaction.atomic
def contact_invite(*, actor: Actor, contact: Contact, role: str, base_url: str) -> Membership:
    """Give a contact a portal login for their partner and e-mail them a link to set a password."""
    if actor.is_partner_user and contact.partner_id != actor.partner_id:
        raise PermissionDenied("Not your partner")
    if role not in PARTNER_ROLES:
        raise ValidationError(
            {"role": "Choose a partner role: partner_admin, partner_manager or partner_rep."}
        )
    if not contact.email:
        raise ValidationError({"email": "The contact needs an e-mail address to be invited."})
    if contact.user_id is not None:
        raise ValidationError({"email": "This contact already has a portal login."})
    membership = user_invite(
        actor=actor,
        email=contact.email,
        full_name=contact.name,
        role=role,
        partner_id=contact.partner_id,
        base_url=base_url,
    )
    contact.user = membership.user
    contact.save(update_fields=["user", "updated_at"])
    return membership


# --- agreements -------------------------------------------------------------------------------------


def _agreement_clean(data: dict[str, Any], creating: bool, current: Agreement | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "title" in data:
        out["title"] = clean_text(errors, "title", data.get("title"), 200, required=True)
    if "kind" in data:
        out["kind"] = _clean_choice(
            errors, "kind", data["kind"], Agreement.Kind.values, "agreement type", Agreement.Kind.PARTNER
        )
    if "terms_summary" in data:
        out["terms_summary"] = clean_text(errors, "terms_summary", data["terms_summary"], 20000)
    for key in ("start_date", "end_date"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, datetime.date):
                errors[key] = "Use an ISO date (YYYY-MM-DD)."
            out[key] = value
    if "auto_renew" in data:
        out["auto_renew"] = bool(data["auto_renew"])
    if "renewal_notice_days" in data:
        days = data["renewal_notice_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
            errors["renewal_notice_days"] = "A whole number of days between 0 and 3650."
        out["renewal_notice_days"] = days
    if "status" in data:
        out["status"] = _clean_choice(
            errors, "status", data["status"], AgreementStatus.values, "status", AgreementStatus.DRAFT
        )
    start = out.get("start_date", current.start_date if current else None)
    end = out.get("end_date", current.end_date if current else None)
    if start and end and end < start and "end_date" not in errors:
        errors["end_date"] = "The end date is before the start date."
    if errors:
        raise ValidationError(errors)
    return out


def _attach(agreement: Agreement, upload: UploadedFile | None) -> None:
    from django.conf import settings

    if upload is None:
        return
    if upload.size is not None and upload.size > settings.PRM_MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            {"file": f"The file is larger than {settings.PRM_MAX_ATTACHMENT_BYTES // 2**20} MB."}
        )
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", upload.name or "agreement")[-120:]
    agreement.file.save(name, upload, save=False)


@transaction.atomic
def agreement_create(
    *, actor: Actor, partner: Partner, data: dict[str, Any], upload: UploadedFile | None = None
) -> Agreement:
    actor.require(Perm.PARTNER_EDIT)
    values = _agreement_clean(data, creating=True, current=None)
    agreement = Agreement(workspace_id=actor.workspace_id, partner=partner, **values)
    _attach(agreement, upload)
    agreement.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=agreement,
        after=snapshot(agreement),
        partner_id=partner.pk,
    )
    return agreement


@transaction.atomic
def agreement_update(
    *, actor: Actor, agreement: Agreement, data: dict[str, Any], upload: UploadedFile | None = None
) -> Agreement:
    actor.require(Perm.PARTNER_EDIT)
    values = _agreement_clean(data, creating=False, current=agreement)
    with audited_change(actor=actor, instance=agreement, partner_id=agreement.partner_id):
        apply_values(agreement, values)
        _attach(agreement, upload)
        agreement.save()
    return agreement


@transaction.atomic
def agreement_delete(*, actor: Actor, agreement: Agreement) -> None:
    actor.require(Perm.PARTNER_EDIT)
    audited_delete(actor=actor, instance=agreement, partner_id=agreement.partner_id)


# --- saved views ------------------------------------------------------------------------------------


def saved_view_save(*, actor: Actor, name: str, query: str) -> SavedView:
    actor.require(Perm.PARTNER_VIEW)
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, 80, required=True)
    query = clean_text(errors, "query", query.lstrip("?"), 2000)
    if errors:
        raise ValidationError(errors)
    view, _ = SavedView.objects.update_or_create(
        workspace_id=actor.workspace_id, user_id=actor.user_id, name=name, defaults={"query": query}
    )
    return view


def saved_view_delete(*, actor: Actor, view: SavedView) -> None:
    if view.user_id != actor.user_id:
        raise PermissionDenied("Not your saved view")
    view.delete()


# --- workspace reference data: partner types and custom fields ---------------------------------------

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _clean_key(errors: dict[str, str], raw: Any) -> str:
    key = clean_text(errors, "key", raw, 40, required=True).lower()
    if key and "key" not in errors and not KEY_RE.match(key):
        errors["key"] = "Use lower-case letters, digits and underscores, starting with a letter."
    return key


@transaction.atomic
def partner_type_create(*, actor: Actor, key: str, label: str) -> PartnerType:
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    key = _clean_key(errors, key)
    label = clean_text(errors, "label", label, 80, required=True)
    if key and PartnerType.objects.filter(key=key).exists():
        errors["key"] = f"A partner type '{key}' already exists."
    if errors:
        raise ValidationError(errors)
    partner_type = PartnerType.objects.create(workspace_id=actor.workspace_id, key=key, label=label)
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=partner_type, after=snapshot(partner_type)
    )
    return partner_type


@transaction.atomic
def custom_field_create(
    *, actor: Actor, key: str, label: str, field_type: str, choices: list[str], required: bool = False
) -> CustomFieldDefinition:
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    key = _clean_key(errors, key)
    label = clean_text(errors, "label", label, 80, required=True)
    field_type = _clean_choice(
        errors, "field_type", field_type, CustomFieldDefinition.FieldType.values, "field type"
    )
    cleaned_choices = [c for c in (clean_text(errors, "choices", c, 100) for c in choices) if c]
    if field_type == CustomFieldDefinition.FieldType.CHOICE and not cleaned_choices:
        errors["choices"] = "A choice field needs at least one choice."
    if key and CustomFieldDefinition.objects.filter(key=key).exists():
        errors["key"] = f"A custom field '{key}' already exists."
    if errors:
        raise ValidationError(errors)
    definition = CustomFieldDefinition.objects.create(
        workspace_id=actor.workspace_id,
        key=key,
        label=label,
        field_type=field_type,
        choices=cleaned_choices if field_type == CustomFieldDefinition.FieldType.CHOICE else [],
        required=required,
    )
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=definition, after=snapshot(definition)
    )
    return definition


@transaction.atomic
def custom_field_delete(*, actor: Actor, definition: CustomFieldDefinition) -> None:
    """Remove a custom field definition; values already stored on partners are kept in their history."""
    actor.require(Perm.WORKSPACE_ADMIN)
    audited_delete(actor=actor, instance=definition)


# --- programs and tiers ------------------------------------------------------------------------------

# Sane bounds of a program's windows (days): positive, and no longer than the data anyone keeps.
PROGRAM_WINDOWS: dict[str, tuple[int, int, str]] = {
    "approval_sla_days": (1, 90, "business days"),
    "protection_days": (1, 1095, "days"),
    "attribution_window_days": (1, 365, "days"),
    "active_window_days": (1, 730, "days"),
}
ATTRIBUTION_MODELS = ("first_click", "last_click")


class ProgramInput(TypedDict, total=False):
    name: str
    description: str
    is_default: bool
    approval_sla_days: int
    protection_days: int
    attribution_model: str
    attribution_window_days: int
    active_window_days: int


def _program_clean(data: ProgramInput | dict[str, Any], *, current: Program | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if current is None or "name" in data:
        name = clean_text(errors, "name", data.get("name"), 120, required=True)
        if name and "name" not in errors:
            clash = Program.objects.filter(name__iexact=name)
            if current is not None:
                clash = clash.exclude(pk=current.pk)
            if clash.exists():
                errors["name"] = f"A program named '{name}' already exists."
        out["name"] = name
    if "description" in data:
        out["description"] = clean_text(errors, "description", data["description"], 5000)
    if "is_default" in data:
        out["is_default"] = bool(data["is_default"])
    for key, (low, high, unit) in PROGRAM_WINDOWS.items():
        if key not in data:
            continue
        value = data[key]  # type: ignore[literal-required]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = f"A whole number of {unit} between {low} and {high}."
        out[key] = value
    if "attribution_model" in data:
        model = str(data["attribution_model"] or "").strip().lower()
        if model not in ATTRIBUTION_MODELS:
            errors["attribution_model"] = (
                f"Unknown attribution model '{model}'. Known: first_click, last_click."
            )
        out["attribution_model"] = model
    if current is not None and current.is_default and out.get("is_default") is False:
        errors["is_default"] = "Make another program the default instead; one program is always the default."
    if errors:
        raise ValidationError(errors)
    return out


def _make_default(program: Program) -> None:
    Program.objects.filter(is_default=True).exclude(pk=program.pk).update(is_default=False)


@transaction.atomic
def program_create(*, actor: Actor, data: ProgramInput) -> Program:
    """A new program (no tiers yet: add them with tier_create). Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    values = _program_clean(data, current=None)
    if not Program.objects.exists():
        values["is_default"] = True
    program = Program(workspace_id=actor.workspace_id, **values)
    program.save()
    if program.is_default:
        _make_default(program)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=program, after=snapshot(program))
    return program


@transaction.atomic
def program_update(*, actor: Actor, program: Program, data: ProgramInput) -> Program:
    """Rename a program or change its windows, attribution model or default flag. Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    values = _program_clean(data, current=program)
    with audited_change(actor=actor, instance=program):
        apply_values(program, values)
        program.save()
    if program.is_default:
        _make_default(program)
    return program


def _tier_name(errors: dict[str, str], program: Program, raw: Any, exclude: Tier | None) -> str:
    name = clean_text(errors, "name", raw, 60, required=True)
    if name and "name" not in errors:
        clash = Tier.objects.filter(program=program, name__iexact=name)
        if exclude is not None:
            clash = clash.exclude(pk=exclude.pk)
        if clash.exists():
            errors["name"] = f"{program.name} already has a tier named '{name}'."
    return name


def _tier_audit(actor: Actor, tier: Tier, action: str, before: dict[str, Any] | None) -> None:
    after = None if action == AuditEntry.Action.DELETE else snapshot(tier)
    audit_record(actor=actor, action=action, instance=tier, before=before, after=after)


@transaction.atomic
def tier_create(*, actor: Actor, program: Program, name: str) -> Tier:
    """Add a tier above the program's highest one. Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    name = _tier_name(errors, program, name, None)
    if errors:
        raise ValidationError(errors)
    top = Tier.objects.filter(program=program).order_by("-rank").values_list("rank", flat=True).first()
    tier = Tier.objects.create(
        workspace_id=actor.workspace_id, program=program, name=name, rank=(top or 0) + 1
    )
    _tier_audit(actor, tier, AuditEntry.Action.CREATE, None)
    return tier


@transaction.atomic
def tier_rename(*, actor: Actor, tier: Tier, name: str) -> Tier:
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    name = _tier_name(errors, tier.program, name, tier)
    if errors:
        raise ValidationError(errors)
    with audited_change(actor=actor, instance=tier):
        tier.name = name
        tier.save(update_fields=["name", "updated_at"])
    return tier


@transaction.atomic
def tier_move(*, actor: Actor, tier: Tier, direction: str) -> Tier:
    """Swap the tier with its neighbour: "up" to the next higher rank, "down" to the next lower one.
    Ranks stay unique at every step (the swap parks one tier on rank 0, which no tier uses)."""
    actor.require(Perm.WORKSPACE_ADMIN)
    if direction not in ("up", "down"):
        raise ValidationError({"move": "Move a tier 'up' (a higher rank) or 'down' (a lower rank)."})
    tiers = list(Tier.objects.select_for_update().filter(program_id=tier.program_id).order_by("rank"))
    index = next(i for i, t in enumerate(tiers) if t.pk == tier.pk)
    other_index = index + 1 if direction == "up" else index - 1
    if not 0 <= other_index < len(tiers):
        where = "highest" if direction == "up" else "lowest"
        raise ValidationError({"move": f"{tier.name} is already the {where} tier."})
    mine, other = tiers[index], tiers[other_index]
    before = snapshot(mine)
    rank_mine, rank_other = mine.rank, other.rank
    mine.rank = 0
    mine.save(update_fields=["rank"])
    other.rank = rank_mine
    other.save(update_fields=["rank", "updated_at"])
    mine.rank = rank_other
    mine.save(update_fields=["rank", "updated_at"])
    _tier_audit(actor, mine, AuditEntry.Action.UPDATE, before)
    tier.rank = mine.rank
    return mine


@transaction.atomic
def tier_delete(*, actor: Actor, tier: Tier) -> None:
    """Remove a tier no partner holds; the tiers above it move down a rank. Admins only; audited."""
    actor.require(Perm.WORKSPACE_ADMIN)
    with unscoped():
        used = PartnerProgram.objects.filter(workspace_id=tier.workspace_id, tier=tier).count()
    if used:
        raise ValidationError(
            {
                "tier": f"{used} partner{'s' if used != 1 else ''} hold{'' if used != 1 else 's'} the tier "
                f"{tier.name}: move them to another tier first."
            }
        )
    program_id, rank = tier.program_id, tier.rank
    _tier_audit(actor, tier, AuditEntry.Action.DELETE, snapshot(tier))
    tier.delete()
    for above in Tier.objects.filter(program_id=program_id, rank__gt=rank).order_by("rank"):
        above.rank -= 1
        above.save(update_fields=["rank", "updated_at"])
