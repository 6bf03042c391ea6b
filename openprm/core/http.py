"""Page helpers: who may open which area. Non-members of an area get 404, like missing objects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase

from openprm.core.actors import Actor

View = Callable[..., HttpResponseBase]


def actor_of(request: HttpRequest) -> Actor:
    actor = getattr(request, "actor", None)
    if actor is None:
        raise Http404
    return actor


def _area(check: Callable[[Actor], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor = getattr(request, "actor", None)
            if actor is None or not check(actor):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_view = _area(lambda actor: actor.is_staff)
partner_view = _area(lambda actor: actor.is_partner_user)
member_view = _area(lambda actor: True)


def paginate(request: HttpRequest, queryset: QuerySet[Any], per_page: int = 50) -> Page:
    try:
        size = max(10, min(200, int(request.GET.get("per_page", per_page))))
    except ValueError:
        size = per_page
    return Paginator(queryset, size).get_page(request.GET.get("page"))
