"""Clicks: the ``/r/<code>`` redirect's link lookup and click recording, the hot path of the product.

A click is stored with its entry in the rollup queue in one transaction; the job worker adds it to the
rollups within seconds.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from openprm.activity.models import Click, RollupPending, TrackingLink
from openprm.activity.rollups import rollups_fold_soon
from openprm.activity.selectors.referrals import HOST_OF_URL, effective_hosts, host_allowed
from openprm.activity.services.referrals.links import LINK_CODE, UTM_FIELDS
from openprm.core.bulk import uuid4_hex
from openprm.core.db import retry_on_dropped_connection
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.partners.models import Program


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
