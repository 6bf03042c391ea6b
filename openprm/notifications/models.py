"""Notification preferences, webhook endpoints, and the deliveries (one message to one recipient on one
channel, possibly grouping several notifications) with a log of every attempt.

The in-app notification itself is ``accounts.Notification`` (one row per user); ``notify`` creates it."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import Workspace, WorkspaceModel


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITIES = [s.value for s in Severity]


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack-compatible webhook"
    WEBHOOK = "webhook", "Generic webhook"


class Preference(models.Model):
    """One user's choices in one workspace. No row: every severity, e-mail on, sent immediately."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        DIGEST = "digest", "In a daily digest"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    severities = models.JSONField(default=list, help_text="Severities sent by e-mail (in-app: always all)")
    email = models.BooleanField(default=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IMMEDIATE)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="notifications_pref_one_per_user")
        ]

    def __str__(self) -> str:
        return f"Notification preferences of user {self.user_id}"


class WebhookEndpoint(WorkspaceModel):
    """A receiver configured by an admin: a Slack-compatible incoming webhook or a generic one (signed)."""

    class Kind(models.TextChoices):
        SLACK = "slack", "Slack-compatible"
        GENERIC = "generic", "Generic (signed JSON)"

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GENERIC)
    # The signing key of generic webhooks: shown once when created (or rotated), kept to sign.
    secret = models.CharField(max_length=100, editable=False)
    enabled = models.BooleanField(default=True)
    severities = models.JSONField(default=list, blank=True, help_text="Empty: every severity")
    kinds = models.JSONField(default=list, blank=True, help_text="Notification kinds; empty: every kind")

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def wants(self, *, kind: str, severity: str) -> bool:
        return (
            self.enabled
            and (not self.severities or severity in self.severities)
            and (not self.kinds or any(kind == k or kind.startswith(f"{k}.") for k in self.kinds))
        )


class Delivery(WorkspaceModel):
    """One message to send: an e-mail to a user or a post to an endpoint, carrying one notification or a
    group (``items``: what each says). Open for more items of its group until ``due_at``; sent at most
    once successfully (``status`` delivered)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    channel = models.CharField(max_length=10, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    target = models.CharField(max_length=500, help_text="The address or URL, as sent")
    group_key = models.CharField(max_length=200, blank=True)
    digest = models.BooleanField(default=False)
    items: Any = models.JSONField(default=list)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The outbox message of the next try: any other message naming this delivery (a stale one re-claimed
    # after its lease, a repeat) is ignored, so two workers never try it at once.
    outbox_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["workspace", "channel", "group_key", "status", "due_at"]),
            models.Index(fields=["workspace", "-created_at"]),
        ]


class DeliveryAttempt(models.Model):
    """One try of a delivery: what answered (status code or error) and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="notifications_attempt_once")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"
