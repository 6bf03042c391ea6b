"""Named partner-list filters a staff user keeps for themselves."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.validation import clean_text
from openprm.partners.models import SavedView


def saved_view_save(*, actor: Actor, name: str, query: str) -> SavedView:
    actor.require(Perm.PARTNER_VIEW)
    errors: dict[str, str] = {}
    name = clean_text(errors, "name", name, 80, required=True)
    query = clean_text(errors, "query", query.lstrip("?"), 2000)
    if errors:
        raise ValidationError(errors)
    view, _ = SavedView.objects.update_or_create(
        workspace_id=actor.workspace_id, user_id=actor.user_id, name=name, defaults={"query": query}
    )
    return view


def saved_view_delete(*, actor: Actor, view: SavedView) -> None:
    if view.user_id != actor.user_id:
        raise PermissionDenied("Not your saved view")
    view.delete()
