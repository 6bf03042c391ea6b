"""Shared helpers of the import/export commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from openprm.core.actors import Actor
from openprm.core.models import Workspace


def cli_actor(workspace_slug: str) -> Actor:
    """The system actor of the workspace with this slug, labelled "cli" in the audit trail."""
    try:
        workspace = Workspace.objects.get(slug=workspace_slug)
    except Workspace.DoesNotExist:
        raise CommandError(f"No workspace with slug '{workspace_slug}'.") from None
    return Actor.system(workspace.pk, label="cli")
