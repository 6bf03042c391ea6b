"""Writes for referral tracking: tracking links, coupons, clicks (the redirect) and conversions.

Clicks and conversions add their rollup deltas (``rollups_add``) in the transaction that stores them; a
conversion's status change (staff accepting or rejecting a flagged one) adds or takes back its deltas.
The attribution decision and the fraud rules are pure functions in ``activity.attribution``; this module
gathers their inputs from the database and stores the outcome.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
import re
import secrets
import string
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from openprm.activity import attribution
from openprm.activity.models import Click, Conversion, Coupon, RollupPending, TrackingLink
from openprm.activity.rollups import conversion_deltas, rollups_add, rollups_fold_soon, rollups_queue
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, snapshot
from openprm.core.bulk import uuid4_hex
from openprm.core.models import AuditEntry
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_text
from openprm.partners.models import Contact, Partner, Program

LINK_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
COUPON_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,63}$")
EMAIL_HASH = re.compile(r"^[0-9a-f]{64}$")
CODE_ALPHABET = string.ascii_lowercase + string.digits
GENERATED_CODE_LENGTH = 8
MAX_AMOUNT = Decimal("999999999999.99")
FUTURE_TOLERANCE = datetime.timedelta(days=1)
PRIOR_LIMIT = 200  # the customer's earlier conversions considered for attribution
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class Conflict(Exception):
    """An idempotency key reused for a different request (the API answers 409)."""


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
def _redirect_sql() -> tuple[str, str]:
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
    return select, insert


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
    select, _ = _redirect_sql()
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
        with connection.cursor() as cursor:
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
    _, insert = _redirect_sql()
    params: list[Any] = [
        link.workspace_id,
        link.partner_id,
        link.pk,
        click_id,
        connection.ops.adapt_datetimefield_value(at),
        ip_hash(ip),
        user_agent.replace("\x00", "")[:400],
        referrer.replace("\x00", "")[:1000],
    ]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(insert, params)
            (pk,) = cursor.fetchone()
        rollups_queue(workspace_id=link.workspace_id, click_ids=[pk])
    return link, RecordedClick(click_id, at)


# --- conversions --------------------------------------------------------------------------------------


class ConversionInput(TypedDict, total=False):
    kind: str
    amount: Decimal | int | str
    currency: str
    occurred_at: datetime.datetime | None
    customer_external_id: str
    customer_email: str
    customer_email_hash: str
    click_id: str
    link_code: str
    coupon: str
    refund_of: str | uuid.UUID | None
    properties: dict[str, Any]


def _money(errors: dict[str, str], value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0.00")
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        errors["amount"] = f"Not an amount: '{value}'."
        return Decimal("0.00")
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        errors["amount"] = f"Must be between 0 and {MAX_AMOUNT}."
    return amount


def _clean_conversion(
    data: ConversionInput, *, workspace_currency: str, now: datetime.datetime
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    kind = clean_text(errors, "kind", data.get("kind"), 20, required=True).lower()
    if "kind" not in errors and kind not in Conversion.Kind.values:
        errors["kind"] = f"Unknown kind '{kind}'. Known: {', '.join(Conversion.Kind.values)}."
    out["kind"] = kind
    out["amount"] = _money(errors, data.get("amount"))
    currency = clean_text(errors, "currency", data.get("currency") or workspace_currency, 3).upper()
    if "currency" not in errors and (len(currency) != 3 or not currency.isalpha() or not currency.isascii()):
        errors["currency"] = f"'{currency}' is not an ISO 4217 currency code."
    out["currency"] = currency
    occurred = data.get("occurred_at")
    out["occurred_given"] = occurred is not None
    if occurred is None:
        occurred = now
    elif not isinstance(occurred, datetime.datetime):
        errors["occurred_at"] = "Use an ISO date-time."
        occurred = now
    elif timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred, datetime.UTC)
    if occurred > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = "Lies more than a day in the future."
    elif occurred.year < 2000:
        errors["occurred_at"] = "Lies before the year 2000."
    out["occurred_at"] = occurred
    out["customer_external_id"] = clean_text(
        errors, "customer_external_id", data.get("customer_external_id"), 200
    )
    email = clean_text(errors, "customer_email", data.get("customer_email"), 254)
    if email and "customer_email" not in errors and ("@" not in email or email.startswith("@")):
        errors["customer_email"] = "Not an e-mail address."
    hashed = clean_text(errors, "customer_email_hash", data.get("customer_email_hash"), 64).lower()
    if hashed and "customer_email_hash" not in errors and not EMAIL_HASH.match(hashed):
        errors["customer_email_hash"] = "A hex SHA-256 of the trimmed, lower-cased e-mail address."
    if email and hashed and attribution.email_hash(email) != hashed:
        errors["customer_email_hash"] = "Does not match customer_email."
    out["customer_email_domain"] = attribution.email_domain(email) if email else ""
    out["customer_email_hash"] = attribution.email_hash(email) if email else hashed
    out["click_id"] = clean_text(errors, "click_id", data.get("click_id"), 32).lower()
    out["link_code"] = clean_text(errors, "link_code", data.get("link_code"), 64).lower()
    out["coupon"] = clean_text(errors, "coupon", data.get("coupon"), 64).upper()
    refund_of = data.get("refund_of")
    out["refund_of"] = None
    if refund_of:
        try:
            out["refund_of"] = uuid.UUID(str(refund_of))
        except ValueError:
            errors["refund_of"] = "Not a conversion id."
    if kind == Conversion.Kind.REFUND and refund_of is None and "refund_of" not in errors:
        errors["refund_of"] = "A refund names the conversion it refunds."
    if kind != Conversion.Kind.REFUND and refund_of:
        errors["refund_of"] = "Only refunds refer to another conversion."
    properties = data.get("properties") or {}
    if not isinstance(properties, dict) or len(json.dumps(properties, default=str)) > 20000:
        errors["properties"] = "Must be an object of at most 20,000 characters."
    out["properties"] = properties
    if errors:
        raise ValidationError(errors)
    return out


def _request_hash(values: dict[str, Any]) -> str:
    """What a retry must repeat: the request as sent (``occurred_at`` only when it was given)."""
    body = {
        key: values[key]
        for key in (
            "kind",
            "amount",
            "currency",
            "customer_external_id",
            "customer_email_hash",
            "click_id",
            "link_code",
            "coupon",
            "refund_of",
            "properties",
        )
    }
    body["occurred_at"] = values["occurred_at"] if values["occurred_given"] else None
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _by_key(workspace_id: int, key: str) -> Conversion | None:
    with unscoped():
        return Conversion.objects.filter(workspace_id=workspace_id, idempotency_key=key).first()


def _replay(existing: Conversion, request_hash: str) -> tuple[Conversion, bool]:
    if existing.request_hash != request_hash:
        raise Conflict("This idempotency key was used for a different conversion.")
    return existing, False


def _rules(workspace_id: int) -> dict[int | None, attribution.Rule]:
    rules: dict[int | None, attribution.Rule] = {}
    for program in Program.objects.filter(workspace_id=workspace_id).order_by("-is_default", "name"):
        rule = attribution.Rule(model=program.attribution_model, window_days=program.attribution_window_days)
        rules[program.pk] = rule
        rules.setdefault(None, rule)
    return rules


def _touches(workspace_id: int, clicks: list[Click], explicit_pk: int | None) -> dict[int, attribution.Touch]:
    link_programs = dict(
        TrackingLink.objects.filter(
            workspace_id=workspace_id, pk__in={c.link_id for c in clicks}
        ).values_list("pk", "program_id")
    )
    return {
        c.pk: attribution.Touch(
            click_pk=c.pk,
            partner_id=c.partner_id,
            program_id=link_programs.get(c.link_id),
            at=c.clicked_at,
            ip_hash=c.ip_hash,
            explicit=c.pk == explicit_pk,
        )
        for c in clicks
    }


def _evidence(workspace_id: int, values: dict[str, Any]) -> tuple[attribution.Evidence, dict[str, Any]]:
    """The attribution inputs (and the rows they name; unknown references are a 422 on their field)."""
    refs: dict[str, Any] = {"click": None, "link": None, "coupon": None, "refund_of": None}
    errors: dict[str, str] = {}
    if values["click_id"]:
        refs["click"] = Click.objects.filter(workspace_id=workspace_id, click_id=values["click_id"]).first()
        if refs["click"] is None:
            errors["click_id"] = "Unknown click id."
    if values["link_code"]:
        refs["link"] = TrackingLink.objects.filter(
            workspace_id=workspace_id, code=values["link_code"]
        ).first()
        if refs["link"] is None:
            errors["link_code"] = "Unknown tracking link."
    if values["coupon"]:
        refs["coupon"] = Coupon.objects.filter(workspace_id=workspace_id, code=values["coupon"]).first()
        if refs["coupon"] is None:
            errors["coupon"] = "Unknown coupon."
    original: attribution.Original | None = None
    if values["refund_of"] is not None:
        refs["refund_of"] = (
            Conversion.objects.filter(workspace_id=workspace_id, public_id=values["refund_of"])
            .select_for_update()
            .first()
        )
        if refs["refund_of"] is None:
            errors["refund_of"] = "Unknown conversion."
    if errors:
        raise ValidationError(errors)
    if (refunded := refs["refund_of"]) is not None:
        _check_refund(refunded, values)
        original = attribution.Original(
            partner_id=refunded.partner_id,
            program_id=refunded.program_id,
            click_pk=refunded.click_id,
            attributed_by=refunded.attributed_by,
            accepted=refunded.status == Conversion.Status.ACCEPTED,
        )
    customer = Q(pk__in=[])
    if values["customer_external_id"]:
        customer |= Q(customer_external_id=values["customer_external_id"])
    if values["customer_email_hash"]:
        customer |= Q(customer_email_hash=values["customer_email_hash"])
    priors_rows = list(
        Conversion.objects.filter(
            customer,
            workspace_id=workspace_id,
            status=Conversion.Status.ACCEPTED,
            partner__isnull=False,
            occurred_at__lte=values["occurred_at"],
        )
        .exclude(kind=Conversion.Kind.REFUND)
        .select_related("click")
        .order_by("occurred_at", "id")[:PRIOR_LIMIT]
        if original is None
        else []
    )
    clicks = [p.click for p in priors_rows if p.click is not None]
    if refs["click"] is not None:
        clicks.append(refs["click"])
    touches = _touches(workspace_id, clicks, refs["click"].pk if refs["click"] is not None else None)
    link, coupon = refs["link"], refs["coupon"]
    evidence = attribution.Evidence(
        occurred_at=values["occurred_at"],
        rules=_rules(workspace_id),
        explicit_click=touches[refs["click"].pk] if refs["click"] is not None else None,
        link=(link.partner_id, link.program_id, link.pk) if link is not None else None,
        coupon=(coupon.partner_id, coupon.program_id, coupon.pk) if coupon is not None else None,
        priors=[
            attribution.Prior(
                partner_id=p.partner_id,  # type: ignore[arg-type]  # filtered: not null
                program_id=p.program_id,
                occurred_at=p.occurred_at,
                touch=touches.get(p.click_id) if p.click_id is not None else None,
            )
            for p in priors_rows
        ],
        refund_of=original,
    )
    refs["touches"] = touches
    return evidence, refs


def _check_refund(original: Conversion, values: dict[str, Any]) -> None:
    if original.kind == Conversion.Kind.REFUND:
        raise ValidationError({"refund_of": "A refund cannot be refunded."})
    if values["currency"] != original.currency:
        raise ValidationError({"currency": f"The refunded conversion is in {original.currency}."})
    refunded = Conversion.objects.filter(refund_of=original).exclude(
        status=Conversion.Status.REJECTED
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    left = original.amount - refunded
    if values["amount"] > left:
        raise ValidationError({"amount": f"At most {left} {original.currency} is left to refund."})
    if not values["customer_external_id"] and not values["customer_email_hash"]:
        values["customer_external_id"] = original.customer_external_id
        values["customer_email_hash"] = original.customer_email_hash


def _inactive_code(decision: attribution.Decision, refs: dict[str, Any]) -> str:
    """The deactivated link or coupon a decision rests on, named for the flag ("" when none)."""
    link, coupon = refs["link"], refs["coupon"]
    if decision.attributed_by == attribution.BY_LINK and link is not None and not link.is_active:
        return f"tracking link {link.code}"
    if decision.attributed_by == attribution.BY_COUPON and coupon is not None and not coupon.is_active:
        return f"coupon {coupon.code}"
    return ""


def _fraud_facts(
    workspace_id: int,
    decision: attribution.Decision,
    values: dict[str, Any],
    refs: dict[str, Any],
) -> attribution.FraudFacts:
    if decision.partner_id is None or decision.attributed_by == attribution.BY_REFUND:
        return attribution.FraudFacts()
    partner = (
        Partner.objects.filter(workspace_id=workspace_id, pk=decision.partner_id).only("domains").first()
    )
    domains = frozenset(str(d).lower() for d in (partner.domains if partner else []) if d)
    contact_hashes = frozenset(
        attribution.email_hash(e)
        for e in Contact.objects.filter(workspace_id=workspace_id, partner_id=decision.partner_id)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    touches: dict[int, attribution.Touch] = refs["touches"]
    near = 0
    touch = touches.get(decision.click_pk) if decision.click_pk is not None else None
    if touch is not None and touch.ip_hash:
        window = attribution.CLICK_FLOOD_WINDOW
        near = Click.objects.filter(
            workspace_id=workspace_id,
            ip_hash=touch.ip_hash,
            clicked_at__gte=touch.at - window,
            clicked_at__lte=touch.at + window,
        ).count()
    return attribution.FraudFacts(
        customer_email_domain=values["customer_email_domain"],
        customer_email_hash=values["customer_email_hash"],
        partner_domains=domains,
        contact_email_hashes=contact_hashes,
        clicks_near_from_ip=near,
        partner_has_click=any(t.partner_id == decision.partner_id for t in touches.values()),
        inactive_code=_inactive_code(decision, refs),
    )


def _require_report(actor: Actor) -> None:
    if actor.is_partner_user:
        raise PermissionDenied("Conversions are reported by the vendor")
    actor.require(Perm.PARTNER_EDIT)


def conversion_record(
    *, actor: Actor, data: ConversionInput, idempotency_key: str | None, now: datetime.datetime | None = None
) -> tuple[Conversion, bool]:
    """Store a reported conversion, attributed and checked by the fraud rules; returns (row, created).

    The same idempotency key with the same request returns the stored conversion and stores nothing; with
    a different request it raises ``Conflict``."""
    _require_report(actor)
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError(
            {"idempotency_key": "Send an idempotency key (field or Idempotency-Key header)."}
        )
    if len(key) > 200 or "\x00" in key:
        raise ValidationError({"idempotency_key": "At most 200 characters, no NUL."})
    workspace_id = actor.workspace_id
    from openprm.core.models import Workspace

    currency = Workspace.objects.get(pk=workspace_id).currency
    values = _clean_conversion(data, workspace_currency=currency, now=now or timezone.now())
    request_hash = _request_hash(values)
    if (existing := _by_key(workspace_id, key)) is not None:
        return _replay(existing, request_hash)
    try:
        with transaction.atomic(), unscoped():  # the vendor's report spans every partner of the workspace
            evidence, refs = _evidence(workspace_id, values)
            decision = attribution.attribute(evidence)
            facts = _fraud_facts(workspace_id, decision, values, refs)
            flags = (*decision.flags, *attribution.fraud_flags(decision, facts))
            conversion = Conversion(
                workspace_id=workspace_id,
                partner_id=decision.partner_id,
                program_id=decision.program_id,
                kind=values["kind"],
                occurred_at=values["occurred_at"],
                amount=values["amount"],
                currency=values["currency"],
                customer_external_id=values["customer_external_id"],
                customer_email_hash=values["customer_email_hash"],
                click_id=decision.click_pk,
                link=refs["link"],
                coupon=refs["coupon"],
                refund_of=refs["refund_of"],
                attributed_by=decision.attributed_by,
                status=Conversion.Status.FLAGGED if flags else Conversion.Status.ACCEPTED,
                flags=[f.as_json() for f in flags],
                idempotency_key=key,
                request_hash=request_hash,
                properties=values["properties"],
            )
            conversion.save(force_insert=True)
            rollups_add(workspace_id=workspace_id, sums=conversion_deltas([_delta_row(conversion)]))
    except IntegrityError:
        existing = _by_key(workspace_id, key)  # a concurrent retry won the race
        if existing is None:
            raise
        return _replay(existing, request_hash)
    return conversion, True


def _delta_row(c: Conversion) -> tuple[int | None, str, datetime.datetime, Decimal, str]:
    return (c.partner_id, c.kind, c.occurred_at, c.amount, c.status)


def _set_status(
    *, actor: Actor, conversion: Conversion, status: str, allowed_from: set[str], note: str
) -> Conversion:
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor reviews conversions")
    actor.require(Perm.PARTNER_EDIT)
    note = note.replace("\x00", "").strip()[:500]
    with transaction.atomic(), unscoped():
        current = Conversion.objects.select_for_update().get(
            pk=conversion.pk, workspace_id=actor.workspace_id
        )
        if current.status == status:
            return current
        if current.status not in allowed_from:
            raise ValidationError(
                {"status": f"A {current.get_status_display().lower()} conversion cannot be changed so."}
            )
        before = snapshot(current, {"review_note": ""})
        rollups_add(workspace_id=current.workspace_id, sums=conversion_deltas([_delta_row(current)], sign=-1))
        current.status = status
        current.save(update_fields=["status", "updated_at"])
        rollups_add(workspace_id=current.workspace_id, sums=conversion_deltas([_delta_row(current)]))
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            instance=current,
            before=before,
            after=snapshot(current, {"review_note": note}),
            partner_id=current.partner_id,
        )
    return current


def conversion_accept(*, actor: Actor, conversion: Conversion, note: str = "") -> Conversion:
    """Staff: accept a flagged (or rejected) conversion; it counts from now on."""
    return _set_status(
        actor=actor,
        conversion=conversion,
        status=Conversion.Status.ACCEPTED,
        allowed_from={Conversion.Status.FLAGGED, Conversion.Status.REJECTED},
        note=note,
    )


def conversion_reject(*, actor: Actor, conversion: Conversion, note: str = "") -> Conversion:
    """Staff: reject a flagged (or accepted) conversion; it no longer counts."""
    return _set_status(
        actor=actor,
        conversion=conversion,
        status=Conversion.Status.REJECTED,
        allowed_from={Conversion.Status.FLAGGED, Conversion.Status.ACCEPTED},
        note=note,
    )
