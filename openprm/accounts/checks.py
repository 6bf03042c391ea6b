"""`prm check --deploy` warnings about this deployment's configuration (beyond Django's own)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def mail_is_delivered(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Invitations and password resets must reach people: no SMTP host means they go to the server log."""
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend") or not settings.EMAIL_HOST:
        return [
            Warning(
                "Mail is only printed to the server log: invitations and password-reset links reach nobody.",
                hint="Set PRM_EMAIL_HOST (and PRM_EMAIL_PORT, PRM_EMAIL_USER, PRM_EMAIL_PASSWORD, "
                "PRM_EMAIL_TLS).",
                id="openprm.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def tracking_hosts_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Tracking links may only lead to allowed hosts; with none set, partners cannot create links."""
    from openprm.core.models import Workspace

    try:
        unset = [
            w.name
            for w in Workspace.objects.only("name", "tracking_allowed_hosts")
            if not w.tracking_allowed_hosts
        ]
    except DatabaseError:  # not migrated yet: nothing to check
        return []
    if not unset:
        return []
    return [
        Warning(
            f"No allowed tracking-link hosts are set for: {', '.join(sorted(unset))}. Partners cannot create "
            "tracking links until they are.",
            hint="Set the hosts tracking links may lead to on the workspace settings page.",
            id="openprm.W002",
        )
    ]
