"""Demo people: the vendor's staff (one login per role), portal users for a few partners, and the logins
file that ``prm demo --show-logins`` prints.

Every demo login gets a random password, saved (0600) in ``VAR_DIR/demo_logins.txt``: there is no
well-known demo password to forget to change.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password

from openprm.accounts.models import Membership, User
from openprm.accounts.services import user_create
from openprm.core.actors import Actor
from openprm.core.permissions import Role
from openprm.demo.plan import PartnerPlan
from openprm.partners.models import Partner, PartnerStatus

LOGINS_FILENAME = "demo_logins.txt"
VENDOR_DOMAIN = "vendor.example"  # reserved TLD (RFC 2606): demo mail can never reach a real domain
DEMO_PBKDF2_ITERATIONS = 50_000
# (email, full name, role, owned_only)
STAFF = [
    (f"alex@{VENDOR_DOMAIN}", "Alex Morgan", Role.ADMIN, False),
    (f"priya@{VENDOR_DOMAIN}", "Priya Shah", Role.MANAGER, False),
    (f"tom@{VENDOR_DOMAIN}", "Tom Becker", Role.MANAGER, True),
    (f"fiona@{VENDOR_DOMAIN}", "Fiona Walsh", Role.FINANCE, False),
    (f"noah@{VENDOR_DOMAIN}", "Noah Kim", Role.ANALYST, False),
]
ADMIN_EMAIL = STAFF[0][0]
PORTAL_TYPES = ("reseller", "referral", "agency", "technology", "service", "distributor")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    partner: str = ""
    name: str = ""


def logins_path() -> Path:
    return Path(settings.VAR_DIR) / LOGINS_FILENAME


def _hash_random_password(raw: str) -> str:
    """Hash a demo password.

    They are 96-bit random strings, so key stretching adds nothing: PBKDF2 runs with a light work factor
    (well under a second for all of them instead of ~5 s of CPU) and Django re-hashes with the configured
    iterations at the first login. Other hashers are used as configured.
    """
    hasher = get_hasher()
    if isinstance(hasher, PBKDF2PasswordHasher):
        return hasher.encode(raw, hasher.salt(), iterations=DEMO_PBKDF2_ITERATIONS)
    return make_password(raw)


def user_ensure(
    actor: Actor, login: DemoLogin, *, partner: Partner | None = None, owned_only: bool = False
) -> User:
    """The demo user with that e-mail and its membership: created by the accounts service (audited, as an
    admin's), or reactivated when the workspace had it already; either way with the login's password."""
    user = User.objects.filter(email=login.email).first()
    membership = Membership.objects.filter(user=user).first() if user is not None else None
    if membership is None:
        partner_id = partner.pk if partner is not None else None
        membership = user_create(
            actor=actor,
            email=login.email,
            role=login.role,
            full_name=login.name,
            partner_id=partner_id,
            owned_only=owned_only,
        )
    else:
        _membership_restore(membership, login, partner=partner, owned_only=owned_only)
    return _password_set(membership.user, login)


def _membership_restore(
    membership: Membership, login: DemoLogin, *, partner: Partner | None, owned_only: bool
) -> None:
    """Give an existing member the demo login's role (no accounts service sets the partner or the
    owned-only flag of an existing membership)."""
    membership.role, membership.partner, membership.owned_only = login.role, partner, owned_only
    membership.is_active = True
    membership.save(update_fields=["role", "partner", "owned_only", "is_active", "updated_at"])


def _password_set(user: User, login: DemoLogin) -> User:
    """Set the login's password with the demo's light hash (``_hash_random_password``): the accounts
    service hashes with the full work factor, ~0.4 s per login."""
    user.full_name, user.is_active = login.name, True
    user.password = _hash_random_password(login.password)
    user.save(update_fields=["full_name", "is_active", "password"])
    return user


def portal_plans(plans: list[PartnerPlan]) -> list[PartnerPlan]:
    """Up to three healthy partners of different types that get portal users (admin + rep)."""
    chosen: list[PartnerPlan] = []
    for wanted in PORTAL_TYPES:
        plan = next(
            (
                x
                for x in plans
                if x.type_key == wanted and x.partner.status == PartnerStatus.ACTIVE and len(x.contacts) >= 2
            ),
            None,
        )
        if plan is not None and len(chosen) < 3:
            chosen.append(plan)
    return chosen


def logins_write(path: Path, logins: list[DemoLogin], *, seed: int, now: datetime.datetime) -> None:
    """Write the logins readable only by the owner (0600), replacing any previous file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# OpenPRM demo logins (seed {seed}, {now:%Y-%m-%d %H:%M} UTC). Sign in where `prm serve` answers",
        "# email\tpassword\trole\tpartner\tname",
        *(f"{x.email}\t{x.password}\t{x.role}\t{x.partner}\t{x.name}" for x in logins),
    ]
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def logins_read(path: Path) -> list[DemoLogin]:
    logins = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = [*line.split("\t"), "", "", "", ""]
        logins.append(
            DemoLogin(email=parts[0], password=parts[1], role=parts[2], partner=parts[3], name=parts[4])
        )
    return logins


def logins_table(logins: list[DemoLogin]) -> list[str]:
    """The logins as aligned text rows (header first)."""
    labels = dict(Role.choices)
    rows = [("EMAIL", "PASSWORD", "ROLE", "PARTNER")]
    rows += [(x.email, x.password, str(labels.get(x.role, x.role)), x.partner or "—") for x in logins]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
