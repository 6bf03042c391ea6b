"""API authentication: personal bearer tokens, or the browser session (CSRF-checked)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from openprm.accounts.selectors import actor_for_user
from openprm.accounts.services import token_authenticate
from openprm.core import scoping


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_authenticate(token)
        if api_token is None:
            return None
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
