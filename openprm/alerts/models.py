"""Alert rules, the alerts they raise (one open alert per rule, partner and subject), the history of
state changes, and silences. Staff only: partner users never read any of it."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import WorkspaceModel
from openprm.core.scoping import ScopedManager


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class NoData(models.TextChoices):
    OK = "ok", "Treat as OK (resolve)"
    ALERTING = "alerting", "Treat as alerting"
    KEEP_LAST = "keep_last", "Keep the last state"
    NODATA = "nodata", "Show as No data"


class State(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RECOVERING = "recovering", "Recovering"
    NODATA = "nodata", "No data"
    ERROR = "error", "Error"
    RESOLVED = "resolved", "Resolved"


OPEN_STATES = (State.PENDING, State.FIRING, State.RECOVERING, State.NODATA, State.ERROR)
INHIBITING_STATES = (State.FIRING, State.RECOVERING)  # a source alert inhibits while it still fires
INTERVALS = (1, 5, 15, 60, 1440)  # minutes between evaluations a rule may ask for


class AlertRule(WorkspaceModel):
    """What to watch (``conditions``, validated by ``alerts.conditions``), over which partners
    (``partner_filters``: PartnerFilters fields, all partners when empty), how often, and whom to tell."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    conditions = models.JSONField(default=dict)
    partner_filters = models.JSONField(default=dict, blank=True)
    for_minutes = models.PositiveIntegerField(default=0)
    interval_minutes = models.PositiveIntegerField(default=5)
    no_data = models.CharField(max_length=10, choices=NoData.choices, default=NoData.OK)
    repeat_minutes = models.PositiveIntegerField(default=0, help_text="Remind while firing; 0: never")
    keep_firing_minutes = models.PositiveIntegerField(
        default=0,
        help_text="A firing alert whose condition clears recovers this long before resolving; 0: at once",
    )
    inhibits = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="inhibited_by",
        help_text="While this rule fires for a partner, these rules' alerts for it are inhibited",
    )
    recipients = models.JSONField(default=list, blank=True, help_text="Staff user public ids or roles")
    tell_partner = models.BooleanField(
        default=False, help_text="Also tell each partner's own users about their partner's alerts"
    )
    builtin = models.BooleanField(default=False)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "enabled"], name="alerts_rule_enabled")]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One thing a rule found: a partner (or the workspace), optionally a subject (a deal, agreement or
    conflict public id). At most one open alert per (rule, partner, subject)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # workspace and rule lead the composite indexes below: no index of their own (a cycle appends
    # tens of thousands of alerts; every index is written per row)
    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts", db_index=False)
    key = models.CharField(max_length=120, help_text="<partner id or 0>:<subject>: what de-duplicates")
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(max_length=80, blank=True, help_text="e.g. deal:<public id>")
    subject_label = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    started_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    recovering_at = models.DateTimeField(
        null=True, blank=True, help_text="When its condition cleared while firing (Recovering)"
    )
    inhibited_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # mostly empty: a partial index below
        help_text="The firing alert of an inhibiting rule on the same partner: nothing is announced",
    )
    last_evaluated_at = models.DateTimeField(help_text="When its state or values last changed")
    announced_at = models.DateTimeField(null=True, blank=True)
    values = models.JSONField(default=dict)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # mostly empty: a partial index below
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["Alert"]()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "key"],
                condition=models.Q(state__in=["pending", "firing", "recovering", "nodata", "error"]),
                name="alerts_one_open_alert",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "state", "-started_at"], name="alerts_alert_state"),
            models.Index(fields=["rule", "state"], name="alerts_alert_rule_state"),
            models.Index(
                fields=["acknowledged_by"],
                condition=models.Q(acknowledged_by__isnull=False),
                name="alerts_alert_acknowledged_by",
            ),
            models.Index(
                fields=["inhibited_by"],
                condition=models.Q(inhibited_by__isnull=False),
                name="alerts_alert_inhibited_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject_label or self.partner_id or 'workspace'}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_inhibited(self) -> bool:
        """Open and its inhibiting alert still fires (until the next evaluation clears the link)."""
        source = self.inhibited_by if self.inhibited_by_id is not None else None
        return self.is_open and source is not None and source.state in INHIBITING_STATES

    @property
    def checked_at(self) -> Any:
        """When it was last judged: its rule's last evaluation while open (an unchanged open alert is not
        rewritten each cycle), else its own last write."""
        judged = self.rule.last_evaluated_at if self.is_open else None
        return max(judged, self.last_evaluated_at) if judged else self.last_evaluated_at


class AlertTransition(models.Model):
    """One change of an alert's state, with the values that caused it (and whether it was announced)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    at = models.DateTimeField()
    values = models.JSONField(default=dict)
    announced = models.BooleanField(default=False)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["AlertTransition"]()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_state or 'new'} → {self.to_state}"


class Silence(WorkspaceModel):
    """No announcement for a rule's alerts, a partner's, or a rule's on one partner, from ``starts_at``
    until ``ends_at`` (alerts keep their states; the history still records everything)."""

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        ordering = ["-ends_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rule__isnull=False) | models.Q(partner__isnull=False),
                name="alerts_silence_rule_or_partner",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="alerts_silence_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return f"Silence until {self.ends_at:%Y-%m-%d %H:%M}"

    def covers(self, *, rule_id: int, partner_id: int | None, at: Any) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and (self.rule_id is None or self.rule_id == rule_id)
            and (self.partner_id is None or self.partner_id == partner_id)
        )
