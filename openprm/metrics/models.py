"""Tables of the metrics app: effective-dated metric parameters and closed periods with their snapshots.

- ``MetricParameter``: one version of a metric parameter (``metrics.parameters.PARAMETERS``), effective from
  the first day of a month until the next version of the same key. Versions are only added, never edited.
- ``PeriodClose``: a month (or the quarter / year it ends) whose figures are frozen: the parameters in
  effect, the inputs the workspace had, and the values for all partners together; reopened by an admin
  (audited, with a reason) and closed again to take late data in.
- ``MetricSnapshot``: one partner's values of every computable metric and the inputs they came from, for
  one closed period. A closed period is served from here (``metrics.figures``).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import TimestampedModel, Workspace
from openprm.core.scoping import ScopedManager
from openprm.partners.models import Partner


class MetricParameter(TimestampedModel):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    value = models.JSONField()
    effective_from = models.DateField(help_text="The first day of the month the version applies from")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None  # workspace-wide definitions
    objects = ScopedManager["MetricParameter"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key", "effective_from"], name="metrics_parameter_unique_version"
            )
        ]
        ordering = ["key", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.key} from {self.effective_from:%Y-%m}"


class PeriodStatus(models.TextChoices):
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


class PeriodClose(TimestampedModel):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=16, help_text="YYYY-MM, YYYY-Qn or YYYY")
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=10, choices=PeriodStatus.choices, default=PeriodStatus.CLOSED)
    closed_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopen_reason = models.TextField(blank=True)
    params = models.JSONField(default=dict, help_text="The parameter values in effect")
    available = models.JSONField(default=list, help_text="The inputs the workspace had any data for")
    totals = models.JSONField(default=dict, help_text="Values for all snapshotted partners together")
    total_inputs = models.JSONField(default=dict)
    partners = models.PositiveIntegerField(default=0)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    objects = ScopedManager["PeriodClose"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "period"], name="metrics_period_close_unique")
        ]
        ordering = ["-start", "period"]

    def __str__(self) -> str:
        return f"{self.period} ({self.get_status_display()})"


class MetricSnapshot(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    close = models.ForeignKey(PeriodClose, on_delete=models.CASCADE, related_name="snapshots")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=16)
    values = models.JSONField(default=dict)
    inputs = models.JSONField(default=dict)

    objects = ScopedManager["MetricSnapshot"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "close", "partner"], name="metrics_snapshot_unique_partner"
            )
        ]
        indexes = [models.Index(fields=["workspace", "period", "partner"], name="metrics_snapshot_period")]

    def __str__(self) -> str:
        return f"{self.period} · partner {self.partner_id}"


class DataChange(models.Model):
    """A committed transaction that changed a tracked table (``metrics.dataversion``): written by database
    triggers only, counted into the data version, folded into :class:`DataVersion` now and then."""

    xid = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return str(self.xid)


class DataVersion(models.Model):
    """The changes already folded into the data version (one row, ``id`` 1; ``metrics.dataversion``)."""

    id = models.IntegerField(primary_key=True)
    folded = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.folded)
