from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from openprm.core.models import TimestampedModel, Workspace, WorkspaceModel
from openprm.core.scoping import ScopedManager


class PartnerType(WorkspaceModel):
    """Kinds of partner; the defaults are created with the workspace and admins may add more."""

    DEFAULTS: ClassVar[list[tuple[str, str]]] = [
        ("reseller", "Reseller"),
        ("referral", "Referral"),
        ("affiliate", "Affiliate"),
        ("technology", "Technology"),
        ("agency", "Agency"),
        ("distributor", "Distributor"),
        ("influencer", "Influencer"),
        ("service", "Service"),
    ]
    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="partnertype_unique_key")]
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class Program(WorkspaceModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    approval_sla_days = models.PositiveSmallIntegerField(
        default=2, help_text="Business days within which deal registrations should be decided"
    )
    protection_days = models.PositiveSmallIntegerField(
        default=90, help_text="Days an approved registration is protected before it expires unprogressed"
    )
    attribution_model = models.CharField(
        max_length=12,
        choices=[("first_click", "First click"), ("last_click", "Last click")],
        default="last_click",
        help_text="Which of a customer's clicks earns a conversion",
    )
    attribution_window_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days after a click within which a conversion is attributed to it"
    )
    active_window_days = models.PositiveSmallIntegerField(
        default=90, help_text="A partner counts as active with a qualifying activity within this many days"
    )
    tracking_allowed_hosts = models.JSONField(
        default=list,
        blank=True,
        help_text="Hosts this program's tracking links may lead to; empty: the workspace's allowed hosts",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="program_unique_name")]
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class Tier(WorkspaceModel):
    """An ordered level inside a program (rank 1 is the lowest)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "program", "name"], name="tier_unique_name"),
            models.UniqueConstraint(fields=["workspace", "program", "rank"], name="tier_unique_rank"),
        ]
        ordering = ["program_id", "rank"]

    def __str__(self) -> str:
        return self.name


class Tag(WorkspaceModel):
    name = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(WorkspaceModel):
    """A typed extra field on partners, defined per workspace; values live in Partner.custom_fields."""

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes/no"
        CHOICE = "choice", "Choice"

    key = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)
    field_type = models.CharField(max_length=10, choices=FieldType.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="customfield_unique_key")]
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class PartnerStatus(models.TextChoices):
    APPLICANT = "applicant", "Applicant"
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    AT_RISK = "at_risk", "At risk"
    INACTIVE = "inactive", "Inactive"
    CHURNED = "churned", "Churned"


class Partner(TimestampedModel):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=100, null=True, blank=True)
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    type = models.ForeignKey(PartnerType, on_delete=models.PROTECT, related_name="partners")
    status = models.CharField(max_length=12, choices=PartnerStatus.choices, default=PartnerStatus.APPLICANT)
    status_changed_at = models.DateTimeField(default=timezone.now)
    country = CountryField(blank=True)
    region = models.CharField(max_length=60, blank=True)
    domains = models.JSONField(default=list, blank=True)
    website = models.URLField(max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="partners")
    custom_fields = models.JSONField(default=dict, blank=True)
    start_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Archived partners are hidden from lists and can be restored"
    )

    SCOPE_PARTNER_PATH: ClassVar[str | None] = ""
    objects = ScopedManager["Partner"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="partner_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "name"]),
            models.Index(fields=["workspace", "status"]),
            models.Index(fields=["workspace", "owner"]),
            # Lists show live partners by name: the archived ones stay out of the index they page on.
            models.Index(
                fields=["workspace", "name", "id"],
                condition=models.Q(archived_at__isnull=True),
                name="partner_live_name_idx",
            ),
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def archived_message(self) -> str:
        """The error for writing new business to an archived partner ("" when it is live)."""
        return f"{self.name} is archived: restore it before adding to it." if self.archived_at else ""

    @property
    def primary_domain(self) -> str:
        return self.domains[0] if self.domains else ""


class PartnerProgram(TimestampedModel):
    """A partner's enrolment in a program, with its tier there."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="enrolments")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrolments")
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="enrolments")
    joined_on = models.DateField(default=datetime.date.today)

    objects = ScopedManager["PartnerProgram"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "partner", "program"], name="enrolment_unique")
        ]
        ordering = ["program__name"]

    def __str__(self) -> str:
        return f"{self.program} · {self.tier or 'no tier'}"


class TierChange(models.Model):
    """Dated tier history of a partner in a program: written by every service that enrols a partner or
    moves its tier (``partners.services.tier_history``), never edited. Ranks and names are copied at the
    time of the change, so the history stays as it was when a tier is renamed, re-ranked or deleted.
    Joining (no ``from``) and leaving (no ``to``) are recorded too; only moves between tiers count as
    progression (the ``tier_progression`` metric)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tier_changes")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_name = models.CharField(max_length=60, blank=True)
    to_name = models.CharField(max_length=60, blank=True)
    from_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    to_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    changed_on = models.DateField(default=datetime.date.today)
    changed_at = models.DateTimeField(default=timezone.now)
    actor_label = models.CharField(max_length=254, blank=True)

    objects = ScopedManager["TierChange"]()  # a partner user reads its own partner's history

    class Meta:
        ordering = ["-changed_on", "-id"]
        indexes = [models.Index(fields=["workspace", "changed_on", "partner"])]

    def __str__(self) -> str:
        return f"{self.from_name or '—'} → {self.to_name or '—'}"


class StatusChange(models.Model):
    """Dated lifecycle history of a partner."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=PartnerStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=PartnerStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    actor_label = models.CharField(max_length=254, blank=True)

    objects = ScopedManager["StatusChange"]()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class Contact(TimestampedModel):
    class Role(models.TextChoices):
        EXECUTIVE = "executive", "Executive"
        SALES = "sales", "Sales"
        MARKETING = "marketing", "Marketing"
        TECHNICAL = "technical", "Technical"
        FINANCE = "finance", "Finance"
        OPERATIONS = "operations", "Operations"
        OTHER = "other", "Other"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.OTHER)
    is_primary = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedManager["Contact"]()

    class Meta:
        ordering = ["-is_primary", "name"]
        indexes = [models.Index(fields=["workspace", "partner"])]

    def __str__(self) -> str:
        return self.name


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_SIGNATURE = "pending_signature", "Pending signature"
    ACTIVE = "active", "Active"
    EXPIRING = "expiring", "Expiring"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


def agreement_upload_to(instance: Agreement, filename: str) -> str:
    return f"agreements/{instance.workspace_id}/{instance.public_id}/{filename}"


class Agreement(TimestampedModel):
    class Kind(models.TextChoices):
        PARTNER = "partner", "Partner agreement"
        RESELLER = "reseller", "Reseller agreement"
        REFERRAL = "referral", "Referral agreement"
        AFFILIATE = "affiliate", "Affiliate terms"
        NDA = "nda", "NDA"
        MSA = "msa", "Master services agreement"
        OTHER = "other", "Other"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="agreements")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PARTNER)
    title = models.CharField(max_length=200)
    terms_summary = models.TextField(blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    auto_renew = models.BooleanField(default=False)
    renewal_notice_days = models.PositiveSmallIntegerField(default=30)
    status = models.CharField(max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)
    file = models.FileField(upload_to=agreement_upload_to, blank=True, max_length=300)

    objects = ScopedManager["Agreement"]()

    class Meta:
        ordering = ["-start_date", "-id"]
        indexes = [models.Index(fields=["workspace", "status", "end_date"])]

    def __str__(self) -> str:
        return self.title

    def days_left(self, today: datetime.date | None = None) -> int | None:
        if self.end_date is None:
            return None
        return (self.end_date - (today or timezone.localdate())).days

    def expiring_within(self, days: int, today: datetime.date | None = None) -> bool:
        left = self.days_left(today)
        live = self.status in (AgreementStatus.ACTIVE, AgreementStatus.EXPIRING)
        return live and left is not None and 0 <= left <= days

    @property
    def effective_status(self) -> str:
        """Status as of today: a live agreement past its end date reads as expired."""
        left = self.days_left()
        if self.status in (AgreementStatus.ACTIVE, AgreementStatus.EXPIRING) and left is not None:
            if left < 0 and not self.auto_renew:
                return AgreementStatus.EXPIRED
            if 0 <= left <= settings.PRM_EXPIRING_DAYS:
                return AgreementStatus.EXPIRING
        return self.status


class SavedView(WorkspaceModel):
    """A named partner-list filter a staff user saved (the query string of the list page)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user", "name"], name="savedview_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
