"""Writes for referral tracking: tracking links, coupons and clicks (the ``/r/<code>`` redirect).

A click is stored with its entry in the rollup queue in one transaction; the job worker adds it to the
rollups within seconds. Conversions, which these links and coupons attribute, are in ``conversions``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import re
import secrets
import string
from typing import Any, NamedTuple, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from openprm.activity.models import Click, Coupon, RollupPending, TrackingLink
from openprm.activity.rollups import rollups_fold_soon
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, snapshot
from openprm.core.bulk import uuid4_hex
from openprm.core.models import AuditEntry
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.partners.models import Partner, Program

LINK_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
COUPON_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,63}$")
CODE_ALPHABET = string.ascii_lowercase + string.digits
GENERATED_CODE_LENGTH = 8
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


# --- tracking links -----------------------------------------------------------------------------------


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


def _destination(errors: dict[str, str], value: Any) -> str:
    url = clean_text(errors, "destination", value, 2000, required=True)
    if "destination" in errors:
        return url
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["destination"] = "Enter a full http(s) address."
        return url
    allowed = [h.lower() for h in getattr(settings, "PRM_TRACKING_HOSTS", ()) or ()]
    host = (urlsplit(url).hostname or "").lower()
    if allowed and not any(host == h or host.endswith("." + h) for h in allowed):
        errors["destination"] = f"Links may only lead to {', '.join(allowed)}."
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


def _program(actor: Actor, program_id: int | None) -> Program | None:
    if program_id is None:
        return None
    program = Program.objects.filter(pk=program_id, workspace_id=actor.workspace_id).first()
    if program is None:
        raise ValidationError({"program": "No such program."})
    return program


def link_create(*, actor: Actor, data: LinkInput) -> TrackingLink:
    """A tracking link for the actor's partner (partner users) or ``partner_id`` (staff)."""
    _require_link_edit(actor)
    partner_id = actor.partner_id if actor.is_partner_user else data.get("partner_id")
    partner = Partner.objects.filter(pk=partner_id).first() if partner_id is not None else None
    if partner is None:
        raise ValidationError({"partner": "Choose the partner this link is for."})
    values = _clean_link(data, creating=True)
    program = _program(actor, data.get("program_id"))
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
    with transaction.atomic(), audited_change(actor=actor, instance=link, partner_id=link.partner_id):
        if "program_id" in data:
            link.program = _program(actor, data["program_id"])
        for key, value in values.items():
            setattr(link, key, value)
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:
            raise ValidationError({"code": "This code is taken."}) from None
    return link


# --- coupons ------------------------------------------------------------------------------------------


class CouponInput(TypedDict, total=False):
    partner_id: int
    program_id: int | None
    code: str
    description: str
    is_active: bool


def _clean_coupon(data: CouponInput, *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "code" in data:
        code = clean_text(errors, "code", data.get("code"), 64, required=True).upper()
        if "code" not in errors and not COUPON_CODE.match(code):
            errors["code"] = "2-64 letters, digits, '-' or '_'."
        out["code"] = code
    if "description" in data:
        out["description"] = clean_text(errors, "description", data["description"], 200)
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationError(errors)
    return out


def _coupon_taken(actor: Actor, code: str, exclude: int | None = None) -> bool:
    with unscoped():
        return (
            Coupon.objects.filter(workspace_id=actor.workspace_id, code=code)
            .exclude(pk=exclude or 0)
            .exists()
        )


def coupon_create(*, actor: Actor, data: CouponInput) -> Coupon:
    """Staff: a coupon code for a partner (codes are unique in the workspace, stored upper-case)."""
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor creates coupons")
    actor.require(Perm.PARTNER_EDIT)
    partner_id = data.get("partner_id")
    partner = Partner.objects.filter(pk=partner_id).first() if partner_id is not None else None
    if partner is None:
        raise ValidationError({"partner": "Choose the partner this coupon is for."})
    values = _clean_coupon(data, creating=True)
    if _coupon_taken(actor, values["code"]):
        raise ValidationError({"code": "This coupon code exists already."})
    coupon = Coupon(
        workspace_id=actor.workspace_id,
        partner=partner,
        program=_program(actor, data.get("program_id")),
        **values,
    )
    try:
        with transaction.atomic():
            coupon.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                instance=coupon,
                after=snapshot(coupon),
                partner_id=partner.pk,
            )
    except IntegrityError:
        raise ValidationError({"code": "This coupon code exists already."}) from None
    return coupon


def coupon_update(*, actor: Actor, coupon: Coupon, data: CouponInput) -> Coupon:
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor edits coupons")
    actor.require(Perm.PARTNER_EDIT)
    values = _clean_coupon(data, creating=False)
    if "code" in values and _coupon_taken(actor, values["code"], exclude=coupon.pk):
        raise ValidationError({"code": "This coupon code exists already."})
    with transaction.atomic(), audited_change(actor=actor, instance=coupon, partner_id=coupon.partner_id):
        if "program_id" in data:
            coupon.program = _program(actor, data["program_id"])
        for key, value in values.items():
            setattr(coupon, key, value)
        coupon.save()
    return coupon


# --- clicks (the redirect) ----------------------------------------------------------------------------


def ip_hash(ip: str) -> str:
    """HMAC-SHA256 of the client address keyed by the secret key: comparable, not reversible."""
    if not ip:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


class RedirectLink(NamedTuple):
    """What the redirect needs of a link (read with one indexed query, no model instance)."""

    pk: int
    workspace_id: int
    partner_id: int
    destination: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str


class RecordedClick(NamedTuple):
    click_id: str
    clicked_at: datetime.datetime


@functools.cache  # one database per process; built once
def _redirect_sql() -> tuple[str, str, str]:
    """The link lookup, the click insert and the click's rollup queue entry (SQLite's redirect; the
    lookup alone serves HEAD requests on both databases)."""
    quote = connection.ops.quote_name
    link_table = quote(TrackingLink._meta.db_table)
    click_table = quote(Click._meta.db_table)
    columns = ", ".join(quote(c) for c in ("id", "workspace_id", "partner_id", "destination", *UTM_FIELDS))
    select = f"SELECT {columns} FROM {link_table} WHERE {quote('code')} = %s AND {quote('is_active')}"  # noqa: S608
    click_columns = (
        "workspace_id",
        "partner_id",
        "link_id",
        "click_id",
        "clicked_at",
        "ip_hash",
        "user_agent",
        "referrer",
    )
    insert = (
        f"INSERT INTO {click_table} ({', '.join(quote(c) for c in click_columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(click_columns))}) RETURNING {quote('id')}"
    )
    queue = (
        f"INSERT INTO {quote(RollupPending._meta.db_table)} "  # noqa: S608
        "(workspace_id, created_at, event_ranges, click_ids) VALUES (%s, %s, '[]', %s)"
    )
    return select, insert, queue


@functools.cache
def _redirect_sql_postgres() -> str:
    """PostgreSQL: the lookup, the click and its rollup queue entry as one statement (one round trip,
    atomic on its own): the redirect's cost is then mostly the HTTP request itself."""
    quote = connection.ops.quote_name
    link_table = quote(TrackingLink._meta.db_table)
    click_table = quote(Click._meta.db_table)
    pending_table = quote(RollupPending._meta.db_table)
    columns = ", ".join(quote(c) for c in ("id", "workspace_id", "partner_id", "destination", *UTM_FIELDS))
    return (
        f"WITH link AS (SELECT {columns} FROM {link_table} WHERE code = %s AND is_active), "  # noqa: S608
        f"click AS (INSERT INTO {click_table} "
        "(workspace_id, partner_id, link_id, click_id, clicked_at, ip_hash, user_agent, referrer) "
        "SELECT workspace_id, partner_id, id, %s, %s, %s, %s, %s FROM link RETURNING id, workspace_id), "
        f"queued AS (INSERT INTO {pending_table} (workspace_id, created_at, event_ranges, click_ids) "
        "SELECT workspace_id, %s, '[]'::jsonb, jsonb_build_array(id) FROM click) "
        "SELECT link.* FROM link"
    )


def link_active(*, code: str) -> RedirectLink | None:
    """The active link of a public ``/r/<code>`` (codes are global: no scope needed)."""
    code = code.lower()
    if not LINK_CODE.match(code):
        return None
    select, _, _ = _redirect_sql()
    with connection.cursor() as cursor:
        cursor.execute(select, [code])
        row = cursor.fetchone()
    return RedirectLink(*row) if row is not None else None


def destination_url(*, link: RedirectLink | TrackingLink, click_id: str | None) -> str:
    """The link's destination with its UTM parameters (unless the destination sets them) and ``prm_click``."""
    parts = urlsplit(link.destination)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    for name in UTM_FIELDS:
        value = getattr(link, name)
        if value and name not in present:
            query.append((name, value))
    if click_id is not None:
        query = [(k, v) for k, v in query if k != "prm_click"] + [("prm_click", click_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def click_record(
    *, code: str, ip: str, user_agent: str, referrer: str, now: datetime.datetime | None = None
) -> tuple[RedirectLink, RecordedClick] | None:
    """Record a visit of ``/r/<code>``: the active link and the stored click, or None (no such link).

    The hot path of the product, so plain SQL: one indexed lookup, then the click insert and its entry in
    the rollup queue in one transaction (no visitor waits on a shared rollup row; the job worker adds
    the clicks within seconds). Bots are recorded too (the fraud rules judge conversions, not clicks)."""
    at = now or timezone.now()
    click_id = uuid4_hex()
    if connection.vendor == "postgresql":
        code = code.lower()
        if not LINK_CODE.match(code):
            return None
        # Prepared once per connection (server-side binding): the server only binds and runs it.
        with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]  # our backend
            cursor.execute(
                _redirect_sql_postgres(),
                [
                    code,
                    click_id,
                    at,
                    ip_hash(ip),
                    user_agent.replace("\x00", "")[:400],
                    referrer.replace("\x00", "")[:1000],
                    at,
                ],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        found = RedirectLink(*row)
        transaction.on_commit(lambda: rollups_fold_soon(found.workspace_id))
        return found, RecordedClick(click_id, at)
    link = link_active(code=code)
    if link is None:
        return None
    _, insert, queue = _redirect_sql()
    stamp = connection.ops.adapt_datetimefield_value(at)
    params: list[Any] = [
        link.workspace_id,
        link.partner_id,
        link.pk,
        click_id,
        stamp,
        ip_hash(ip),
        user_agent.replace("\x00", "")[:400],
        referrer.replace("\x00", "")[:1000],
    ]
    # The click and its queue entry as two plain statements: the write lock, which every redirect of
    # every server process takes in turn, is held for as little as possible.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, params)
        (pk,) = cursor.fetchone()
        cursor.execute(queue, [link.workspace_id, stamp, f"[{pk}]"])
        transaction.on_commit(lambda: rollups_fold_soon(link.workspace_id))
    return link, RecordedClick(click_id, at)
