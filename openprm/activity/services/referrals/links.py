"""Writes for tracking links: create and edit (code, destination, campaign and UTM parameters, program,
active). A link's code is global (``/r/<code>`` carries no workspace); an active link must lead to an
allowed host (``hosts``)."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction

from openprm.activity.models import TrackingLink
from openprm.activity.services.referrals.hosts import require_allowed_destination
from openprm.activity.services.referrals.owners import owner_partner, owner_program
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text

LINK_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
CODE_ALPHABET = string.ascii_lowercase + string.digits
GENERATED_CODE_LENGTH = 8
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class LinkInput(TypedDict, total=False):
    partner_id: int  # staff only
    program_id: int | None
    code: str
    destination: str
    campaign: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    is_active: bool


def _require_link_edit(actor: Actor) -> None:
    if actor.is_partner_user:
        if actor.role not in PARTNER_ROLES:
            raise PermissionDenied("Your role may not create tracking links")
    else:
        actor.require(Perm.PARTNER_EDIT)


def _destination_url(url: str) -> str:
    """The destination as stored: its host IDNA-encoded and lower-cased (what the redirect compares)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii") if host else host
    except UnicodeError:
        return url
    if ascii_host == host and host in parts.netloc:
        return url
    netloc = parts.netloc
    userinfo, at, _ = netloc.rpartition("@")
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{ascii_host}{port}"))


def _destination(errors: dict[str, str], value: Any) -> str:
    url = clean_text(errors, "destination", value, 2000, required=True)
    if "destination" in errors:
        return url
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["destination"] = "Enter a full http(s) address."
        return url
    try:
        return _destination_url(url)
    except ValueError:
        errors["destination"] = "Enter a full http(s) address."
        return url


def generate_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))


def _clean_link(data: LinkInput, *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if data.get("code"):
        code = clean_text(errors, "code", data["code"], 64).lower()
        if "code" not in errors and not LINK_CODE.match(code):
            errors["code"] = "3-64 lower-case letters, digits, '-' or '_', starting with a letter or digit."
        out["code"] = code
    if creating or "destination" in data:
        out["destination"] = _destination(errors, data.get("destination"))
    for name in ("campaign", *UTM_FIELDS):
        if name in data:
            out[name] = clean_text(errors, name, data[name], 120)  # type: ignore[literal-required]
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationError(errors)
    return out


def _code_taken(code: str, exclude: int | None = None) -> bool:
    with unscoped():  # codes are global: /r/<code> carries no workspace
        return TrackingLink.objects.filter(code=code).exclude(pk=exclude or 0).exists()


def link_create(*, actor: Actor, data: LinkInput) -> TrackingLink:
    """A tracking link for the actor's partner (partner users) or ``partner_id`` (staff)."""
    _require_link_edit(actor)
    partner = owner_partner(
        actor.partner_id if actor.is_partner_user else data.get("partner_id"), owned="link"
    )
    values = _clean_link(data, creating=True)
    program = owner_program(actor, data.get("program_id"))
    if values.get("is_active", True):
        require_allowed_destination(actor, destination=values["destination"], program=program)
    code = values.pop("code", None)
    given = code is not None
    for _ in range(5):
        code = code or generate_code()
        if _code_taken(code):
            if given:
                raise ValidationError({"code": "This code is taken."})
            code = None
            continue
        link = TrackingLink(
            workspace_id=actor.workspace_id, partner=partner, program=program, code=code, **values
        )
        try:
            with transaction.atomic():
                link.save()
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.CREATE,
                    instance=link,
                    after=snapshot(link),
                    partner_id=partner.pk,
                )
        except IntegrityError:
            if given:
                raise ValidationError({"code": "This code is taken."}) from None
            code = None
            continue
        return link
    raise ValidationError({"code": "Could not find a free code; try again."})


def link_update(*, actor: Actor, link: TrackingLink, data: LinkInput) -> TrackingLink:
    _require_link_edit(actor)
    values = _clean_link(data, creating=False)
    if "code" in values and values["code"] != link.code and _code_taken(values["code"], exclude=link.pk):
        raise ValidationError({"code": "This code is taken."})
    program = owner_program(actor, data["program_id"]) if "program_id" in data else link.program
    if values.get("is_active", link.is_active):
        # An active link must lead to an allowed host: deactivating always works, anything else on a
        # link outside the hosts needs its destination fixed (or the hosts widened) first.
        require_allowed_destination(
            actor, destination=values.get("destination", link.destination), program=program
        )
    with transaction.atomic(), audited_change(actor=actor, instance=link, partner_id=link.partner_id):
        link.program = program
        for key, value in values.items():
            setattr(link, key, value)
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:
            raise ValidationError({"code": "This code is taken."}) from None
    return link
