"""API authentication: personal bearer tokens, or the browser session (CSRF-checked)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from openprm.accounts.selectors import actor_for_user
from openprm.accounts.services import token_authenticate, token_expired_at
from openprm.core import scoping

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_authenticate(token)
        if api_token is None:
            expired_at = token_expired_at(token)
            if expired_at is not None:
                raise HttpError(
                    401,
                    f"This API token expired at {expired_at:%Y-%m-%d %H:%M} UTC: create a new one "
                    "on the API tokens page or with `prm token create`.",
                )
            return None
        if api_token.read_only and request.method not in SAFE_METHODS:
            raise HttpError(
                403, "This API token is read-only: it may only send GET, HEAD and OPTIONS requests."
            )
        actor = actor_for_user(api_token.user)
        if actor is None or actor.workspace_id != api_token.workspace_id:
            return None
        request.user = api_token.user
        request.actor = actor  # type: ignore[attr-defined]
        scoping.set_scope(actor.access_scope())
        return api_token.user


class MemberSessionAuth(SessionAuth):
    """The logged-in browser user, if they belong to a workspace (the scope middleware resolved it)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if getattr(request, "actor", None) is None:
            return None
        return super().authenticate(request, key)


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The user name django-axes counts failed log-ins under: the lower-cased e-mail (axes)."""
    source: Any = credentials if credentials else getattr(request, "POST", {})
    value = source.get("username") if source else None
    return str(value).strip().lower() if value else None
