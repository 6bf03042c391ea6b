"""The app's settings, each read from Django settings when set there, else from the environment (so a
deployment sets them as ``PRM_*`` variables and a test overrides them with the ``settings`` fixture)."""

from __future__ import annotations

import os

from django.conf import settings

_TRUE = {"1", "true", "yes", "on"}


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    return str(value) if value is not None else os.environ.get(name, default)


def group_wait_seconds() -> float:
    """PRM_NOTIFY_GROUP_WAIT_SECONDS (60): notifications with one group key within this window go out as
    one message per recipient and channel."""
    return float(_setting("PRM_NOTIFY_GROUP_WAIT_SECONDS", "60"))


def max_attempts() -> int:
    """PRM_NOTIFY_MAX_ATTEMPTS (8): attempts per e-mail or webhook delivery before it is marked failed."""
    return int(_setting("PRM_NOTIFY_MAX_ATTEMPTS", "8"))


def webhook_timeout_seconds() -> float:
    """PRM_WEBHOOK_TIMEOUT_SECONDS (10): how long a webhook receiver may take to answer."""
    return float(_setting("PRM_WEBHOOK_TIMEOUT_SECONDS", "10"))


def webhook_deadline_seconds() -> float:
    """PRM_WEBHOOK_DEADLINE_SECONDS (30): the most one webhook attempt may take in all (connecting, sending
    and reading the answer), however slowly the receiver trickles it."""
    return float(_setting("PRM_WEBHOOK_DEADLINE_SECONDS", "30"))


def webhook_allow_private() -> bool:
    """PRM_WEBHOOK_ALLOW_PRIVATE (false): allow webhook URLs on private, loopback or link-local
    addresses (a receiver inside your own network; tests). Off: such URLs are refused."""
    return _setting("PRM_WEBHOOK_ALLOW_PRIVATE", "false").strip().lower() in _TRUE


def base_url() -> str:
    """PRM_BASE_URL (http://127.0.0.1:8000): where links in e-mails and webhooks point."""
    return _setting("PRM_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
