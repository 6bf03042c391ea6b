"""Targets, scorecard configurations and tier criteria: goals that figures from the metric engine are judged
against. No figure is stored here — values always come from ``metrics.figures``.

* :class:`Target` — a SMART goal for one catalogued metric over one month, quarter or year, set for exactly
  one of a partner, a tier (each partner of the tier) or a program (each partner enrolled in it).
* :class:`ScorecardConfig` — per program: the dimensions, their weights, and the weighted metrics of each
  with their scoring method (``scoring.Config`` reads and checks it).
* :class:`TierCriterion` — per tier: a minimum (or, for lower-is-better metrics, a maximum) of a metric or
  of the overall score over a period grain; a partner meeting every criterion of a tier qualifies for it.

Targets are workspace-wide rows (``SCOPE_PARTNER_PATH = None``) because a tier's or a program's target
concerns many partners: the selectors narrow them to what the actor may see (a partner user: their own
partner's, their tiers' and their programs' targets, never another partner's).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from openprm.core.models import WorkspaceModel
from openprm.partners.models import Partner, Program, Tier


class Grain(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class Target(WorkspaceModel):
    metric = models.CharField(max_length=60, help_text="A catalogued metric key")
    period = models.CharField(max_length=8, help_text="YYYY-MM, YYYY-Qn or YYYY")
    grain = models.CharField(max_length=8, choices=Grain.choices)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="scorecard_targets"
    )
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.CASCADE, related_name="targets")
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.CASCADE, related_name="targets"
    )
    value = models.DecimalField(max_digits=18, decimal_places=4)
    baseline = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="The metric's value over the previous period of the same grain, when the target was set",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(blank=True, help_text="Internal: staff only")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(partner__isnull=False, tier__isnull=True, program__isnull=True)
                    | Q(partner__isnull=True, tier__isnull=False, program__isnull=True)
                    | Q(partner__isnull=True, tier__isnull=True, program__isnull=False)
                ),
                name="target_exactly_one_scope",
            ),
            models.UniqueConstraint(
                fields=["workspace", "metric", "period", "partner"],
                condition=Q(partner__isnull=False),
                name="target_unique_partner",
            ),
            models.UniqueConstraint(
                fields=["workspace", "metric", "period", "tier"],
                condition=Q(tier__isnull=False),
                name="target_unique_tier",
            ),
            models.UniqueConstraint(
                fields=["workspace", "metric", "period", "program"],
                condition=Q(program__isnull=False),
                name="target_unique_program",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "period", "metric"])]
        ordering = ["-period", "metric", "id"]

    def __str__(self) -> str:
        return f"{self.metric} {self.period} {self.scope_label}"

    @property
    def scope(self) -> str:
        return "partner" if self.partner_id else "tier" if self.tier_id else "program"

    @property
    def scope_label(self) -> str:
        if self.partner_id:
            return str(self.partner)
        if self.tier is not None:
            return f"{self.tier.program} · {self.tier}"
        return f"{self.program} (all partners)"


class ScorecardConfig(WorkspaceModel):
    """A program's scorecard: ``dimensions`` is a list of ``{"key", "weight", "metrics": [{"key", "weight",
    "method"}]}`` (method: ``target``, ``percentile`` or ``auto``), ``cap`` the attainment cap in percent."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    dimensions = models.JSONField(default=list)
    cap = models.PositiveSmallIntegerField(default=150, help_text="Attainment counted up to this percent")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "program"], name="scorecardconfig_unique_program")
        ]

    def __str__(self) -> str:
        return f"Scorecard of {self.program}"


class TierCriterion(WorkspaceModel):
    """One condition of a tier: ``metric`` (a catalog key, or ``overall_score``) at least ``minimum`` over a
    period of ``grain`` (at most, for a lower-is-better metric)."""

    OVERALL = "overall_score"

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="criteria")
    metric = models.CharField(max_length=60)
    minimum = models.DecimalField(max_digits=18, decimal_places=4)
    grain = models.CharField(max_length=8, choices=Grain.choices, default=Grain.YEAR)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "tier", "metric"], name="tiercriterion_unique_metric"
            )
        ]
        ordering = ["tier__program_id", "tier__rank", "metric"]

    def __str__(self) -> str:
        return f"{self.tier}: {self.metric} ≥ {self.minimum} per {self.grain}"
