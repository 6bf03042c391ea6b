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
    CONVERSION_REVIEW = "conversion.review"  # accept/reject flagged referral conversions
    API_TOKENS = "api.tokens"  # create personal API tokens (a token acts with its owner's role and scope)
    COMMISSION_VIEW = "commission.view"  # staff: plans, ledger, statements, payouts (read)
    COMMISSION_PLAN = "commission.plan"  # draft, simulate and publish plan versions
    COMMISSION_APPROVE = "commission.approve"  # approve, reject, adjust ledger entries
    PAYOUT_MANAGE = "payout.manage"  # payout runs, exports, marking paid, FX rates


_READ = {Perm.PARTNER_VIEW, Perm.PARTNER_EXPORT, Perm.API_TOKENS, Perm.COMMISSION_VIEW}
ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm) - {Perm.CONTACT_EDIT_OWN, Perm.PORTAL_TEAM},
    Role.MANAGER: frozenset(
        _READ
        | {
            Perm.PARTNER_EDIT,
            Perm.PARTNER_IMPORT,
            Perm.PORTAL_INVITE,
            Perm.ACTIVITY_INGEST,
            Perm.CONVERSION_REVIEW,
        }
    ),
    Role.FINANCE: frozenset(
        _READ | {Perm.CONVERSION_REVIEW, Perm.COMMISSION_PLAN, Perm.COMMISSION_APPROVE, Perm.PAYOUT_MANAGE}
    ),
    Role.ANALYST: frozenset(_READ),
    # Every partner role may hold API tokens: a token acts with exactly its owner's role and partner
    # scope (a rep's token sees and registers only that rep's deals), so it exposes nothing the portal
    # does not. The partner menu offers "API tokens"/"API docs" where role_has(role, API_TOKENS).
    Role.PARTNER_ADMIN: frozenset(
        {Perm.PARTNER_VIEW, Perm.CONTACT_EDIT_OWN, Perm.PORTAL_TEAM, Perm.API_TOKENS}
    ),
    Role.PARTNER_MANAGER: frozenset({Perm.PARTNER_VIEW, Perm.CONTACT_EDIT_OWN, Perm.API_TOKENS}),
    Role.PARTNER_REP: frozenset({Perm.PARTNER_VIEW, Perm.API_TOKENS}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMS.get(role, frozenset())


def is_staff_role(role: str) -> bool:
    return role in STAFF_ROLES
