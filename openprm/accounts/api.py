"""Staff users over HTTP (admins): list them, change a role, deactivate and reactivate (audited).

A user's ``id`` is their public UUID; partner users are managed on the portal's Team page and answer 404
here, like a missing id.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import codes_4xx

from openprm.accounts import selectors, services
from openprm.accounts.models import Membership
from openprm.accounts.schemas import UserOut, UserPatch
from openprm.core.actors import Actor
from openprm.core.schemas import ErrorOut

router = Router(tags=["users"])
ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}


def _actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    assert isinstance(actor, Actor), "the API's auth classes set request.actor"
    return actor


def _out(m: Membership) -> UserOut:
    return UserOut(
        id=m.user.public_id,
        email=m.user.email,
        name=m.user.full_name,
        role=m.role,
        owned_only=m.owned_only,
        is_active=m.is_active and m.user.is_active,
        last_login=m.user.last_login,
    )


@router.get("/users", response={200: list[UserOut], **ERRORS})
@paginate(LimitOffsetPagination)
def user_list(request: HttpRequest) -> list[UserOut]:
    """Admins: the workspace's staff users, active first."""
    return [_out(m) for m in selectors.staff_membership_list(actor=_actor(request))]


@router.patch("/users/{user_id}", response={200: UserOut, **ERRORS})
def user_update(request: HttpRequest, user_id: uuid.UUID, payload: UserPatch) -> UserOut:
    """Admins: change a staff user's `role` and/or `is_active`. Deactivating refuses their log-in, ends
    their sessions and stops their API tokens; the last active admin cannot be demoted or deactivated."""
    actor = _actor(request)
    membership = selectors.staff_membership_list(actor=actor).get(user__public_id=user_id)
    services.membership_update(
        actor=actor, membership=membership, role=payload.role, is_active=payload.is_active
    )
    membership.user.refresh_from_db()
    return _out(membership)
