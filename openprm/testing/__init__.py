"""Helpers for tests: build real users, memberships and partners through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openprm.accounts.models import Membership, User
from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped

PASSWORD = "correct-horse-battery-staple"


def make_user(
    workspace: Workspace, email: str, role: str, partner: Any = None, owned_only: bool = False
) -> User:
    with unscoped():
        user = User.objects.create_user(email=email, password=PASSWORD, full_name=email.split("@")[0].title())
        Membership.objects.create(
            workspace=workspace, user=user, role=role, partner=partner, owned_only=owned_only
        )
    return user


def actor_for(user: User) -> Actor:
    from openprm.accounts.selectors import actor_for_user

    actor = actor_for_user(user)
    assert actor is not None
    return actor


def make_partner(system: Actor, name: str, **data: Any) -> Any:
    from openprm.partners.services import partner_create

    payload = {"name": name, "type": data.pop("type", "reseller"), **data}
    with scope(system.access_scope()):
        return partner_create(actor=system, data=payload)  # type: ignore[arg-type]


@dataclass
class World:
    """Two partners, staff in every role, and users of each partner: the isolation-test cast."""

    workspace: Workspace
    system: Actor
    partner_a: Any
    partner_b: Any
    admin: User
    manager: User
    finance: User
    analyst: User
    a_admin: User
    a_rep: User
    b_admin: User
