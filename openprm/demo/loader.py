"""A realistic, deterministic demo program: partners with history, contacts, agreements and 24 months of
activity (logged interactions and engagement events, with their rollups), plus demo logins for every role.

Everything is generated from one seeded ``random.Random`` (and seeded Faker instances), so the same seed
and the same ``now`` give identical rows, public ids included. Rows are written with ``bulk_create`` in one
transaction under ``unscoped()``: this is the one deliberately audit-free fast path (demo data only).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import random
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password
from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker

from openprm.accounts.models import Membership, User
from openprm.accounts.services import workspace_default
from openprm.activity.models import (
    Click,
    Conversion,
    Coupon,
    Event,
    PairedInterval,
    PartnerDayMetric,
    TrackingLink,
)
from openprm.activity.rollups import rollups_rebuild
from openprm.core.bulk import analyze_tables
from openprm.core.models import Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.deals.models import CustomerKey, Deal, DealConflict, DealLineItem, DealStageChange
from openprm.demo import deals as demo_deals
from openprm.demo.referrals import demo_referrals_load
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    Partner,
    PartnerProgram,
    PartnerStatus,
    PartnerType,
    Program,
    StatusChange,
    Tag,
    Tier,
)
from openprm.partners.services import DEFAULT_PROGRAM, workspace_bootstrap

BATCH_SIZE = 1000
EVENT_BATCH = 20_000
FAKER_PROVIDERS = ["faker.providers.person", "faker.providers.company", "faker.providers.phone_number"]
DEMO_PBKDF2_ITERATIONS = 50_000
NAME_POOL = 150  # first and last names sampled per locale; pairs drawn from the pools
EVENT_COLUMNS = [
    "event_id",
    "partner_id",
    "type",
    "direction",
    "occurred_at",
    "actor_contact_id",
    "actor_user_id",
    "value",
    "properties",
    "source",
]
"""Generated event rows: Python values in this order (``received_at`` is the occurred time)."""
INTERACTION_TYPE = {("email", "inbound"): "email_received", ("email", "outbound"): "email_sent"}
LOGINS_FILENAME = "demo_logins.txt"
VENDOR_DOMAIN = "vendor.example"  # reserved TLD (RFC 2606): demo mail can never reach a real domain
REFERRAL_PROGRAM = "Referral Program"
REFERRAL_TIERS = ["Registered", "Preferred", "Elite"]
HISTORY_DAYS = 730
D = datetime.timedelta

# (email, full name, role, owned_only)
STAFF = [
    (f"alex@{VENDOR_DOMAIN}", "Alex Morgan", Role.ADMIN, False),
    (f"priya@{VENDOR_DOMAIN}", "Priya Shah", Role.MANAGER, False),
    (f"tom@{VENDOR_DOMAIN}", "Tom Becker", Role.MANAGER, True),
    (f"fiona@{VENDOR_DOMAIN}", "Fiona Walsh", Role.FINANCE, False),
    (f"noah@{VENDOR_DOMAIN}", "Noah Kim", Role.ANALYST, False),
]

TYPE_WEIGHTS = {
    "reseller": 22,
    "referral": 16,
    "affiliate": 13,
    "technology": 10,
    "agency": 10,
    "distributor": 6,
    "influencer": 12,
    "service": 11,
}
TYPE_ACTIVITY = {
    "reseller": 1.15,
    "distributor": 1.0,
    "technology": 0.9,
    "agency": 0.9,
    "service": 0.9,
    "referral": 0.7,
    "affiliate": 0.5,
    "influencer": 0.6,
}
STATUS_WEIGHTS = {
    PartnerStatus.ACTIVE: 60,
    PartnerStatus.AT_RISK: 9,
    PartnerStatus.ONBOARDING: 8,
    PartnerStatus.APPLICANT: 6,
    PartnerStatus.INACTIVE: 8,
    PartnerStatus.CHURNED: 9,
}
REGION_WEIGHTS = {"NA": 36, "EMEA": 38, "LATAM": 11, "APAC": 15}
# region → (country, Faker locale, weight)
COUNTRIES: dict[str, list[tuple[str, str, int]]] = {
    "NA": [("US", "en_US", 72), ("CA", "en_CA", 28)],
    "EMEA": [
        ("GB", "en_GB", 22),
        ("DE", "de_DE", 20),
        ("FR", "fr_FR", 14),
        ("NL", "nl_NL", 10),
        ("ES", "es_ES", 8),
        ("IT", "it_IT", 7),
        ("SE", "sv_SE", 7),
        ("PL", "pl_PL", 6),
        ("IE", "en_IE", 6),
    ],
    "LATAM": [
        ("BR", "pt_BR", 40),
        ("MX", "es_MX", 30),
        ("CO", "es_CO", 12),
        ("CL", "es_CL", 10),
        ("AR", "es_AR", 8),
    ],
    "APAC": [
        ("AU", "en_AU", 30),
        ("IN", "en_IN", 28),
        ("JP", "ja_JP", 17),
        ("SG", "en_GB", 15),
        ("NZ", "en_NZ", 10),
    ],
}
LEGAL_SUFFIX = {
    "US": "Inc.",
    "CA": "Ltd.",
    "GB": "Ltd",
    "DE": "GmbH",
    "FR": "SAS",
    "NL": "B.V.",
    "ES": "S.L.",
    "IT": "S.r.l.",
    "SE": "AB",
    "PL": "Sp. z o.o.",
    "IE": "Ltd",
    "BR": "Ltda.",
    "MX": "S.A. de C.V.",
    "CO": "S.A.S.",
    "CL": "SpA",
    "AR": "S.R.L.",
    "AU": "Pty Ltd",
    "IN": "Pvt Ltd",
    "JP": "K.K.",
    "SG": "Pte. Ltd.",
    "NZ": "Limited",
}
BRAND_STEMS = [
    "Bright",
    "North",
    "Blue",
    "Silver",
    "Iron",
    "Cedar",
    "Summit",
    "Harbor",
    "Nimbus",
    "Vertex",
    "Apex",
    "Quantum",
    "Lumen",
    "Orbit",
    "Pioneer",
    "Granite",
    "Falcon",
    "Maple",
    "Aurora",
    "Beacon",
    "Atlas",
    "Clearpath",
    "Redwood",
    "Keystone",
    "Meridian",
    "Polar",
    "Copper",
    "Evergreen",
    "Crest",
    "Horizon",
    "Stellar",
    "Tidal",
    "Vector",
    "Zenith",
    "Cobalt",
    "Juniper",
    "Riverstone",
    "Oakridge",
    "Skyline",
    "Sterling",
    "Bluebird",
    "Ember",
    "Fjord",
    "Kestrel",
    "Lighthouse",
    "Mosaic",
    "Northstar",
    "Octave",
    "Prism",
    "Sable",
    "Tandem",
    "Union",
    "Willow",
    "Arcadia",
    "Cascade",
]
BRAND_TAILS = ("wave", "peak", "point", "line", "bridge", "field", "works", "stack", "gate", "path", "")
TYPE_SUFFIXES = {
    "reseller": ["IT Solutions", "Systems", "Technologies", "Computing", "Networks"],
    "referral": ["Advisors", "Group", "Partners", "Consulting"],
    "affiliate": ["Reviews", "Deals", "Media", "Compare", "Insights"],
    "technology": ["Labs", "Software", "AI", "Data", "Cloud"],
    "agency": ["Digital", "Creative", "Marketing", "Studio", "Growth"],
    "distributor": ["Distribution", "Supply", "Trading", "Wholesale"],
    "service": ["Consulting", "Services", "Integration", "Managed Services"],
}
TAGS = [
    "strategic",
    "co-sell",
    "marketplace",
    "enterprise",
    "mid-market",
    "smb",
    "healthcare",
    "fintech",
    "public-sector",
    "retail",
    "manufacturing",
    "education",
    "aws",
    "azure",
    "gcp",
    "certified",
    "eu-data-residency",
    "new-logo-focus",
    "mdf-eligible",
    "watchlist",
]
CONTACT_TITLES = {
    Contact.Role.EXECUTIVE: ["CEO", "Managing Director", "Founder", "VP Partnerships", "COO"],
    Contact.Role.SALES: ["Account Executive", "Head of Sales", "Sales Manager", "Channel Sales Lead"],
    Contact.Role.MARKETING: ["Marketing Manager", "Head of Marketing", "Demand Generation Lead"],
    Contact.Role.TECHNICAL: ["Solutions Architect", "CTO", "Pre-sales Engineer", "Technical Lead"],
    Contact.Role.FINANCE: ["Finance Manager", "Controller", "Accounts Payable"],
    Contact.Role.OPERATIONS: ["Operations Manager", "Partner Operations", "Office Manager"],
    Contact.Role.OTHER: ["Consultant", "Project Manager"],
}
AGREEMENT_KIND = {
    "reseller": Agreement.Kind.RESELLER,
    "distributor": Agreement.Kind.RESELLER,
    "referral": Agreement.Kind.REFERRAL,
    "affiliate": Agreement.Kind.AFFILIATE,
    "influencer": Agreement.Kind.AFFILIATE,
    "service": Agreement.Kind.MSA,
}
SUBJECTS: dict[tuple[str, str], list[str]] = {
    ("email", "outbound"): [
        "Q{q} pipeline review",
        "New enablement materials for {year}",
        "Deal registration approved: {customer}",
        "Invitation: partner webinar on {month}",
        "Following up on our call",
        "MDF request update",
        "Co-marketing campaign proposal",
        "Your commission statement for {month}",
        "Lead for you: {customer}",
        "Certification reminder",
    ],
    ("email", "inbound"): [
        "Deal registration: {customer}",
        "Question about our commission statement",
        "Lead follow-up: {customer}",
        "Pricing question for {customer}",
        "Need help with the demo environment",
        "Certification exam results",
        "Request for co-branded collateral",
        "Introducing our new account manager",
    ],
    ("call", "outbound"): [
        "Pipeline call",
        "Monthly check-in",
        "Deal strategy: {customer}",
        "Renewal call",
        "Enablement follow-up",
    ],
    ("call", "inbound"): [
        "Escalation: {customer}",
        "Support question on {customer} deployment",
        "Quick call about pricing",
    ],
    ("meeting", "outbound"): [
        "QBR Q{q} {year}",
        "Joint account planning",
        "Executive sponsor meeting",
        "Sales training session",
        "Marketing plan {year}",
    ],
    ("meeting", "inbound"): ["Partner roadmap briefing", "Customer workshop with {customer}"],
    ("note", "internal"): [
        "Account note",
        "Tier review",
        "Notes from trade show",
        "Pipeline observations",
        "Renewal planning",
    ],
}
BODIES = {
    "email": [
        "{n} opportunities in play; next step agreed for {weekday}.",
        "Shared the latest price list and battlecards.",
        "Asked for an update on {customer} by {weekday}.",
        "Confirmed the timeline for {customer}; decision expected this quarter.",
    ],
    "call": [
        "Discussed {n} open deals, {customer} is the largest.",
        "Reviewed certification progress.",
        "Agreed to run a joint webinar next month.",
        "Walked through the new deal registration flow.",
    ],
    "meeting": [
        "Attendees from both sides; reviewed targets vs actuals and agreed {n} actions.",
        "Planned next quarter's campaigns and MDF.",
        "Deep dive into {customer} account plan.",
    ],
    "note": [
        "Relationship is {mood}. Main contact responsive.",
        "Considering a tier change at next review.",
        "Pipeline looks {mood}; keep an eye on {customer}.",
    ],
}
DECLINE_NOTES = [
    "Engagement dropping: no reply to the last emails",
    "Churn risk: ask for an executive call",
    "Partner missed the QBR",
]
ENGAGEMENT = {
    PartnerStatus.APPLICANT.value: 0.5,
    PartnerStatus.ONBOARDING.value: 1.8,
    PartnerStatus.ACTIVE.value: 1.0,
    PartnerStatus.AT_RISK.value: 0.2,
    PartnerStatus.INACTIVE.value: 0.06,
    PartnerStatus.CHURNED.value: 0.0,
}
DOWNTURNS = {PartnerStatus.AT_RISK.value, PartnerStatus.CHURNED.value}
KINDS = ["email", "call", "meeting", "note"]
RESOURCES = ["Sales deck", "Battlecard", "Pricing sheet", "Case study", "Product one-pager", "Demo script"]
COURSES = ["Sales fundamentals", "Technical onboarding", "Solution architect", "Marketing playbook"]
CHANNELS = ["instagram", "youtube", "tiktok", "linkedin", "blog"]
KIND_CUM_WEIGHTS = [46, 66, 80, 100]
DAYS_SINCE_DOWNTURN = {  # how long ago an at-risk / inactive / churned partner got there (days)
    PartnerStatus.AT_RISK.value: (7, 120),
    PartnerStatus.INACTIVE.value: (30, 300),
    PartnerStatus.CHURNED.value: (20, 500),
}
DOMAIN_STOPWORDS = {"y", "e", "i", "and", "und", "et", "de", "la", "van", "der", "s", "a", "co", "the"}
MOODS = ["solid", "steady", "promising", "mixed"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

T = TypeVar("T")


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    partner: str = ""
    name: str = ""


REFERRAL_TYPES = ("referral", "affiliate", "influencer")  # partners who get tracking links and coupons


@dataclass
class DemoResult:
    partners: int = 0
    contacts: int = 0
    agreements: int = 0
    interactions: int = 0
    events: int = 0  # every event, the logged interactions included
    rollup_cells: int = 0
    clicks: int = 0
    conversions: int = 0
    status_changes: int = 0
    deals: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    logins_path: Path | None = None


@dataclass
class _Plan:
    """One partner being generated, with what later rows need to know about it."""

    partner: Partner
    type_key: str
    locale: str
    tier_rank: int | None
    events: list[tuple[datetime.datetime, str]]  # lifecycle: (when, status), oldest first
    activity: float  # interactions per month when healthy
    contacts: list[Contact] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)


def logins_path() -> Path:
    return Path(settings.VAR_DIR) / LOGINS_FILENAME


def demo_partner_count(workspace: Workspace) -> int:
    with unscoped():
        return Partner.objects.filter(workspace=workspace).count()


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str, sep: str = "-") -> str:
    return re.sub(r"[^a-z0-9]+", sep, _ascii(text).lower()).strip(sep)


class _Generator:
    def __init__(self, *, workspace: Workspace, seed: int, now: datetime.datetime) -> None:
        self.workspace = workspace
        self.rng = random.Random(seed)
        self.now = now.astimezone(datetime.UTC).replace(second=0, microsecond=0)
        self.today = now.date()
        locales = sorted({locale for options in COUNTRIES.values() for _, locale, _ in options})
        self.fakers: dict[str, Faker] = {}
        for index, locale in enumerate(locales):
            fake = Faker(locale, providers=FAKER_PROVIDERS)  # only what we use: much faster to load
            fake.seed_instance(seed * 1009 + index)
            self.fakers[locale] = fake
        self.names: set[str] = set()
        self.name_pools: dict[str, tuple[list[str], list[str]]] = {}
        self.domains: set[str] = set()
        english = self.fakers["en_US"]
        self.customer_pool = sorted({english.company() for _ in range(400)})

    # --- small helpers -------------------------------------------------------------------------
    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, weights: dict[T, int] | dict[T, float]) -> T:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def days(self, low: int, high: int) -> D:
        rng = self.rng
        return D(days=rng.randint(low, high), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))

    def mix(self, weights: dict[T, int], count: int) -> list[T]:
        """``count`` draws by weight that include every option at least once when count allows."""
        values = list(weights)[:count]
        values += self.rng.choices(list(weights), weights=list(weights.values()), k=count - len(values))
        self.rng.shuffle(values)
        return values

    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    # --- partners ------------------------------------------------------------------------------
    def lifecycle(self, status: str) -> list[tuple[datetime.datetime, str]]:
        """Dated status history ending in ``status`` (built backwards from the latest change)."""
        now, S = self.now, PartnerStatus
        if status == S.APPLICANT:
            return [(now - self.days(1, 40), S.APPLICANT)]
        if status == S.ONBOARDING:
            start = now - self.days(10, 100)
            return [(start - self.days(5, 40), S.APPLICANT), (start, S.ONBOARDING)]
        tail: list[tuple[datetime.datetime, str]] = []
        if status == S.ACTIVE:
            active_at = now - self.days(80, 2000)
            if self.rng.random() < 0.15 and (now - active_at).days > 400:  # a past wobble, recovered
                dip = active_at + self.days(120, (now - active_at).days - 200)
                tail = [(dip, S.AT_RISK), (dip + self.days(40, 120), S.ACTIVE)]
        else:
            last = now - self.days(*DAYS_SINCE_DOWNTURN[status])
            tail = [(last, status)]
            if status == S.CHURNED and self.rng.random() < 0.4:
                tail.insert(0, (last - self.days(30, 120), S.INACTIVE))
            if status != S.AT_RISK:
                tail.insert(0, (tail[0][0] - self.days(45, 150), S.AT_RISK))
            active_at = tail[0][0] - self.days(150, 1200)
        start = active_at - self.days(20, 90)
        return [(start - self.days(5, 45), S.APPLICANT), (start, S.ONBOARDING), (active_at, S.ACTIVE), *tail]

    def company_name(self, type_key: str, locale: str, fake: Faker) -> tuple[str, str]:
        """(display name, legal name) — unique within the demo."""
        country_suffix = ""
        for _ in range(8):
            if type_key == "influencer":
                first, last = self.person(locale, fake)
                name = self.rng.choice([f"{first} {last}", f"{first} {last} Media", f"{_ascii(first)}Talks"])
                legal = ""
            elif locale != "ja_JP" and self.rng.random() < 0.4:
                legal = fake.company()
                name = legal
            else:
                stem = self.rng.choice(BRAND_STEMS) + self.rng.choice(BRAND_TAILS)
                name = f"{stem} {self.rng.choice(TYPE_SUFFIXES[type_key])}"
                legal = ""
            name = name + country_suffix
            if name not in self.names:
                self.names.add(name)
                return name, legal
            country_suffix = f" {self.rng.choice(['Group', 'International', 'One', 'Plus', '360'])}"
        name = f"{name} {len(self.names)}"
        self.names.add(name)
        return name, ""

    def person(self, locale: str, fake: Faker) -> tuple[str, str]:
        """A (first, last) name typical of the locale, drawn from a pool sampled once from Faker (fast)."""
        pool = self.name_pools.get(locale)
        if pool is None:
            if locale == "ja_JP":
                first, last = fake.first_romanized_name, fake.last_romanized_name
            else:
                first, last = fake.first_name, fake.last_name
            pool = ([first() for _ in range(NAME_POOL)], [last() for _ in range(NAME_POOL)])
            self.name_pools[locale] = pool
        return self.rng.choice(pool[0]), self.rng.choice(pool[1])

    def domain_for(self, name: str) -> str:
        words = [w for w in _slug(name).split("-") if w not in DOMAIN_STOPWORDS]
        base = "-".join(words[:2]) or "partner"
        domain, n = f"{base}.example", 2
        while domain in self.domains:
            domain, n = f"{base}{n}.example", n + 1
        self.domains.add(domain)
        return domain

    def plan_partner(self, *, index: int, type_key: str, status: str, ctx: _Context) -> _Plan:
        rng = self.rng
        region = self.pick(REGION_WEIGHTS)
        options = COUNTRIES[region]
        country, locale, _ = rng.choices(options, weights=[w for _, _, w in options])[0]
        fake = self.fakers[locale]
        name, legal = self.company_name(type_key, locale, fake)
        if not legal and type_key != "influencer":
            legal = f"{name} {LEGAL_SUFFIX[country]}"
        domain = self.domain_for(name)
        events = self.lifecycle(status)
        start = next((at for at, s in events if s == PartnerStatus.ONBOARDING), None)
        owner = None
        if rng.random() > (0.5 if status == PartnerStatus.APPLICANT else 0.05):
            owner = ctx.owner_by_region[region]
        tier_rank: int | None = None
        if status != PartnerStatus.APPLICANT:
            weights = [45, 30, 17, 8] if status == PartnerStatus.ACTIVE else [60, 27, 10, 3]
            tier_rank = 1 if status == PartnerStatus.ONBOARDING else rng.choices([1, 2, 3, 4], weights)[0]
        partner = Partner(
            public_id=self.uid(),
            workspace=self.workspace,
            external_id=f"PRT-{10000 + index}",
            name=name,
            legal_name=legal,
            type=ctx.types[type_key],
            status=status,
            status_changed_at=events[-1][0],
            country=country,
            region=region,
            domains=[domain],
            website=f"https://www.{domain}",
            owner_id=owner,
            start_date=start.date() if start else None,
            notes=rng.choice(
                [
                    "",
                    "",
                    f"Focus on {rng.choice(TAGS[6:12])} customers in {country}.",
                    f"Introduced by {' '.join(self.person(locale, fake))} at a partner event.",
                ]
            ),
        )
        activity = {None: 1.0, 1: 2.0, 2: 3.0, 3: 4.5, 4: 6.5}[tier_rank] * TYPE_ACTIVITY[type_key]
        activity *= rng.lognormvariate(0, 0.3)
        plan = _Plan(
            partner=partner,
            type_key=type_key,
            locale=locale,
            tier_rank=tier_rank,
            events=events,
            activity=activity,
            customers=rng.sample(self.customer_pool, 6),
        )
        plan.contacts = self.plan_contacts(plan, domain, fake)
        return plan

    def plan_contacts(self, plan: _Plan, domain: str, fake: Faker) -> list[Contact]:
        rng, contacts, used = self.rng, [], set()
        roles = [Contact.Role.EXECUTIVE, *rng.sample(list(CONTACT_TITLES)[1:], 4)]
        for position in range(rng.choices([1, 2, 3, 4, 5], [15, 30, 28, 17, 10])[0]):
            first, last = self.person(plan.locale, fake)
            local = f"{_slug(first, '')}.{_slug(last, '')}".strip(".") or f"contact{position}"
            while local in used:
                local += str(position)
            used.add(local)
            role = roles[position]
            contacts.append(
                Contact(
                    public_id=self.uid(),
                    workspace=self.workspace,
                    partner=plan.partner,
                    name=f"{first} {last}",
                    email=f"{local}@{domain}",
                    phone=fake.phone_number()[:40],
                    title=rng.choice(CONTACT_TITLES[role]),
                    role=role,
                    is_primary=position == 0,
                )
            )
        return contacts

    def plan_agreements(self, plan: _Plan) -> list[Agreement]:
        rng, today, p, S, A = self.rng, self.today, plan.partner, PartnerStatus, AgreementStatus
        kind = AGREEMENT_KIND.get(plan.type_key, Agreement.Kind.PARTNER)
        out: list[Agreement] = []

        def add(
            status: str,
            start: datetime.date | None,
            end: datetime.date | None,
            auto: bool = False,
            k: str = kind,
        ) -> None:
            year = (start or today).year
            out.append(
                Agreement(
                    public_id=self.uid(),
                    workspace=self.workspace,
                    partner=p,
                    kind=k,
                    status=status,
                    title=f"{Agreement.Kind(k).label} {year} – {p.name}"[:200],
                    start_date=start,
                    end_date=end,
                    auto_renew=auto,
                    renewal_notice_days=rng.choice([30, 60, 90]),
                    terms_summary=rng.choice(
                        [
                            "Standard terms.",
                            "Net 30 payment, 12-month term.",
                            "Includes MDF and deal protection of 90 days.",
                            "",
                        ]
                    ),
                )
            )

        if p.status == S.APPLICANT:
            if rng.random() < 0.3:
                add(A.DRAFT, None, None)
            return out
        start = p.start_date or today
        if p.status == S.ONBOARDING:
            status = rng.choices([A.PENDING_SIGNATURE, A.DRAFT, A.ACTIVE], [50, 30, 20])[0]
            add(status, start, start + D(days=365))
            return out
        term = rng.choice([365, 730, 1095])
        if p.status in (S.ACTIVE, S.AT_RISK):
            left = rng.randint(1, 60) if rng.random() < 0.13 else rng.randint(61, term)
            end = today + D(days=left)
            current_start = max(start, end - D(days=term))
            if current_start > start + D(days=60) and rng.random() < 0.3:  # the previous term, on file
                add(A.EXPIRED, start, current_start - D(days=1))
            add(A.ACTIVE, current_start, end, auto=left > 60 and rng.random() < 0.4)
        else:
            last_change = plan.events[-1][0].date()
            end = max(start + D(days=90), last_change - D(days=rng.randint(0, 60)))
            if p.status == S.CHURNED and rng.random() < 0.7:
                add(A.TERMINATED, start, last_change)
            elif p.status == S.INACTIVE and rng.random() < 0.3:
                add(A.ACTIVE, start, today + D(days=rng.randint(61, 300)), auto=True)
            else:
                add(A.EXPIRED, start, end)
        if rng.random() < 0.35:
            add(A.ACTIVE, start - D(days=rng.randint(5, 30)), None, k=Agreement.Kind.NDA)
        return out

    # --- interactions --------------------------------------------------------------------------
    def engagement(
        self, events: list[tuple[datetime.datetime, str]], at: datetime.datetime, passed: int
    ) -> tuple[float, int]:
        """How engaged the partner is at ``at`` (1 = healthy): fades before a downturn, 0 after churn.

        ``passed`` counts the lifecycle events already behind us (weeks are walked in order); the updated
        count is returned with the level.
        """
        while passed < len(events) and events[passed][0] <= at:
            passed += 1
        level = 1.0
        if passed:
            status = events[passed - 1][1]
            recovered = status == PartnerStatus.AT_RISK and passed < len(events)
            level = 0.45 if recovered else ENGAGEMENT[status]
        if passed < len(events) and events[passed][1] in DOWNTURNS:
            months = (events[passed][0] - at).days / 30  # the slide in the months leading to the downturn
            if months < 6:
                level = min(level, 0.25 + 0.75 * months / 6)
        return level, passed

    def interactions(self, plan: _Plan, staff_ids: list[int]) -> list[tuple[Any, ...]]:
        """The partner's logged interactions as event rows in EVENT_COLUMNS order (Python values)."""
        rng, p, out = self.rng, plan.partner, []
        window_start = max(plan.events[0][0], self.now - D(days=HISTORY_DAYS))
        logged_by = p.owner_id or staff_ids[0]
        contact_ids = [c.pk for c in plan.contacts]
        contact_ids = contact_ids[:2] * 2 + contact_ids  # the main contacts get most of the traffic

        def add(at: datetime.datetime, kind: str, direction: str, subject: str, body: str = "") -> None:
            if at >= self.now:
                return
            contact = None if kind == "note" else rng.choice(contact_ids)
            type_key = INTERACTION_TYPE.get((kind, direction), kind)
            properties = {"subject": subject[:200], "body": body}
            direction = "" if direction == "internal" else direction
            out.append(
                (
                    f"ui-{self.uid().hex}",
                    p.pk,
                    type_key,
                    direction,
                    at,
                    contact,
                    logged_by,
                    None,
                    properties,
                    "ui",
                )
            )

        def fill(template: str, at: datetime.datetime) -> str:
            if "{" not in template:
                return template
            return template.format(
                q=(at.month - 1) // 3 + 1,
                year=at.year,
                month=MONTHS[at.month - 1],
                customer=rng.choice(plan.customers) if "{customer}" in template else "",
                weekday=rng.choice(WEEKDAYS) if "{weekday}" in template else "",
                n=rng.randint(2, 9),
                mood=rng.choice(MOODS) if "{mood}" in template else "",
            )

        if p.status == PartnerStatus.APPLICANT:
            applied = plan.events[0][0]
            add(
                applied,
                "email",
                "inbound",
                f"Partner application from {p.name}",
                "We would like to join your partner program.",
            )
            add(
                applied + self.days(1, 5),
                "note",
                "internal",
                "Application review",
                "Checking fit and references.",
            )
            return out
        week = (window_start - D(days=window_start.weekday())).replace(hour=0, minute=0, second=0)
        slide_noted, passed = False, 0
        while week < self.now:
            level, passed = self.engagement(plan.events, week + D(days=3), passed)
            seasonal = 0.6 if week.month in (8, 12) else 1.0
            for _ in range(self.poisson(plan.activity / 4.35 * level * seasonal)):
                at = week + D(days=rng.randint(0, 4), hours=rng.randint(7, 17), minutes=rng.randint(0, 59))
                if at < window_start:
                    continue
                kind = rng.choices(KINDS, cum_weights=KIND_CUM_WEIGHTS)[0]
                if kind == "note":
                    add(
                        at,
                        "note",
                        "internal",
                        fill(rng.choice(SUBJECTS["note", "internal"]), at),
                        fill(rng.choice(BODIES["note"]), at),
                    )
                    continue
                inbound = rng.random() < (0.45 if kind == "email" else 0.2) * min(level, 1.0)
                direction = "inbound" if inbound else "outbound"
                subject = fill(rng.choice(SUBJECTS[kind, direction]), at)
                add(at, kind, direction, subject, fill(rng.choice(BODIES[kind]), at))
                if kind == "email":  # replies: we answer within hours; partners answer less as they disengage
                    if inbound and rng.random() < 0.85:
                        add(at + D(minutes=rng.randint(20, 1440)), "email", "outbound", f"Re: {subject}")
                    elif not inbound and rng.random() < 0.7 * min(level, 1.0):
                        delay = D(minutes=rng.randint(60, int(2880 / max(level, 0.2))))
                        add(at + delay, "email", "inbound", f"Re: {subject}")
            if level < 0.6 and not slide_noted and p.status != PartnerStatus.ACTIVE:
                add(
                    max(window_start, week + D(days=2, hours=16)),
                    "note",
                    "internal",
                    rng.choice(DECLINE_NOTES),
                )
                slide_noted = True
            week += D(days=7)
        if p.status == PartnerStatus.CHURNED:
            add(plan.events[-1][0], "note", "internal", "Partnership ended", "Offboarding completed.")
        return out

    def activity(self, plan: _Plan) -> list[tuple[Any, ...]]:
        """The partner's engagement events (EVENT_COLUMNS order) over the history window, week by week at
        the partner's engagement level: healthy partners log in, download, train and certify, open and
        resolve tickets, deliver campaigns and answer surveys; declining ones fade in the months before
        the downturn; churned ones go quiet. Influencers and affiliates also post content."""
        rng, p = self.rng, plan.partner
        out: list[tuple[Any, ...]] = []
        if p.status == PartnerStatus.APPLICANT:
            return out
        window_start = max(plan.events[0][0], self.now - D(days=HISTORY_DAYS))
        creator = plan.type_key in ("influencer", "affiliate")
        campaigns = plan.type_key in ("influencer", "affiliate", "agency", "reseller", "referral")
        counter, key = 0, p.public_id.hex[:12]
        followers = rng.randint(2_000, 80_000) if creator else 0

        ended = plan.events[-1][0] if p.status == PartnerStatus.CHURNED else self.now

        def add(type_key: str, at: datetime.datetime, source: str = "api", **properties: Any) -> None:
            nonlocal counter
            if window_start <= at < ended:
                counter += 1
                value = properties.pop("value", None)
                out.append(
                    (f"demo-{key}-{counter}", p.pk, type_key, "", at, None, None, value, properties, source)
                )

        def moment(week: datetime.datetime) -> datetime.datetime:
            return week + D(days=rng.randint(0, 6), hours=rng.randint(6, 20), minutes=rng.randint(0, 59))

        week = (window_start - D(days=window_start.weekday())).replace(hour=0, minute=0, second=0)
        passed = 0
        while week < self.now:
            level, passed = self.engagement(plan.events, week + D(days=3), passed)
            level = min(level, 1.2)
            if level <= 0.01:
                week += D(days=7)
                continue
            for _ in range(self.poisson(0.6 * level)):
                add("portal_login", moment(week))
            for _ in range(self.poisson(0.25 * level)):
                add("resource_download", moment(week), resource=rng.choice(RESOURCES))
            if rng.random() < 0.08 * level:
                course = rng.choice(COURSES)
                started = moment(week)
                add("training_started", started, course=course)
                if rng.random() < 0.75 * min(level, 1.0):
                    completed = started + self.days(1, 21)
                    add("training_completed", completed, course=course)
                    if rng.random() < 0.35:
                        earned = completed + self.days(0, 10)
                        add("certification_earned", earned, source="integration", certification=course)
                        add(
                            "certification_expired",
                            earned + D(days=365),
                            source="integration",
                            certification=course,
                        )
            if rng.random() < 0.1 * level:
                ticket = f"T-{key}-{counter}"
                opened = moment(week)
                add("support_ticket_opened", opened, source="integration", ticket_id=ticket)
                if rng.random() < 0.92:
                    resolved = opened + D(minutes=rng.randint(30, 60 * 24 * 6))
                    add("support_ticket_resolved", resolved, source="integration", ticket_id=ticket)
            if campaigns and rng.random() < 0.08 * level:
                deliverable = f"D-{key}-{counter}"
                due = moment(week) + D(days=14)
                add("campaign_deliverable_due", due, deliverable_id=deliverable)
                if rng.random() < 0.85 * min(level, 1.0):
                    late = rng.random() < 0.25
                    submitted = due + (
                        D(hours=rng.randint(4, 240)) if late else -D(hours=rng.randint(2, 200))
                    )
                    add("campaign_deliverable_submitted", submitted, deliverable_id=deliverable)
                    if rng.random() < 0.85:
                        add(
                            "campaign_deliverable_approved",
                            submitted + self.days(0, 4),
                            deliverable_id=deliverable,
                        )
            if week.day <= 7 and week.month % 3 == 1 and rng.random() < 0.6 * min(level, 1.0):
                score = max(0, min(10, round(rng.gauss(6 + 2.5 * min(level, 1.0), 1.8))))
                add("survey_response", moment(week), survey="nps", value=score)
            if creator:
                for _ in range(self.poisson(0.5 * level)):
                    followers = max(100, int(followers * rng.uniform(0.995, 1.0 + 0.012 * level)))
                    reach = int(followers * rng.uniform(0.1, 0.6))
                    impressions = int(reach * rng.uniform(1.1, 2.2))
                    add(
                        "content_post",
                        moment(week),
                        channel=rng.choice(CHANNELS),
                        reach=reach,
                        impressions=impressions,
                        engagements=int(impressions * rng.uniform(0.01, 0.08)),
                        followers=followers,
                    )
            week += D(days=7)
        return out


@dataclass
class _Context:
    types: dict[str, PartnerType]
    owner_by_region: dict[str, int]


def _insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert rows whose primary keys nobody needs back: COPY on PostgreSQL, executemany elsewhere."""
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk]
    rows = (tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields) for obj in objs)
    _insert_rows(model, [f.column for f in fields], rows)


def _insert_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert DB-ready ``rows`` (values in ``columns`` order) into ``model``'s table."""
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", list(rows))  # noqa: S608


def _event_writer(workspace_id: int) -> Callable[[list[tuple[Any, ...]]], None]:
    """Write generated event rows (EVENT_COLUMNS order) with the backend's value adapters (COPY on
    PostgreSQL, executemany elsewhere); ``received_at`` is the time the event occurred."""
    when = connection.ops.adapt_datetimefield_value
    number = connection.ops.adapt_decimalfield_value
    columns = ["workspace_id", "received_at", *EVENT_COLUMNS]

    def write(rows: list[tuple[Any, ...]]) -> None:
        _insert_rows(
            Event,
            columns,
            (
                (
                    workspace_id,
                    stamp,
                    event_id,
                    partner_id,
                    type_key,
                    direction,
                    stamp,
                    contact_id,
                    user_id,
                    None if value is None else number(Decimal(value), 20, 4),
                    json.dumps(properties),
                    source,
                )
                for (
                    event_id,
                    partner_id,
                    type_key,
                    direction,
                    at,
                    contact_id,
                    user_id,
                    value,
                    properties,
                    source,
                ) in rows
                for stamp in (when(at),)
            ),
        )

    return write


def _hash_random_password(raw: str) -> str:
    """Hash a demo password.

    They are 96-bit random strings, so key stretching adds nothing: PBKDF2 runs with a light work factor
    (well under a second for all of them instead of ~5 s of CPU) and Django re-hashes with the configured
    iterations at the first login. Other hashers are used as configured.
    """
    hasher = get_hasher()
    if isinstance(hasher, PBKDF2PasswordHasher):
        return hasher.encode(raw, hasher.salt(), iterations=DEMO_PBKDF2_ITERATIONS)
    return make_password(raw)


def _user_ensure(
    workspace: Workspace,
    *,
    email: str,
    full_name: str,
    password: str,
    role: str,
    partner: Partner | None = None,
    owned_only: bool = False,
) -> User:
    """The demo user with that e-mail (created, or reactivated, with a new password) and its membership."""
    user = User.objects.filter(email=email).first() or User(email=email)
    user.full_name, user.is_active = full_name, True
    user.password = _hash_random_password(password)
    user.save()
    Membership.objects.update_or_create(
        workspace=workspace,
        user=user,
        defaults={"role": role, "partner": partner, "owned_only": owned_only, "is_active": True},
    )
    return user


def _programs(workspace: Workspace) -> tuple[Program, list[Tier], Program, list[Tier]]:
    """The default program and the demo's referral program, each with its tiers by rank."""
    default = Program.objects.filter(workspace=workspace, is_default=True).first()
    if default is None:
        default, _ = Program.objects.get_or_create(workspace=workspace, name=DEFAULT_PROGRAM)
    referral, _ = Program.objects.get_or_create(
        workspace=workspace,
        name=REFERRAL_PROGRAM,
        defaults={"description": "Commission-only program for referral partners, affiliates and creators."},
    )
    for rank, name in enumerate(REFERRAL_TIERS, start=1):
        Tier.objects.get_or_create(workspace=workspace, program=referral, rank=rank, defaults={"name": name})
    return (
        default,
        list(Tier.objects.filter(program=default).order_by("rank")),
        referral,
        list(Tier.objects.filter(program=referral).order_by("rank")),
    )


def _portal_plans(plans: list[_Plan]) -> list[_Plan]:
    """Up to three healthy partners of different types that get portal users (admin + rep)."""
    chosen: list[_Plan] = []
    for wanted in ("reseller", "referral", "agency", "technology", "service", "distributor"):
        plan = next(
            (
                x
                for x in plans
                if x.type_key == wanted and x.partner.status == PartnerStatus.ACTIVE and len(x.contacts) >= 2
            ),
            None,
        )
        if plan is not None and len(chosen) < 3:
            chosen.append(plan)
    return chosen


def demo_load(
    *,
    partners: int = 200,
    seed: int = 42,
    now: datetime.datetime | None = None,
    workspace: Workspace | None = None,
    logins_file: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Load the demo program into ``workspace`` (default: the default workspace) and save the logins."""
    workspace = workspace or workspace_default()
    now = now or timezone.now()
    say = progress or (lambda message: None)
    gen = _Generator(workspace=workspace, seed=seed, now=now)
    rng = gen.rng
    result = DemoResult()
    logins: list[DemoLogin] = []
    with transaction.atomic(), unscoped():

        def account(login: DemoLogin, partner: Partner | None = None, owned_only: bool = False) -> User:
            user = _user_ensure(
                workspace,
                email=login.email,
                full_name=login.name,
                password=login.password,
                role=login.role,
                partner=partner,
                owned_only=owned_only,
            )
            logins.append(login)
            return user

        workspace_bootstrap(workspace=workspace)
        types = {t.key: t for t in PartnerType.objects.filter(workspace=workspace)}
        default_program, default_tiers, referral_program, referral_tiers = _programs(workspace)
        existing_tags = set(Tag.objects.filter(workspace=workspace).values_list("name", flat=True))
        Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in TAGS if n not in existing_tags])
        tags = {t.name: t.pk for t in Tag.objects.filter(workspace=workspace, name__in=TAGS)}

        staff = {
            email: account(
                DemoLogin(email=email, password=secrets.token_urlsafe(12), role=role, name=name),
                owned_only=owned_only,
            )
            for email, name, role, owned_only in STAFF
        }
        managers = [staff[email].pk for email, _, role, _ in STAFF if role == Role.MANAGER]
        ctx = _Context(
            types=types,
            owner_by_region={
                "EMEA": managers[0],
                "APAC": managers[0],
                "NA": managers[1],
                "LATAM": managers[1],
            },
        )

        say(f"Generating {partners} partners (seed {seed})…")
        type_keys = gen.mix(TYPE_WEIGHTS, partners)
        statuses = gen.mix(STATUS_WEIGHTS, partners)
        plans = [
            gen.plan_partner(index=i + 1, type_key=type_keys[i], status=statuses[i], ctx=ctx)
            for i in range(partners)
        ]
        Partner.objects.bulk_create([plan.partner for plan in plans], batch_size=BATCH_SIZE)
        for plan in _portal_plans(plans):
            for contact, role in zip(plan.contacts, (Role.PARTNER_ADMIN, Role.PARTNER_REP), strict=False):
                login = DemoLogin(
                    email=contact.email,
                    password=secrets.token_urlsafe(12),
                    role=role,
                    partner=plan.partner.name,
                    name=contact.name,
                )
                contact.user = account(login, partner=plan.partner)
        contacts = [c for plan in plans for c in plan.contacts]
        Contact.objects.bulk_create(contacts, batch_size=BATCH_SIZE)

        enrolments, changes, agreements = [], [], []
        through = Partner.tags.through
        tag_links = []
        actors = {user.pk: email for email, user in staff.items()}
        admin = STAFF[0][0]
        for plan in plans:
            p = plan.partner
            if plan.tier_rank is not None:
                tier = default_tiers[min(plan.tier_rank, len(default_tiers)) - 1] if default_tiers else None
                enrolments.append(
                    PartnerProgram(
                        public_id=gen.uid(),
                        workspace=workspace,
                        partner=p,
                        program=default_program,
                        tier=tier,
                        joined_on=p.start_date or gen.today,
                    )
                )
                if plan.type_key in ("referral", "affiliate", "influencer") or rng.random() < 0.12:
                    rank = rng.choices([1, 2, 3], [55, 32, 13])[0]
                    joined = min(gen.today, (p.start_date or gen.today) + D(days=rng.randint(0, 200)))
                    enrolments.append(
                        PartnerProgram(
                            public_id=gen.uid(),
                            workspace=workspace,
                            partner=p,
                            program=referral_program,
                            tier=referral_tiers[min(rank, len(referral_tiers)) - 1],
                            joined_on=joined,
                        )
                    )
            previous = ""
            for at, status in plan.events:
                label = (
                    "application form"
                    if status == PartnerStatus.APPLICANT
                    else actors.get(p.owner_id or 0, admin)
                )
                changes.append(
                    StatusChange(
                        workspace=workspace,
                        partner=p,
                        from_status=previous,
                        to_status=status,
                        changed_at=at,
                        actor_label=label,
                    )
                )
                previous = status
            names = rng.sample(TAGS[:-1], rng.choices([0, 1, 2, 3], [25, 35, 28, 12])[0])
            if p.status in (PartnerStatus.AT_RISK, PartnerStatus.INACTIVE) and rng.random() < 0.6:
                names.append("watchlist")
            tag_links += [through(partner_id=p.pk, tag_id=tags[name]) for name in names]
            agreements += gen.plan_agreements(plan)
        for model, objs in (
            (PartnerProgram, enrolments),
            (StatusChange, changes),
            (through, tag_links),
            (Agreement, agreements),
        ):
            _insert(model, objs)

        say("Generating 24 months of activity (interactions and engagement events)…")
        write = _event_writer(workspace.pk)
        fallback_owner = [staff[STAFF[0][0]].pk]
        buffer: list[tuple[Any, ...]] = []
        for plan in plans:
            logged = gen.interactions(plan, fallback_owner)
            result.interactions += len(logged)
            buffer += logged
            buffer += gen.activity(plan)
            if len(buffer) >= EVENT_BATCH:
                write(buffer)
                result.events += len(buffer)
                buffer = []
        write(buffer)
        result.events += len(buffer)

        say("Generating deals…")
        result.deals = demo_deals.load(
            workspace=workspace,
            program=default_program,
            partners=[
                demo_deals.DemoPartner(
                    partner=plan.partner,
                    status=plan.partner.status,
                    type_key=plan.type_key,
                    registrar_ids=[c.user.pk for c in plan.contacts if c.user is not None],
                )
                for plan in plans
            ],
            customers=demo_deals.customer_pool(gen.fakers["en_US"], size=max(600, partners * 4)),
            owner_ids=managers,
            rng=rng,
            now=gen.now,
            insert_rows=_insert_rows,
        )

        result.partners, result.contacts = len(plans), len(contacts)
        result.agreements, result.status_changes = len(agreements), len(changes)

        say("Generating tracking links, coupons, clicks and conversions…")
        referrers = [
            p.partner for p in plans if p.type_key in REFERRAL_TYPES and p.partner.status == "active"
        ]
        referrals = demo_referrals_load(workspace=workspace, partners=referrers, seed=seed, now=gen.now)
        result.clicks, result.conversions = referrals.get("clicks", 0), referrals.get("conversions", 0)

        say("Building the daily rollups…")
        result.rollup_cells = rollups_rebuild(workspace_id=workspace.pk)

    analyze_tables(  # fresh planner statistics (PostgreSQL) of every table the load wrote, after the commit
        *(Partner, Contact, PartnerProgram, StatusChange, Partner.tags.through, Agreement, Event),
        *(Deal, DealStageChange, DealLineItem, CustomerKey, DealConflict),
        *(TrackingLink, Coupon, Click, Conversion, PartnerDayMetric, PairedInterval),
        rows=result.partners + result.events + result.deals,
    )
    result.logins = logins
    result.logins_path = logins_file or logins_path()
    logins_write(result.logins_path, result.logins, seed=seed, now=now)
    return result


def logins_write(path: Path, logins: list[DemoLogin], *, seed: int, now: datetime.datetime) -> None:
    """Write the logins readable only by the owner (0600), replacing any previous file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# OpenPRM demo logins (seed {seed}, {now:%Y-%m-%d %H:%M} UTC). Sign in where `prm serve` answers",
        "# email\tpassword\trole\tpartner\tname",
        *(f"{x.email}\t{x.password}\t{x.role}\t{x.partner}\t{x.name}" for x in logins),
    ]
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def logins_read(path: Path) -> list[DemoLogin]:
    logins = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = [*line.split("\t"), "", "", "", ""]
        logins.append(
            DemoLogin(email=parts[0], password=parts[1], role=parts[2], partner=parts[3], name=parts[4])
        )
    return logins


def logins_table(logins: list[DemoLogin]) -> list[str]:
    """The logins as aligned text rows (header first)."""
    labels = dict(Role.choices)
    rows = [("EMAIL", "PASSWORD", "ROLE", "PARTNER")]
    rows += [(x.email, x.password, str(labels.get(x.role, x.role)), x.partner or "—") for x in logins]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
