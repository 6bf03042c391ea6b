"""The financial inputs of the metric catalog beyond deals and events.

- ``PartnerCost``: what a partnership cost in a month (fees, enablement, MDF, other); staff only.
- ``Invoice``: invoices the vendor sent a partner (receivables: "the partner pays us on time"), with the
  due and paid dates and the disputed/corrected flags behind payment timeliness and invoice accuracy.
- ``SellThroughLine``: a distributor's monthly report line per SKU and region (units sold, units on hand
  at the month's end, price charged and list price).
- ``CompanyRevenue``: the workspace's total revenue per month over all channels (for "% of total").
- ``FxRate``: an exchange rate of a day (imported from the ECB reference-rate CSV or entered by hand),
  read through ``selectors.fx.fx_table`` by whatever converts amounts (commissions).

Amounts are in the workspace currency (an invoice carries its own currency code). Months are stored as
their first day.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import TimestampedModel, Workspace
from openprm.core.scoping import ScopedManager
from openprm.partners.models import Partner


class CostCategory(models.TextChoices):
    FEES = "fees", "Fees"
    ENABLEMENT = "enablement", "Enablement"
    MDF = "mdf", "MDF"
    OTHER = "other", "Other"


class PartnerCost(TimestampedModel):
    """What the partnership with one partner cost in one month, per category (one row per category)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    period = models.DateField(help_text="The month (its first day)")
    category = models.CharField(max_length=12, choices=CostCategory.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.TextField(blank=True)

    SCOPE_STAFF_ONLY: ClassVar[bool] = True  # partner users never see what they cost
    objects = ScopedManager["PartnerCost"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "partner", "period", "category"], name="finance_cost_unique_key"
            )
        ]
        indexes = [models.Index(fields=["workspace", "period"], name="finance_cost_period")]
        ordering = ["-period", "partner_id", "category"]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.period:%Y-%m}"


class Invoice(TimestampedModel):
    """An invoice the vendor sent the partner (a receivable): paid on time when ``paid_on <= due_on``,
    accurate when neither disputed nor corrected."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=60)
    issued_on = models.DateField()
    due_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    paid_on = models.DateField(null=True, blank=True)
    disputed = models.BooleanField(default=False)
    corrected = models.BooleanField(default=False)
    note = models.TextField(blank=True)  # internal: never shown to partner users

    objects = ScopedManager["Invoice"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="finance_invoice_unique_number")
        ]
        indexes = [
            models.Index(fields=["workspace", "due_on", "partner"], name="finance_invoice_due"),
            models.Index(fields=["workspace", "issued_on", "partner"], name="finance_invoice_issued"),
            models.Index(fields=["workspace", "partner", "-issued_on"], name="finance_invoice_partner"),
        ]
        ordering = ["-issued_on", "-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def paid_on_time(self) -> bool | None:
        """True/False once paid; None while unpaid."""
        return None if self.paid_on is None else self.paid_on <= self.due_on


class SellThroughLine(TimestampedModel):
    """One line of a distributor's monthly sell-through report: a SKU in a region."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    period = models.DateField(help_text="The month (its first day)")
    sku = models.CharField(max_length=60)
    region = models.CharField(max_length=60, blank=True)
    units_sold = models.PositiveIntegerField(default=0)
    units_on_hand = models.PositiveIntegerField(default=0, help_text="At the end of the month")
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, help_text="Price charged per unit")
    list_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    objects = ScopedManager["SellThroughLine"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "partner", "period", "sku", "region"],
                name="finance_sellthrough_unique_key",
            )
        ]
        indexes = [models.Index(fields=["workspace", "period"], name="finance_sellthrough_period")]
        ordering = ["-period", "partner_id", "sku", "region"]

    def __str__(self) -> str:
        return f"{self.sku} {self.region} {self.period:%Y-%m}"


class CompanyRevenue(TimestampedModel):
    """The company's total revenue in a month over all channels (direct and partners), in the workspace
    currency: the denominator of "partner revenue as % of total"."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    period = models.DateField(help_text="The month (its first day)")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.TextField(blank=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["CompanyRevenue"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "period"], name="finance_company_revenue_unique")
        ]
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m}"


class FxSource(models.TextChoices):
    ECB = "ecb", "ECB reference rates"
    MANUAL = "manual", "Manual entry"


class FxRate(models.Model):
    """One exchange rate of a day: ``1 base = rate quote`` (the ECB's layout: base EUR, ``rate`` units of
    the quote currency per euro). Workspace-wide and internal: staff read it, finance writes it, partner
    users never see it. Rates are stored exactly (up to 28 digits, 14 decimal places); an inverse or cross
    rate is computed when read (``selectors.fx``), never stored."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The day the rate applies to")
    base = models.CharField(max_length=3, help_text="ISO 4217 code: 1 unit of this currency…")
    quote = models.CharField(max_length=3, help_text="…is worth `rate` units of this one")
    rate = models.DecimalField(max_digits=28, decimal_places=14)
    source = models.CharField(max_length=8, choices=FxSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["FxRate"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "day", "base", "quote"], name="finance_fxrate_unique_day_pair"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="finance_fxrate_rate_positive"),
            models.CheckConstraint(condition=~models.Q(base=models.F("quote")), name="finance_fxrate_pair"),
        ]
        indexes = [models.Index(fields=["workspace", "quote", "-day"], name="finance_fxrate_quote_day")]
        ordering = ["-day", "base", "quote"]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate_text} {self.quote} on {self.day}"

    @property
    def rate_text(self) -> str:
        """The rate as written, without trailing zeros (``1.0823``, ``158``)."""
        text = f"{self.rate:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
