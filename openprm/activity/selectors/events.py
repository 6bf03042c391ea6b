"""Reads of the event-type catalog: the built-in types every workspace has, plus its own custom types."""

from __future__ import annotations

from openprm.activity.catalog import EventKind
from openprm.activity.rollups import workspace_kinds
from openprm.core.actors import Actor
from openprm.core.permissions import Perm


def event_type_list(*, actor: Actor) -> list[EventKind]:
    """The actor's workspace's event types: built-in first, then custom, each by key (one query)."""
    actor.require(Perm.PARTNER_VIEW)
    kinds = workspace_kinds(actor.workspace_id)
    return sorted(kinds.values(), key=lambda kind: (not kind.builtin, kind.key))
