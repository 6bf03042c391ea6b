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


class OutboxMessage(models.Model):
    """A side effect announced by a change and delivered after it commits (``core.outbox``).

    Written in the transaction of the change (rolled back with it); the worker delivers it once, retrying
    with exponential backoff (``available_at`` is when the next attempt may run). Workspace-wide, staff
    only: payloads may name people and addresses that partner users must not read."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["OutboxMessage"]()

    class Meta:
        indexes = [
            # "undelivered and due": the delivery's query and the catch-up's, only over pending rows
            models.Index(
                fields=["workspace", "available_at"],
                name="core_outbox_due",
                condition=models.Q(delivered_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class JobRun(models.Model):
    """One run of a background job (``core.jobruns``): every periodic run, and the on-demand workspace
    jobs that failed or did work. Listed for admins on the Jobs page and ``/api/v1/jobs/runs``.

    Not a tenant model behind the scoped manager: periodic runs belong to the installation (no
    workspace), and the worker writes rows outside any scope. Reads go through ``jobruns.run_list``,
    which shows an admin their workspace's runs and the installation's, never another workspace's.

    A periodic run's row is also its claim: one non-skipped row per (job, scheduled minute, attempt)
    across every worker sharing the database (the unique constraint below); a worker that loses the
    race records a ``skipped`` row instead and does not run the job."""

    class Kind(models.TextChoices):
        PERIODIC = "periodic", "Periodic"
        WORKSPACE = "workspace", "Workspace job"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        RETRYING = "retrying", "Failed, will retry"
        SKIPPED = "skipped", "Skipped (another worker ran it)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    job = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)  # periodic: the minute the schedule fired
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    result_count = models.BigIntegerField(null=True, blank=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "scheduled_for", "attempt"],
                condition=models.Q(kind="periodic") & ~models.Q(status="skipped"),
                name="core_jobrun_one_claim",
            ),
        ]
        indexes = [
            models.Index(fields=["started_at"], name="core_jobrun_started"),
            models.Index(fields=["job", "started_at"], name="core_jobrun_job_started"),
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()
