"""Who is acting: built once per request/job from the user's membership, passed to every service."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from openprm.core.permissions import Perm, Role, is_staff_role, role_has
from openprm.core.scoping import AccessScope


@dataclass(frozen=True)
class Actor:
    workspace_id: int
    role: str
    user_id: int | None = None
    label: str = "system"
    partner_id: int | None = None
    owned_only: bool = False  # staff member restricted to the partners they own

    @classmethod
    def system(cls, workspace_id: int, label: str = "system") -> Actor:
        return cls(workspace_id=workspace_id, role=Role.ADMIN, label=label)

    @property
    def is_staff(self) -> bool:
        return is_staff_role(self.role)

    @property
    def is_partner_user(self) -> bool:
        return self.partner_id is not None

    def can(self, perm: Perm) -> bool:
        return role_has(self.role, perm)

    def require(self, perm: Perm) -> None:
        if not self.can(perm):
            raise PermissionDenied(f"Your role may not do this ({perm})")

    def access_scope(self) -> AccessScope:
        return AccessScope(
            workspace_id=self.workspace_id,
            partner_id=self.partner_id,
            owner_id=self.user_id if (self.owned_only and self.is_staff) else None,
            user_id=self.user_id,
            rep_user_id=self.user_id if self.role == Role.PARTNER_REP else None,
        )


def cli_actor(workspace_slug: str) -> Actor:
    """The system actor of the workspace with this slug, labelled "cli" in the audit trail."""
    from django.core.management.base import CommandError

    from openprm.core.models import Workspace

    try:
        workspace = Workspace.objects.get(slug=workspace_slug)
    except Workspace.DoesNotExist:
        raise CommandError(f"No workspace with slug '{workspace_slug}'.") from None
    return Actor.system(workspace.pk, label="cli")
