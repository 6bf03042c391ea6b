"""Writes for referral tracking: tracking links, coupons and clicks (the ``/r/<code>`` redirect).

A click is stored with its entry in the rollup queue in one transaction; the job worker adds it to the
rollups within seconds. Conversions, which these links and coupons attribute, are in ``conversions``.
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
from typing import Any, NamedTuple, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from openprm.activity.models import Click, Coupon, RollupPending, TrackingLink
from openprm.activity.rollups import rollups_fold_soon
from openprm.activity.selectors.referrals import (
    HOST_OF_URL,
    effective_hosts,
    host_allowed,
    tracking_hosts_for,
)
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_change, snapshot
from openprm.core.bulk import uuid4_hex
from openprm.core.db import retry_on_dropped_connection
from openprm.core.models import AuditEntry, Workspace
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


# --- allowed destination hosts ---------------------------------------------------------------------------
# A link may only lead to a host on the allowed list of its program (when that list is non-empty) or else
# of its workspace; an allowed host also allows its subdomains. With no list at all nobody can create or
# save an active link, and ``/r/<code>`` refuses to send visitors anywhere.

MAX_HOSTS = 100
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
NO_HOSTS_PARTNER = (
    "The vendor has not configured allowed destinations for tracking links yet, so links cannot be "
    "created. Please ask your partner manager."
)
NO_HOSTS_STAFF = (
    "No allowed destination hosts are configured, so no tracking link can lead anywhere. An admin sets "
    "them on Referrals › Allowed destinations (/activity/referrals/destinations/)."
)


def host_normalize(value: Any) -> str:
    """One allowed host as stored: lower-case, IDNA (punycode), no scheme, path, port or wildcard.

    Raises ValueError with the reason."""
    if not isinstance(value, str):
        raise ValueError("must be text")
    host = value.strip().lower().removesuffix(".")
    if not host:
        raise ValueError("is empty")
    if "*" in host:
        raise ValueError(f"{value!r}: no wildcards; a host already allows its subdomains")
    if "://" in host or "/" in host or "?" in host or "#" in host:
        raise ValueError(f"{value!r}: give the host only (e.g. www.example.com), no scheme or path")
    if ":" in host or "@" in host or any(c.isspace() for c in host):
        raise ValueError(f"{value!r}: give the host only, no port, user or spaces")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{value!r} is not a valid host name") from None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r} is not a valid host name (e.g. example.com)")
    if labels[-1].isdigit():
        raise ValueError(f"{value!r}: IP addresses are not allowed, give a host name")
    return host


def hosts_normalize(values: Any, field: str = "hosts") -> list[str]:
    """A list of allowed hosts, normalised and de-duplicated in order (ValidationError on ``field``)."""
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,]+", values) if v]
    if not isinstance(values, list | tuple):
        raise ValidationError({field: "Give a list of host names."})
    if len(values) > MAX_HOSTS:
        raise ValidationError({field: f"At most {MAX_HOSTS} hosts."})
    out: list[str] = []
    for value in values:
        try:
            host = host_normalize(value)
        except ValueError as exc:
            raise ValidationError({field: f"Host {exc}."}) from None
        if host not in out:
            out.append(host)
    return out


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


def _check_allowed(actor: Actor, *, destination: str, program: Program | None) -> None:
    """Refuse an active link whose destination is outside the allowed hosts (or when none are set)."""
    allowed = tracking_hosts_for(workspace_id=actor.workspace_id, program=program)
    if not allowed:
        raise ValidationError({"destination": NO_HOSTS_PARTNER if actor.is_partner_user else NO_HOSTS_STAFF})
    if not host_allowed(destination, allowed):
        raise ValidationError(
            {"destination": f"Links may only lead to {', '.join(allowed)} (or their subdomains)."}
        )


def tracking_hosts_set(*, actor: Actor, hosts: Any, program: Program | None = None) -> list[str]:
    """Admins: set the workspace's allowed destination hosts, or a program's (empty: the program uses
    the workspace's). Hosts are normalised (lower-case, IDNA, host only); audited."""
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor's admins set the allowed destinations")
    actor.require(Perm.WORKSPACE_ADMIN)
    cleaned = hosts_normalize(hosts)
    with transaction.atomic():
        if program is None:
            with unscoped():
                target: Any = Workspace.objects.select_for_update().get(pk=actor.workspace_id)
        else:
            target = Program.objects.select_for_update().get(pk=program.pk)
        with audited_change(actor=actor, instance=target):
            target.tracking_allowed_hosts = cleaned
            target.save(update_fields=["tracking_allowed_hosts"])
    if program is not None:
        program.tracking_allowed_hosts = cleaned
    return cleaned


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
    if partner.archived_at:
        raise ValidationError({"partner": partner.archived_message})
    values = _clean_link(data, creating=True)
    program = _program(actor, data.get("program_id"))
    if values.get("is_active", True):
        _check_allowed(actor, destination=values["destination"], program=program)
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
    program = _program(actor, data["program_id"]) if "program_id" in data else link.program
    if values.get("is_active", link.is_active):
        # An active link must lead to an allowed host: deactivating always works, anything else on a
        # link outside the hosts needs its destination fixed (or the hosts widened) first.
        _check_allowed(actor, destination=values.get("destination", link.destination), program=program)
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
    if partner.archived_at:
        raise ValidationError({"partner": partner.archived_message})
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
    allowed: bool  # whether the destination is within the link's allowed hosts right now


class RecordedClick(NamedTuple):
    click_id: str
    clicked_at: datetime.datetime


@functools.lru_cache(maxsize=1024)
def _parsed_hosts(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text) or ())


def _hosts(value: Any) -> tuple[str, ...]:
    """A host list as the raw read returns it (JSON text on SQLite; parsed once per distinct text)."""
    if isinstance(value, str):
        return _parsed_hosts(value)
    return tuple(value or ())


def _redirect_link(row: Any) -> RedirectLink:
    """A link row of the lookup (its columns, then the workspace's and the program's hosts)."""
    *columns, workspace_hosts, program_hosts = row
    allowed = host_allowed(columns[3], effective_hosts(_hosts(workspace_hosts), _hosts(program_hosts)))
    return RedirectLink(*columns, allowed)  # type: ignore[call-arg]  # the 11 columns, then allowed


def _link_columns(quote: Any) -> str:
    return ", ".join(
        f"l.{quote(c)}" for c in ("id", "workspace_id", "partner_id", "destination", *UTM_FIELDS)
    )


def _link_joins(quote: Any, extra: str = "") -> str:
    """The link with its workspace and (optional) program: their allowed hosts come in the same read."""
    return (
        f"FROM {quote(TrackingLink._meta.db_table)} l "
        f"JOIN {quote(Workspace._meta.db_table)} w ON w.id = l.workspace_id "
        f"LEFT JOIN {quote(Program._meta.db_table)} p ON p.id = l.program_id {extra}"
        "WHERE l.code = %s AND l.is_active"
    )


@functools.cache  # one database per process; built once
def _redirect_sql() -> tuple[str, str, str]:
    """The link lookup, the click insert and the click's rollup queue entry (SQLite's redirect; the
    lookup alone serves HEAD requests on both databases)."""
    quote = connection.ops.quote_name
    click_table = quote(Click._meta.db_table)
    select = (
        f"SELECT {_link_columns(quote)}, w.tracking_allowed_hosts, p.tracking_allowed_hosts "
        + _link_joins(quote)
    )
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
    """PostgreSQL: the lookup, the allowed-host check, the click and its rollup queue entry as one
    statement (one round trip, atomic on its own): the redirect's cost is then mostly the HTTP request
    itself. The host check is ``host_allowed`` in SQL (same host rule, HOST_OF_URL; a test compares
    the two); a link outside its hosts is returned with ``allowed`` false and records no click."""
    quote = connection.ops.quote_name
    click_table = quote(Click._meta.db_table)
    pending_table = quote(RollupPending._meta.db_table)
    assert "'" not in HOST_OF_URL and "%" not in HOST_OF_URL
    hosts = (
        "CASE WHEN jsonb_array_length(COALESCE(p.tracking_allowed_hosts, '[]'::jsonb)) > 0 "
        "THEN p.tracking_allowed_hosts ELSE w.tracking_allowed_hosts END"
    )
    host = f"CROSS JOIN LATERAL (SELECT lower(substring(l.destination FROM '{HOST_OF_URL}')) AS host) d "  # noqa: S608
    allowed = (
        f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({hosts}) AS h(host) "  # noqa: S608
        "WHERE d.host = h.host OR right(d.host, length(h.host) + 1) = '.' || h.host)"
    )
    return (
        f"WITH link AS (SELECT {_link_columns(quote)}, {allowed} AS allowed "  # noqa: S608
        f"{_link_joins(quote, host)}), "
        f"click AS (INSERT INTO {click_table} "
        "(workspace_id, partner_id, link_id, click_id, clicked_at, ip_hash, user_agent, referrer) "
        "SELECT workspace_id, partner_id, id, %s, %s, %s, %s, %s FROM link WHERE allowed "
        "RETURNING id, workspace_id), "
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
    return _redirect_link(row) if row is not None else None


def link_state(*, code: str) -> str:
    """Why ``/r/<code>`` found no active link: ``"inactive"`` (deactivated) or ``"unknown"`` (the cold
    path of the redirect's error page)."""
    code = code.lower()
    if LINK_CODE.match(code):
        with unscoped():
            if TrackingLink.objects.filter(code=code).exists():
                return "inactive"
    return "unknown"


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
) -> tuple[RedirectLink, RecordedClick | None] | None:
    """Record a visit of ``/r/<code>``: the active link and the stored click, or None (no such link).
    A link whose destination is outside its allowed hosts (``link.allowed`` false) records no click.

    The hot path of the product, so plain SQL: one indexed lookup, then the click insert and its entry in
    the rollup queue in one transaction (no visitor waits on a shared rollup row; the job worker adds
    the clicks within seconds). Bots are recorded too (the fraud rules judge conversions, not clicks).

    When the database connection drops under it, the visit is recorded once more on a new connection,
    unless the first attempt's click (found by its click id) was committed after all: one click per
    visit, and no error for the visitor."""
    at = now or timezone.now()
    click_id = uuid4_hex()
    code = code.lower()
    if not LINK_CODE.match(code):
        return None
    values = (
        click_id,
        at,
        ip_hash(ip),
        user_agent.replace("\x00", "")[:400],
        referrer.replace("\x00", "")[:1000],
    )

    def committed() -> tuple[RedirectLink, RecordedClick | None] | None:
        with unscoped():
            if not Click.objects.filter(click_id=click_id).exists():
                return None
        link = link_active(code=code)
        if link is None:  # deactivated in between: still the click that was stored
            return None
        rollups_fold_soon(link.workspace_id)
        return link, RecordedClick(click_id, at)

    return retry_on_dropped_connection(lambda: _click_insert(code, values), committed=committed)


def _click_insert(
    code: str, values: tuple[str, datetime.datetime, str, str, str]
) -> tuple[RedirectLink, RecordedClick | None] | None:
    click_id, at, hashed_ip, user_agent, referrer = values
    if connection.vendor == "postgresql":
        # Prepared once per connection (server-side binding): the server only binds and runs it.
        with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]  # our backend
            cursor.execute(
                _redirect_sql_postgres(), [code, click_id, at, hashed_ip, user_agent, referrer, at]
            )
            row = cursor.fetchone()
        if row is None:
            return None
        found = RedirectLink(*row)
        if not found.allowed:
            return found, None
        transaction.on_commit(lambda: rollups_fold_soon(found.workspace_id))
        return found, RecordedClick(click_id, at)
    link = link_active(code=code)
    if link is None:
        return None
    if not link.allowed:
        return link, None
    _, insert, queue = _redirect_sql()
    stamp = connection.ops.adapt_datetimefield_value(at)
    params: list[Any] = [
        link.workspace_id,
        link.partner_id,
        link.pk,
        click_id,
        stamp,
        hashed_ip,
        user_agent,
        referrer,
    ]
    # The click and its queue entry as two plain statements: the write lock, which every redirect of
    # every server process takes in turn, is held for as little as possible.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, params)
        (pk,) = cursor.fetchone()
        cursor.execute(queue, [link.workspace_id, stamp, f"[{pk}]"])
        transaction.on_commit(lambda: rollups_fold_soon(link.workspace_id))
    return link, RecordedClick(click_id, at)
