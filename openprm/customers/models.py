"""Partner-managed customer accounts and what happens to them: changes (renewals, upsells, cross-sells,
downgrades, churn), CSAT answers (the partner channel, and the direct channel as the baseline) and monthly
product usage.

Every row carries its workspace and, when a partner manages it, that partner (copied from the account so
that scoping and the metric inputs group without a join). An account's dates are whole days: it is a
customer from ``started_on`` until the day before ``ended_on`` (the churn date), or still is when
``ended_on`` is empty.
"""

from __future__ import annotations

from django.db import models

from openprm.core.models import TimestampedModel, Workspace
from openprm.core.scoping import ScopedManager
from openprm.partners.models import Partner


class CustomerAccount(TimestampedModel):
    """A customer account a partner manages (resells to, services, renews)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="customer_accounts")
    external_id = models.CharField(max_length=100, null=True, blank=True)
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True, help_text="Churn date: no longer a customer from then")
    arr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    mrr = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.TextField(blank=True)

    objects = ScopedManager["CustomerAccount"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="customeraccount_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True) | models.Q(ended_on__gte=models.F("started_on")),
                name="customeraccount_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "name", "id"]),
            # the metric inputs: accounts of some partners alive at some time in a period
            models.Index(fields=["workspace", "partner", "started_on", "ended_on"]),
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.ended_on is None


class ChangeKind(models.TextChoices):
    RENEWAL = "renewal", "Renewal"
    UPSELL = "upsell", "Upsell"
    CROSS_SELL = "cross_sell", "Cross-sell"
    DOWNGRADE = "downgrade", "Downgrade"
    CHURN = "churn", "Churn"


class AccountChange(TimestampedModel):
    """Something that changed an account's business: its amount is the contract value of the renewal,
    the added value of an upsell/cross-sell, the value lost by a downgrade or churn (never negative)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CustomerAccount, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=ChangeKind.choices)
    occurred_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    external_id = models.CharField(max_length=100, null=True, blank=True)

    objects = ScopedManager["AccountChange"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="accountchange_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="accountchange_amount_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "occurred_on", "partner"]),
            models.Index(fields=["account", "occurred_on"]),
        ]
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"


class CsatChannel(models.TextChoices):
    PARTNER = "partner", "Partner-managed"
    DIRECT = "direct", "Direct (baseline)"


class CsatResponse(TimestampedModel):
    """One customer-satisfaction answer (1-5). Partner-channel answers belong to an account (and so to its
    managing partner); direct-channel answers come from the vendor's own customers, with no partner and no
    account: they are the baseline partner-managed accounts are compared with."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        CustomerAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="csat_responses"
    )
    channel = models.CharField(max_length=8, choices=CsatChannel.choices)
    score = models.PositiveSmallIntegerField()
    answered_on = models.DateField()
    external_id = models.CharField(max_length=100, null=True, blank=True)

    objects = ScopedManager["CsatResponse"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="csatresponse_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="csatresponse_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(channel="partner", partner__isnull=False, account__isnull=False)
                    | models.Q(channel="direct", partner__isnull=True, account__isnull=True)
                ),
                name="csatresponse_channel_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "channel", "answered_on"]),
            models.Index(fields=["account", "answered_on"]),
        ]
        ordering = ["-answered_on", "-id"]

    def __str__(self) -> str:
        return f"CSAT {self.score} ({self.channel}, {self.answered_on})"


class UsageRecord(TimestampedModel):
    """An account's product usage in one month (``month`` is its first day)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(CustomerAccount, on_delete=models.CASCADE, related_name="usage_records")
    month = models.DateField()
    active_users = models.PositiveIntegerField(default=0)
    features_used = models.PositiveIntegerField(default=0)
    features_available = models.PositiveIntegerField(default=0)

    objects = ScopedManager["UsageRecord"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "account", "month"], name="usagerecord_unique_month"
            ),
            models.CheckConstraint(
                condition=models.Q(features_used__lte=models.F("features_available")),
                name="usagerecord_used_within_available",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "month", "partner"])]
        ordering = ["-month", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}"
