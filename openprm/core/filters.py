"""List filters every app's lists share (the partner list, the deal list...)."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid

M = TypeVar("M", bound=Model)


def owner_filter(queryset: QuerySet[M], owner: str, actor: Actor) -> QuerySet[M]:
    """Rows owned by ``owner``: "me" (the actor), "none" (nobody), a user's public id, or "" (anyone).
    The model needs an ``owner`` foreign key to the user."""
    if owner == "me":
        return queryset.filter(owner_id=actor.user_id)
    if owner == "none":
        return queryset.filter(owner__isnull=True)
    if owner:
        return queryset.filter(owner__public_id=parse_uuid(owner))
    return queryset
