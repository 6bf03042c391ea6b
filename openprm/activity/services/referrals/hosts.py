"""Allowed destination hosts of tracking links.

A link may only lead to a host on the allowed list of its program (when that list is non-empty) or else
of its workspace; an allowed host also allows its subdomains. With no list at all nobody can create or
save an active link, and ``/r/<code>`` refuses to send visitors anywhere.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.activity.selectors.referrals import host_allowed, tracking_hosts_for
from openprm.core.actors import Actor
from openprm.core.audit import audited_change
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.partners.models import Program

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


def require_allowed_destination(actor: Actor, *, destination: str, program: Program | None) -> None:
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
