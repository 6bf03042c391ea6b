"""What every app's API module shares: the acting user of a request and the documented error answers.

An endpoint module reads::

    router = Router(tags=["things"])

    @router.get("/things", response={200: list[ThingOut], **ERRORS})
    @paginate(Pagination)
    def thing_list(request, filters: Query[ThingQuery]):
        return selectors.thing_list(actor=request_actor(request), filters=filters.to_filters())
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.responses import codes_4xx

from openprm.core.actors import Actor
from openprm.core.schemas import ErrorOut

ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}
"""Spread into every operation's ``response``: each 4xx answer is an ``ErrorOut`` body."""


def request_actor(request: HttpRequest) -> Actor:
    """The actor the API's auth classes (token or session) put on the request."""
    actor = getattr(request, "actor", None)
    assert isinstance(actor, Actor), "the API's auth classes set request.actor"
    return actor
