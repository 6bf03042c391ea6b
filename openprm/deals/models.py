from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from openprm.core.models import TimestampedModel, Workspace, WorkspaceModel
from openprm.core.scoping import ScopedManager
from openprm.core.validation import quantize_money
from openprm.partners.models import Partner, Program


class Product(WorkspaceModel):
    """The vendor's product catalog, from which deal line items are picked."""

    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=60, blank=True)
    list_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="product_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Outcome(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# Days without a stage change after which an open deal shows as stalled, per default stage. Chosen for B2B
# partner deals with cycles of one to six months: a registration should be qualified within two weeks;
# qualifying and writing a proposal take about a month each; negotiation (legal, procurement) six weeks.
# Admins change them per program on the stages page; empty means the stage never stalls.
DEFAULT_STALL_DAYS: dict[str, int] = {
    "registered": 14,
    "qualified": 30,
    "proposal_sent": 30,
    "negotiating": 45,
}
# The defaults before these (14/21/21/30): migration 0007 moves stages still at them to the new ones.
PREVIOUS_DEFAULT_STALL_DAYS: dict[str, int] = {
    "registered": 14,
    "qualified": 21,
    "proposal_sent": 21,
    "negotiating": 30,
}


class PipelineStage(WorkspaceModel):
    """A stage of a program's pipeline, with its win probability and stalled-deal threshold."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="stages")
    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    order = models.PositiveSmallIntegerField()
    win_probability = models.DecimalField(
        max_digits=5, decimal_places=4, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    outcome = models.CharField(max_length=4, choices=Outcome.choices, default=Outcome.OPEN)
    stall_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="A deal with no stage change for this many days is stalled"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "program", "key"], name="stage_unique_key"),
        ]
        ordering = ["program_id", "order"]

    def __str__(self) -> str:
        return self.name


class DealSource(models.TextChoices):
    SOURCED = "sourced", "Partner-sourced"
    INFLUENCED = "influenced", "Partner-influenced"


class ApprovalStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    MORE_INFO = "more_info", "More information requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class Deal(TimestampedModel):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="deals")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="deals")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Vendor-side owner",
    )
    external_id = models.CharField(max_length=100, null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)
    customer_name = models.CharField(max_length=200)
    customer_key = models.CharField(max_length=200, db_index=True)  # normalised name
    customer_domain = models.CharField(max_length=253, blank=True)
    customer_domain_root = models.CharField(max_length=100, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    expected_close_date = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=DealSource.choices, default=DealSource.SOURCED)
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="deals")
    stage_changed_at = models.DateTimeField(default=timezone.now)
    approval_status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.SUBMITTED
    )
    approval_due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    protection_expires_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.CharField(max_length=300, blank=True)
    properties = models.JSONField(default=dict, blank=True, help_text="Extra CRM columns kept on import")

    SCOPE_REP_PATH: ClassVar[str | None] = "registered_by"
    objects = ScopedManager["Deal"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="deal_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["workspace", "partner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="deal_unique_idempotency_key",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
        ]
        # The lists page on these: each sort of the deals table is an index scan that stops after a page
        # (ORDER BY <sort>, id LIMIT 50); the pipeline review's open-stage filters lead with the stage.
        indexes = [
            models.Index(fields=["workspace", "partner", "stage"]),
            models.Index(fields=["workspace", "approval_status"]),
            models.Index(fields=["workspace", "customer_domain_root"]),
            models.Index(fields=["workspace", "expected_close_date", "id"], name="deal_ws_close"),
            # the catch-ups (accrual, rollups): what changed since their last run
            models.Index(fields=["workspace", "updated_at"], name="deal_ws_changed"),
            models.Index(fields=["workspace", "registered_at", "id"], name="deal_ws_registered"),
            models.Index(fields=["workspace", "amount", "id"], name="deal_ws_amount"),
            models.Index(fields=["workspace", "customer_name", "id"], name="deal_ws_customer"),
            models.Index(fields=["stage", "stage_changed_at"], name="deal_stage_changed"),
            models.Index(fields=["stage", "expected_close_date"], name="deal_stage_close"),
            # The board's column counts (stage, of the registrations still in the pipeline): index-only.
            models.Index(fields=["stage", "approval_status", "workspace"], name="deal_stage_approval"),
        ]
        ordering = ["-registered_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"{self.customer_name} ({self.partner_id})"

    @property
    def is_open(self) -> bool:
        return self.stage.outcome == Outcome.OPEN

    @property
    def approval_overdue(self) -> bool:
        return (
            self.approval_status == ApprovalStatus.SUBMITTED
            and self.approval_due_at is not None
            and timezone.now() > self.approval_due_at
        )

    def calendar_days_in_stage(self, now: datetime.datetime | None = None) -> int:
        """Calendar days (in the current time zone) since the deal entered its stage: 0 on that day."""
        current = timezone.localtime(now if now is not None else timezone.now()).date()
        return max(0, (current - timezone.localtime(self.stage_changed_at).date()).days)

    def is_stalled(self, now: datetime.datetime | None = None) -> bool:
        """In an open stage for at least the stage's stalled threshold (calendar days, as shown)."""
        limit = self.stage.stall_days
        if not limit or self.stage.outcome != Outcome.OPEN:
            return False
        return self.calendar_days_in_stage(now) >= limit


class DealLineItem(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    product_name = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = "deal__partner"
    objects = ScopedManager["DealLineItem"]()

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"

    @property
    def total(self) -> Decimal:
        return quantize_money(self.quantity * self.unit_price)


class DealCoSeller(models.Model):
    class Role(models.TextChoices):
        CO_SELL = "co_sell", "Co-sell"
        INFLUENCER = "influencer", "Influencer"
        REFERRAL = "referral", "Referral"
        IMPLEMENTATION = "implementation", "Implementation"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="co_sellers")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CO_SELL)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = "deal__partner"
    objects = ScopedManager["DealCoSeller"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "deal", "partner"], name="cosell_unique_partner")
        ]

    def __str__(self) -> str:
        return f"{self.partner} ({self.role})"


class DealStageChange(models.Model):
    """Stage history: the deal entered ``to_stage`` at ``changed_at`` (and left it at the next change).

    Append-only and high-volume: the workspace key is not a database constraint (the deal's is) and has
    no index of its own (the composite index leads with it)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes", db_index=False)
    # Stage keys are only looked up when a stage is deleted (rare): no index of their own.
    from_stage = models.ForeignKey(
        PipelineStage, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    to_stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="+", db_index=False)
    changed_at = models.DateTimeField(default=timezone.now)
    actor_label = models.CharField(max_length=254, blank=True)
    lost_reason = models.CharField(max_length=300, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = "deal__partner"
    objects = ScopedManager["DealStageChange"]()

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["deal", "changed_at"], name="stagechange_deal_time")]

    def __str__(self) -> str:
        return f"→ {self.to_stage}"


class CustomerKey(models.Model):
    """Blocking keys of the customers deals were registered for, indexed so that conflict candidates
    are found without a scan: a key leads to customer keys (``Deal.customer_key``), those to deals.

    One row per (key, customer), not per deal: real pipelines carry several deals per customer, and a
    bulk import writes only the keys of customers it has not seen. Derived data, only ever added to
    (``customer_index``); a row whose deals are gone just finds nothing. Internal and workspace-wide:
    read by conflict detection, which runs unscoped; partner users never see it."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    key = models.CharField(max_length=120)
    customer_key = models.CharField(max_length=200)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["CustomerKey"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key", "customer_key"], name="customerkey_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.customer_key}"


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    CO_SELL = "co_sell", "Marked co-sell"
    DISMISSED = "dismissed", "Not a conflict"


class DealConflict(models.Model):
    """A possible duplicate registration found when ``deal`` was submitted; ``other`` came first or later."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="conflicts")
    other = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=4)
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_label = models.CharField(max_length=254, blank=True)
    resolution_note = models.TextField(blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = "deal__partner"
    objects = ScopedManager["DealConflict"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "deal", "other"], name="conflict_unique_pair")
        ]
        ordering = ["-score", "id"]

    def __str__(self) -> str:
        return f"{self.deal_id} ~ {self.other_id} ({self.score})"

    @property
    def first_in(self) -> Deal:
        return self.other if self.other.registered_at <= self.deal.registered_at else self.deal


class RollupGrain(models.IntegerChoices):
    DAY = 0, "Day"
    MONTH = 1, "Month"  # ``day`` is the first of the month
    EVER = 2, "Since ever"  # ``day`` is ROLLUP_EVER: the sum over every day


ROLLUP_EVER = datetime.date(1, 1, 1)


def _rollup_fk(model: type[models.Model] | str) -> models.ForeignKey:
    return models.ForeignKey(
        model, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )


class DealDayRollup(models.Model):
    """Deal flows per partner, currency and UTC day (and month, and since ever): registrations, wins,
    losses, days to close, co-sold wins (``deals.rollups.contributions`` says what each deal adds).
    Maintained by every deal write, rebuilt by ``prm deals rollups-rebuild``; derived data, no
    surrogate key."""

    pk = models.CompositePrimaryKey("workspace", "grain", "day", "partner", "currency")
    workspace = _rollup_fk(Workspace)
    grain = models.PositiveSmallIntegerField(choices=RollupGrain.choices)
    day = models.DateField()
    partner = _rollup_fk(Partner)
    currency = models.CharField(max_length=3)
    registered = models.IntegerField(default=0)
    registered_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    registered_all = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    won_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    won_sourced = models.IntegerField(default=0)
    won_sourced_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    won_influenced = models.IntegerField(default=0)
    won_influenced_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    won_measured = models.IntegerField(default=0)
    won_days = models.BigIntegerField(default=0)
    lost = models.IntegerField(default=0)
    lost_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    cosell_won = models.IntegerField(default=0)
    cosell_won_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))

    objects = ScopedManager["DealDayRollup"]()

    class Meta:
        indexes = [  # one partner's or a few partners' rows (the key leads with the grain and day)
            models.Index(fields=["workspace", "partner", "grain", "day"], name="deals_dayrollup_partner_idx")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day} ({self.currency})"


class DealStageRollup(models.Model):
    """What entered (+) and left (−) each pipeline stage per partner, currency and UTC day (and month,
    and since ever): summed up to a day they give the deals, amount and registration days (for ages) in
    the stage at the end of that day."""

    pk = models.CompositePrimaryKey("workspace", "grain", "day", "partner", "currency", "stage")
    workspace = _rollup_fk(Workspace)
    grain = models.PositiveSmallIntegerField(choices=RollupGrain.choices)
    day = models.DateField()
    partner = _rollup_fk(Partner)
    currency = models.CharField(max_length=3)
    stage = _rollup_fk(PipelineStage)
    count = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal(0))
    reg_days = models.BigIntegerField(default=0)  # sum of the deals' registration days (proleptic ordinals)

    objects = ScopedManager["DealStageRollup"]()

    class Meta:
        indexes = [  # one partner's or a few partners' rows (the key leads with the grain and day)
            models.Index(
                fields=["workspace", "partner", "grain", "day"], name="deals_stagerollup_partner_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day} stage {self.stage_id} ({self.currency})"


class DealCloseDays(models.Model):
    """Won deals per partner, currency, close day and calendar days from registration to close: the
    histogram medians of time to close are read from."""

    pk = models.CompositePrimaryKey("workspace", "day", "partner", "currency", "days")
    workspace = _rollup_fk(Workspace)
    day = models.DateField()
    partner = _rollup_fk(Partner)
    currency = models.CharField(max_length=3)
    days = models.IntegerField()
    count = models.IntegerField(default=0)

    objects = ScopedManager["DealCloseDays"]()

    class Meta:
        indexes = [  # one partner's or a few partners' rows (the key leads with the day)
            models.Index(fields=["workspace", "partner", "day"], name="deals_closedays_partner_idx")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}: {self.count} in {self.days} days"
