"""Report definitions (what, for whom, when), their runs (one per scheduled slot or "send now" click) and
each run's deliveries (one e-mail per recipient: status, error, sizes, attempts), and unsubscribes.
Staff only: partner users receive partner-facing reports by e-mail but never read any of this."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import WorkspaceModel
from openprm.core.scoping import ScopedManager


class Kind(models.TextChoices):
    PROGRAM_SUMMARY = "program_summary", "Program summary"
    PARTNER_SCORECARD = "partner_scorecard", "Partner scorecard"
    PIPELINE_REVIEW = "pipeline_review", "Pipeline review"
    QBR = "qbr", "Quarterly business review pack"
    # "commission_statement" comes with the commissions app: a new member here and a builder in content.


class Schedule(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class PeriodChoice(models.TextChoices):
    LAST_WEEK = "last_week", "Last full week"
    LAST_MONTH = "last_month", "Last full month"
    LAST_QUARTER = "last_quarter", "Last full quarter"


FORMATS = ("pdf", "csv", "xlsx")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ReportDefinition(WorkspaceModel):
    """A report sent on a schedule: ``kind`` over the partners matching ``filters`` (PartnerFilters fields)
    for ``period`` (the last full week, month or quarter before the run, in ``timezone``), as ``formats``,
    to ``staff_recipients`` (staff user public ids) and, when ``partner_recipients``, to each partner's
    contacts and users with that partner's own data only."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.WEEKLY)
    weekday = models.PositiveSmallIntegerField(default=0, help_text="Weekly: 0 = Monday … 6 = Sunday")
    day = models.PositiveSmallIntegerField(default=1, help_text="Monthly/quarterly: day of the month, 1–28")
    timezone = models.CharField(max_length=64, default="UTC")
    hour = models.PositiveSmallIntegerField(default=8)
    period = models.CharField(max_length=15, choices=PeriodChoice.choices, default=PeriodChoice.LAST_WEEK)
    filters = models.JSONField(default=dict, blank=True)
    formats = models.JSONField(default=list)
    staff_recipients = models.JSONField(default=list, blank=True)
    partner_recipients = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="reports_def_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_text(self) -> str:
        """E.g. "Weekly on Monday at 08:00 Europe/Berlin"."""
        at = f"at {self.hour:02d}:00 {self.timezone}"
        if self.schedule == Schedule.WEEKLY:
            return f"Weekly on {WEEKDAY_NAMES[self.weekday % 7]} {at}"
        if self.schedule == Schedule.MONTHLY:
            return f"Monthly on day {self.day} {at}"
        return f"Quarterly on day {self.day} of Jan, Apr, Jul, Oct {at}"


class ReportRun(models.Model):
    """One sending of a definition: a scheduled slot or a "send now" click, each once (``request_key``)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Send now"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    definition = models.ForeignKey(ReportDefinition, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    request_key = models.CharField(max_length=120, help_text="schedule:<slot> or manual:<client key>")
    period_key = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["ReportRun"]()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "request_key"], name="reports_run_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} · {self.request_key}"


class ReportDelivery(models.Model):
    """One e-mail of a run: to whom, with whose data (``partner``: a partner-facing copy), and how it went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (unsubscribed)"

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField()
    user = models.ForeignKey(  # a staff recipient: the report is built with their access (owned-only too)
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    partner = models.ForeignKey(  # whose data: a partner's contacts get it built with that partner's scope
        "partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    sizes = models.JSONField(default=dict, blank=True, help_text="bytes per attachment format")
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["ReportDelivery"]()

    class Meta:
        ordering = ["run", "email", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "email", "partner"], name="reports_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"


class Unsubscribe(models.Model):
    """``email`` asked (through the signed link of an e-mail) to get no more of ``definition``."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    definition = models.ForeignKey(ReportDefinition, on_delete=models.CASCADE, related_name="unsubscribes")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["Unsubscribe"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["definition", "email"], name="reports_unsubscribe_once")
        ]

    def __str__(self) -> str:
        return self.email
