from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from openprm.accounts.selectors import actor_for_user
from openprm.core import scoping


class ScopeMiddleware:
    """Activate the access scope of the logged-in user for the whole request; clear it afterwards.

    API requests authenticated by bearer token activate their scope in the API's auth class.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = scoping._current.set(None)
        try:
            request.actor = None  # type: ignore[attr-defined]
            user = request.user
            if user.is_authenticated:
                actor = actor_for_user(user)
                if actor is not None:
                    request.actor = actor  # type: ignore[attr-defined]
                    scoping.set_scope(actor.access_scope())
            return self.get_response(request)
        finally:
            scoping._current.reset(token)
