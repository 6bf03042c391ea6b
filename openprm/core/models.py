from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from openprm.core.scoping import ScopedManager


class Workspace(models.Model):
    """A tenant: the company running its partner programs. A default one always exists."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(max_length=3, default="USD", help_text="Reporting currency (ISO 4217)")
    tracking_allowed_hosts = models.JSONField(
        default=list,
        blank=True,
        help_text="Hosts tracking links may lead to (subdomains too); none: partners cannot create links",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class TimestampedModel(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class WorkspaceModel(TimestampedModel):
    """Tenant-owned row readable by every member of the workspace (programs, tiers, tags...)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    objects = ScopedManager["Any"]()

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """Immutable record of a change to a domain object (field-level before/after)."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # The actor may later be erased; entries keep the label and never follow this key.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.UUIDField()
    object_repr = models.CharField(max_length=300)
    changes = models.JSONField(default=dict)

    objects = ScopedManager["AuditEntry"]()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "object_type", "object_id", "-at"]),
            models.Index(fields=["workspace", "partner", "-at"]),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("Audit entries are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError("Audit entries are immutable")


class WorkerHeartbeat(models.Model):
    """The job worker's sign of life (one row per worker name), written every few seconds by `prm
    worker` and read by `GET /health/` and `prm rollups status`: not tenant data."""

    name = models.CharField(max_length=60, unique=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()
    pid = models.IntegerField()
    host = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} {self.beat_at:%Y-%m-%d %H:%M:%S}"
