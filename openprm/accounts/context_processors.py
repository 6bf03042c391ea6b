from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from openprm.core.permissions import Perm, Role


def access(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "actor", None)
    return {
        "actor": actor,
        "role_label": Role(actor.role).label if actor else "",
        "can_edit": bool(actor and actor.can(Perm.PARTNER_EDIT)),
        "is_admin": bool(actor and actor.can(Perm.WORKSPACE_ADMIN)),
    }
