"""Roles and what each may do. Shared by pages, API and CLI."""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Partner manager"
    FINANCE = "finance", "Finance"
    ANALYST = "analyst", "Analyst (read-only)"
    PARTNER_ADMIN = "partner_admin", "Partner admin"
    PARTNER_MANAGER = "partner_manager", "Partner manager (partner side)"
    PARTNER_REP = "partner_rep", "Partner rep"


STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.ANALYST})
PARTNER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_MANAGER, Role.PARTNER_REP})


class Perm(StrEnum):
    PARTNER_VIEW = "partner.view"
    PARTNER_EDIT = "partner.edit"  # create, update, bulk actions, contacts, agreements, interactions
    PARTNER_DELETE = "partner.delete"
    PARTNER_IMPORT = "partner.import"
    PARTNER_EXPORT = "partner.export"
    CONTACT_EDIT_OWN = "contact.edit_own"  # partner users editing their own partner's contacts
    PORTAL_TEAM = "portal.team"  # partner admins managing their own team's portal users
    PORTAL_INVITE = "portal.invite"  # staff inviting partner contacts to the portal
    WORKSPACE_ADMIN = "workspace.admin"  # staff users, custom fields, partner types
    ACTIVITY_INGEST = "activity.ingest"  # send events in bulk (API, CSV), rebuild rollups


_READ = {Perm.PARTNER_VIEW, Perm.PARTNER_EXPORT}
ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm) - {Perm.CONTACT_EDIT_OWN, Perm.PORTAL_TEAM},
    Role.MANAGER: frozenset(
        _READ | {Perm.PARTNER_EDIT, Perm.PARTNER_IMPORT, Perm.PORTAL_INVITE, Perm.ACTIVITY_INGEST}
    ),
    Role.FINANCE: frozenset(_READ),
    Role.ANALYST: frozenset(_READ),
    Role.PARTNER_ADMIN: frozenset({Perm.PARTNER_VIEW, Perm.CONTACT_EDIT_OWN, Perm.PORTAL_TEAM}),
    Role.PARTNER_MANAGER: frozenset({Perm.PARTNER_VIEW, Perm.CONTACT_EDIT_OWN}),
    Role.PARTNER_REP: frozenset({Perm.PARTNER_VIEW}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMS.get(role, frozenset())


def is_staff_role(role: str) -> bool:
    return role in STAFF_ROLES
