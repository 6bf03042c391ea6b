"""Commission plans (versioned, effective-dated), assignments, sub-partners, the append-only ledger,
payout runs, items and details, statements, and the accrual watermark.

Guards at the database level (migration ``0002_ledger_guards``, PostgreSQL and SQLite triggers, as core
does for the audit trail): a published plan version is never updated; a ledger entry's only columns that
may change are its state columns (``state``, ``approved_at``, ``approved_by``, ``paid_item``, ``paid_at``,
``rejected_at``, ``rejected_reason``), and only forward (pending → approved → paid; pending or approved →
rejected; ``paid_item`` set once); ledger entries are never deleted (PostgreSQL; SQLite keeps deletes for
the test flush).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import TimestampedModel, Workspace, WorkspaceModel
from openprm.core.scoping import ScopedManager
from openprm.partners.models import Partner, Program, Tag, Tier


class Selection(models.TextChoices):
    """Which of several matching rules pays for one event."""

    HIGHEST = "highest", "The highest reward"
    PRIORITY = "priority", "The first by priority"
    STACK = "stack", "Every matching rule (stacked)"


class Plan(WorkspaceModel):
    """A commission plan: rules live in its versions; the plan holds what does not change per version.

    Negative balances: a negative approved balance (after a clawback) carries forward and is netted against
    later earnings; a partner is never charged."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, default="USD", help_text="Every commission is paid in it")
    hold_days = models.PositiveSmallIntegerField(default=30, help_text="Pending this long (refund window)")
    min_payout = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    selection = models.CharField(max_length=10, choices=Selection.choices, default=Selection.HIGHEST)
    archived_at = models.DateTimeField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True  # the portal reads a partner's own plan through selectors

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="commission_plan_unique_name")
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PlanVersion(WorkspaceModel):
    """One version of a plan's rules (``rules.py`` validates the JSON). Drafts are edited; a published
    version never changes (database guard). The version in force for an event is the latest published one
    with ``effective_from`` on or before the event's date."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateField()
    rules = models.JSONField(default=dict)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    published_at = models.DateTimeField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "plan", "number"], name="commission_version_unique"),
        ]
        indexes = [models.Index(fields=["plan", "status", "effective_from"], name="commission_version_force")]
        ordering = ["plan_id", "-number"]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.number}"


class PlanAssignment(WorkspaceModel):
    """Who a plan applies to. Precedence when several plans reach a partner: partner > partner group (a
    tag) > tier > program; within one level the latest ``starts_on`` wins."""

    class Level(models.TextChoices):
        PARTNER = "partner", "Partner"
        TAG = "tag", "Partner group (tag)"
        TIER = "tier", "Tier"
        PROGRAM = "program", "Program"

    PRECEDENCE: ClassVar[dict[str, int]] = {"partner": 0, "tag": 1, "tier": 2, "program": 3}

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="assignments")
    level = models.CharField(max_length=10, choices=Level.choices)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(level="partner", partner__isnull=False)
                    | models.Q(level="tag", tag__isnull=False)
                    | models.Q(level="tier", tier__isnull=False)
                    | models.Q(level="program", program__isnull=False)
                ),
                name="commission_assignment_target",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "level", "starts_on"], name="commission_assign_level")]

    def __str__(self) -> str:
        return f"{self.plan_id} → {self.level}"


class SubPartner(WorkspaceModel):
    """A partner recruited by another (for multi-tier overrides): the parent earns a share of the child's
    commissions from ``since`` (until ``until``). One parent per child at a time."""

    parent = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    since = models.DateField()
    until = models.DateField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = "parent"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "child", "since"], name="commission_subpartner_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("child")), name="commission_subpartner_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent_id} ⊃ {self.child_id}"


class PayoutRun(WorkspaceModel):
    """A payout run in one currency with a cutoff date: approved entries up to the cutoff, netted per
    partner, above each partner's minimum. Retried safely (items are unique per run and partner)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        EXPORTED = "exported", "Exported"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    currency = models.CharField(max_length=3)
    cutoff = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    method = models.CharField(max_length=10, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    total = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"payout {self.currency} {self.cutoff}"


class PayoutItem(TimestampedModel):
    """One partner's payment in a run.

    The partner's payout details are sealed into the item when it is made (``details_*``: the method,
    currency, holder and the Fernet token of the sensitive fields, copied as they were), and taken again
    only when a failed item is retried: the export file is built from this copy, so a later change of
    the partner's details never alters a payment already made or under way.

    A failed item can be *abandoned* (``payout.manage``, with a reason): nobody is paid, its entries stay
    reserved to it (never paid twice) and two ledger rows bring their sum back to the approved balance
    for a later run (``services.payouts.payout_item_abandon``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (below minimum or no details)"
        ABANDONED = "abandoned", "Abandoned (carried forward)"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="items")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=10, blank=True)
    details_display = models.CharField(max_length=120, blank=True)  # "IBAN •••• 1234", never the secret
    # The partner's payout details as they were when the item was made (sealed: never shown, only the
    # export file opens them); details_at is the details row's updated_at then
    details_currency = models.CharField(max_length=3, blank=True)
    details_holder = models.CharField(max_length=200, blank=True)
    details_secret = models.TextField(blank=True, help_text="Fernet token of the sensitive fields (JSON)")
    details_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reference = models.CharField(max_length=200, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    abandoned_reason = models.CharField(max_length=300, blank=True)

    objects = ScopedManager["PayoutItem"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "run", "partner"], name="commission_payout_item_unique"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "partner", "-created_at"], name="commission_item_partner")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.amount} {self.currency}"


class PayoutDetails(TimestampedModel):
    """A partner's own payout details. The sensitive part (account numbers, e-mail) is a Fernet token in
    ``secret``; ``display`` holds only what may be shown (last four, masked e-mail)."""

    class Method(models.TextChoices):
        BANK = "bank", "Bank transfer"
        PAYPAL = "paypal", "PayPal"
        WISE = "wise", "Wise"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=10, choices=Method.choices)
    currency = models.CharField(max_length=3)
    holder_name = models.CharField(max_length=200, blank=True)
    secret = models.TextField(blank=True, help_text="Fernet token of the sensitive fields (JSON)")
    display = models.CharField(max_length=120, blank=True)
    tax_id = models.CharField(max_length=60, blank=True)
    self_billing = models.BooleanField(
        default=False, help_text="Statements laid out as self-billing invoices"
    )
    min_payout = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedManager["PayoutDetails"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "partner"], name="commission_payout_details_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.method} {self.display}"


class Statement(TimestampedModel):
    """A partner's statement for a period (totals kept; lines are the ledger entries of the period)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3)
    opening = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    earned = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    paid = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    closing = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    payout_item = models.ForeignKey(
        PayoutItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedManager["Statement"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "partner", "period_start", "period_end", "currency"],
                name="commission_statement_unique",
            )
        ]
        ordering = ["-period_start", "-id"]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.period_start}–{self.period_end}"


class LedgerEntry(models.Model):
    """One append-only line of the ledger (see the module docstring for the guard).

    ``amount`` is in the plan's ``currency``, quantised to cents (ROUND_HALF_UP); ``base_amount`` is the
    source amount in ``base_currency``; ``fx_rate`` converts base → plan currency (as of ``fx_date``);
    ``rate`` is the percentage applied (None for a flat reward). ``explanation`` says which rule and
    conditions matched or failed and which caps trimmed the amount. ``idempotency_key`` makes accrual
    idempotent (unique per workspace)."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", "Commission"
        REVERSAL = "reversal", "Reversal (refund)"
        ADJUSTMENT = "adjustment", "Adjustment"
        CLAWBACK = "clawback", "Clawback (after payout)"
        BONUS = "bonus", "Bonus"
        OVERRIDE = "override", "Override (sub-partner)"
        PAYOUT = "payout", "Payout"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        CONVERSION = "conversion", "Conversion"
        DEAL = "deal", "Deal"
        EVENT = "event", "Event"
        MANUAL = "manual", "Manual"
        PAYOUT = "payout", "Payout"

    STATE_COLUMNS: ClassVar[tuple[str, ...]] = (
        "state",
        "approved_at",
        "approved_by_id",
        "paid_item_id",
        "paid_at",
        "rejected_at",
        "rejected_reason",
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # no index of its own: every index of the ledger leads with the workspace
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    source_kind = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    source_event = models.CharField(max_length=60, blank=True)  # deal_won, purchase, custom:webinar, ...
    idempotency_key = models.CharField(max_length=200)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan_version = models.ForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rule_key = models.CharField(max_length=60, blank=True)
    occurred_at = models.DateTimeField()
    period = models.DateField(help_text="First day of the month the source event fell in")
    base_amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    base_currency = models.CharField(max_length=3)
    fx_rate = models.DecimalField(
        max_digits=30, decimal_places=16, default=Decimal(1)
    )  # the rate used, exactly
    fx_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    caps = models.JSONField(default=list, blank=True)  # [{"cap": "per_period", "limit": "…", "trimmed": "…"}]
    explanation = models.JSONField(default=dict, blank=True)
    hold_until = models.DateField(null=True, blank=True)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="overrides"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # who booked / approved: shown on the entry, never searched (no index)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # State columns (the only ones that may change, forward only)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    paid_item = models.ForeignKey(
        PayoutItem, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_reason = models.CharField(max_length=300, blank=True)

    objects = ScopedManager["LedgerEntry"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"], name="commission_ledger_unique_key"
            ),
        ]
        # The ledger page and API list newest first under any one filter, paged by keyset: an index in
        # that order per filter, so a page reads its 50 rows whatever the filter's rarity. Kinds and
        # states are partial: the bulk (accruals, paid entries) reads fast enough through the
        # newest-first index. ``state`` also serves the hold release (pending) and the payout run
        # (approved up to the cutoff). ``statement`` serves statements (booked instants per partner
        # and currency) and the partner balances (by currency and state, read from the index alone).
        indexes = [
            models.Index(fields=["workspace", "-occurred_at", "-id"], name="commission_ledger_recent"),
            models.Index(
                fields=["workspace", "partner", "-occurred_at", "-id"], name="commission_ledger_by_partner"
            ),
            models.Index(
                fields=["workspace", "period", "-occurred_at", "-id"], name="commission_ledger_period"
            ),
            models.Index(
                fields=["workspace", "kind", "-occurred_at", "-id"],
                name="commission_ledger_kind",
                condition=~models.Q(kind="accrual"),
            ),
            models.Index(
                fields=["workspace", "state", "-occurred_at", "-id"],
                name="commission_ledger_state",
                condition=~models.Q(state="paid"),
            ),
            models.Index(fields=["workspace", "partner", "period"], name="commission_ledger_partner"),
            models.Index(
                fields=["workspace", "partner", "currency", "created_at"],
                name="commission_ledger_statement",
                include=["state", "kind", "amount"],
            ),
            models.Index(fields=["workspace", "source_kind", "source_id"], name="commission_ledger_source"),
        ]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class AccrualState(models.Model):
    """Per workspace: how far the catch-up accrual has read each source (watermarks), so a periodic run
    reads only what is new or changed. Idempotency keys make a re-read harmless."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    conversions_after_id = models.BigIntegerField(default=0)
    deals_changed_after = models.DateTimeField(null=True, blank=True)
    events_after_id = models.BigIntegerField(default=0)
    ran_at = models.DateTimeField(null=True, blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["AccrualState"]()

    def __str__(self) -> str:
        return f"accrual state {self.workspace_id}"


class AccrualWaiting(models.Model):
    """A source the accrual could not evaluate yet (no exchange rate for its day, or a refund of such a
    sale): every catch-up retries the list, and the FX import enqueues one; the row goes once accrued."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    source_kind = models.CharField(max_length=12)  # conversion | deal | event
    source_id = models.BigIntegerField()
    reason = models.CharField(max_length=300)
    since = models.DateTimeField()

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["AccrualWaiting"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source_kind", "source_id"], name="commissions_waiting_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_kind} {self.source_id} waiting: {self.reason}"
