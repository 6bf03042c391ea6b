"""A realistic, deterministic demo program: partners with history, contacts, agreements and 24 months of
activity (logged interactions and engagement events, with their rollups), deals, referral traffic, plus
demo logins for every role.

Everything is generated from one seeded ``random.Random`` (and seeded Faker instances, ``plan.Dice``), so
the same seed and the same ``now`` give identical rows, public ids included (except the ids the apps'
services draw themselves: memberships, tracking links, coupons, conversions...). The steps below run in
this order because each draws from the same dice. Rows are written in one transaction, inside the
workspace's access scope, by the demo's system actor (audited as "demo").

The demo writes like any other client of the apps: through their services where those can say what the
demo needs — partners (the partners' bulk service), logins, programs and tiers, the product catalog,
engagement events (activity's ingestion), tracking links, coupons and allowed hosts, conflict detection
and the customer index, the rollups. What no service of the owning app can express yet is written
directly, each in a small named function that says why: the partners' dated past
(``partners._backdate``), contacts and agreements (``partners.contacts_write``, ``agreements_write``),
logged interactions (``rows.event_writer``), deals with their owners, stage histories and line items
(``deals._deals_write``), past clicks and conversions (``referrals._clicks``).
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from openprm.accounts.models import User
from openprm.accounts.services import workspace_default
from openprm.activity.models import (
    Click,
    Conversion,
    Coupon,
    Event,
    PairedInterval,
    PartnerDay,
    PartnerMonth,
    TrackingLink,
)
from openprm.activity.rollups import rollups_rebuild
from openprm.core.actors import Actor
from openprm.core.bulk import analyze_tables
from openprm.core.models import AuditEntry, Workspace
from openprm.core.permissions import Role
from openprm.core.scoping import scope
from openprm.deals.models import (
    CustomerKey,
    Deal,
    DealCloseDays,
    DealConflict,
    DealDayRollup,
    DealLineItem,
    DealStageChange,
    DealStageRollup,
)
from openprm.deals.rollups import rollups_rebuild as deal_rollups_rebuild
from openprm.demo import commissions as demo_commissions
from openprm.demo import customers as demo_customers
from openprm.demo import deals as demo_deals
from openprm.demo import finance as demo_finance
from openprm.demo.activity import EventItem, EventRow, engagement_events, engagement_ingest, interactions
from openprm.demo.partners import (
    REFERRAL_TYPES,
    STATUS_WEIGHTS,
    PartnerExtras,
    PartnerPlanner,
    Programs,
    agreements_write,
    contacts_write,
    partners_write,
    programs_ensure,
)
from openprm.demo.people import (
    ADMIN_EMAIL,
    STAFF,
    DemoLogin,
    logins_path,
    logins_write,
    portal_plans,
    user_ensure,
)
from openprm.demo.plan import Dice, PartnerPlan
from openprm.demo.referrals import demo_referrals_load
from openprm.demo.rows import EventWriter, event_writer
from openprm.demo.words import LOCALES, TYPE_WEIGHTS
from openprm.partners.models import (
    Agreement,
    Contact,
    Partner,
    PartnerProgram,
    PartnerStatus,
    PartnerType,
    Program,
    StatusChange,
)
from openprm.partners.services import workspace_bootstrap
from openprm.reports.services import definition_create

ACTOR_LABEL = "demo"  # the audit trail's name for the load
EVENT_BATCH = 20_000


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
    reports: int = 0  # scheduled report definitions
    co_sellers: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    logins_path: Path | None = None


def demo_partner_count(workspace: Workspace) -> int:
    with scope(Actor.system(workspace.pk).access_scope()):
        return Partner.objects.count()


class _Load:
    """One demo load: the dice, the workspace's reference data and what each step hands the next."""

    def __init__(
        self, *, workspace: Workspace, seed: int, now: datetime.datetime, say: Callable[[str], None]
    ):
        self.workspace, self.seed, self.say = workspace, seed, say
        self.actor = Actor.system(workspace.pk, label=ACTOR_LABEL)
        self.dice = Dice(seed=seed, now=now, locales=LOCALES)
        self.result = DemoResult()
        self.logins: list[DemoLogin] = []
        self.staff: dict[str, User] = {}
        self.managers: list[int] = []  # the managers' user ids
        self.plans: list[PartnerPlan] = []

    def account(self, login: DemoLogin, partner: Partner | None = None, owned_only: bool = False) -> User:
        user = user_ensure(self.actor, login, partner=partner, owned_only=owned_only)
        self.logins.append(login)
        return user

    def staff_accounts(self) -> list[int]:
        """One login per staff role; returns the managers' user ids (the partners' owners)."""
        for email, name, role, owned_only in STAFF:
            login = DemoLogin(email=email, password=secrets.token_urlsafe(12), role=role, name=name)
            self.staff[email] = self.account(login, owned_only=owned_only)
        self.managers = [self.staff[email].pk for email, _, role, _ in STAFF if role == Role.MANAGER]
        return self.managers

    def portal_accounts(self) -> None:
        """An admin and a rep for a few partners: their first two contacts."""
        for plan in portal_plans(self.plans):
            for contact, role in zip(plan.contacts, (Role.PARTNER_ADMIN, Role.PARTNER_REP), strict=False):
                password = secrets.token_urlsafe(12)
                name = plan.partner.name
                login = DemoLogin(
                    email=contact.email, password=password, role=role, partner=name, name=contact.name
                )
                contact.user = self.account(login, partner=plan.partner)

    def partners(self, count: int, managers: list[int], programs: Programs) -> None:
        """Plan the partners and everything around them, then write them (see ``partners_write``), their
        portal users, contacts and agreements."""
        self.say(f"Generating {count} partners (seed {self.seed})…")
        types = {t.key: t for t in PartnerType.objects.all()}
        by_region = {"EMEA": managers[0], "APAC": managers[0], "NA": managers[1], "LATAM": managers[1]}
        planner = PartnerPlanner(self.dice, workspace=self.workspace, types=types, owner_by_region=by_region)
        type_keys = self.dice.mix(TYPE_WEIGHTS, count)
        statuses = self.dice.mix(STATUS_WEIGHTS, count)
        self.plans = [
            planner.plan(index=i + 1, type_key=type_keys[i], status=statuses[i]) for i in range(count)
        ]
        emails = {user.pk: email for email, user in self.staff.items()}
        extras = [
            PartnerExtras(
                enrolments=planner.enrolments(plan, programs),
                history=planner.history(plan, owner_labels=emails, fallback=ADMIN_EMAIL),
                tags=planner.tags(plan),
                agreements=planner.agreements(plan),
            )
            for plan in self.plans
        ]
        partners_write(
            actor=self.actor, plans=self.plans, extras=extras, owner_emails=emails, today=self.dice.today
        )
        self.portal_accounts()
        self.result.partners, self.result.contacts = len(self.plans), contacts_write(self.plans)
        self.result.agreements = agreements_write(extras)
        self.result.status_changes = sum(len(extra.history) for extra in extras)

    def activity(self) -> None:
        """Interactions and engagement events, partner by partner (the dice's order), written a batch at a
        time: the interactions directly, the engagement events through activity's ingestion."""
        self.say("Generating 24 months of activity (interactions and engagement events)…")
        write = event_writer(self.workspace.pk)
        fallback_owner = [self.staff[ADMIN_EMAIL].pk]
        logged: list[EventRow] = []
        items: list[EventItem] = []
        for plan in self.plans:
            logged += interactions(self.dice, plan, fallback_owner)
            items += engagement_events(self.dice, plan)
            if len(logged) + len(items) >= EVENT_BATCH:
                self.events_store(write, logged, items)
                logged, items = [], []
        self.events_store(write, logged, items)

    def events_store(self, write: EventWriter, logged: list[EventRow], items: list[EventItem]) -> None:
        """One batch: the logged interactions written directly, the engagement events ingested."""
        write(logged)
        stored = engagement_ingest(actor=self.actor, items=items)
        self.result.interactions += len(logged)
        self.result.events += len(logged) + stored

    def deals(self, count: int, managers: list[int], program: Program) -> None:
        self.say("Generating deals…")
        self.result.deals = demo_deals.load(
            actor=self.actor,
            program=program,
            partners=[
                demo_deals.DemoPartner(
                    partner=plan.partner,
                    status=plan.partner.status,
                    type_key=plan.type_key,
                    registrar_ids=[c.user.pk for c in plan.contacts if c.user is not None],
                )
                for plan in self.plans
            ],
            customers=demo_deals.customer_pool(self.dice.fakers["en_US"], size=max(600, count * 4)),
            owner_ids=managers,
            rng=self.dice.rng,
            now=self.dice.now,
        )

    def reports(self) -> None:
        """Scheduled reports as a program team would set them up (through the reports' service): the
        monthly summary to the admin, the weekly pipeline review to the managers, and the partners'
        quarterly review pack — prepared but disabled, so the demo never e-mails partner contacts."""
        admin = str(self.staff[ADMIN_EMAIL].public_id)
        managers = [str(u.public_id) for u in self.staff.values() if u.pk in self.managers]
        for values in (
            {"name": "Monthly program summary", "kind": "program_summary", "schedule": "monthly", "day": 1,
             "period": "last_month", "formats": ["pdf", "xlsx"], "staff_recipients": [admin]},
            {"name": "Weekly pipeline review", "kind": "pipeline_review", "schedule": "weekly", "weekday": 1,
             "period": "last_week", "formats": ["pdf", "csv"], "staff_recipients": managers or [admin]},
            {"name": "Quarterly business review (partners)", "kind": "qbr", "schedule": "quarterly",
             "period": "last_quarter", "formats": ["pdf"], "partner_recipients": True, "enabled": False},
        ):  # fmt: skip
            definition_create(actor=self.actor, data={"hour": 8, "timezone": "Europe/Berlin", **values})
        self.result.reports = 3

    def referrals(self) -> None:
        self.say("Generating tracking links, coupons, clicks and conversions…")
        referrers = [
            p.partner
            for p in self.plans
            if p.type_key in REFERRAL_TYPES and p.partner.status == PartnerStatus.ACTIVE
        ]
        counts = demo_referrals_load(
            workspace=self.workspace, partners=referrers, seed=self.seed, now=self.dice.now
        )
        self.result.clicks, self.result.conversions = counts.get("clicks", 0), counts.get("conversions", 0)


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
    load = _Load(workspace=workspace, seed=seed, now=now, say=progress or (lambda message: None))
    result = load.result
    with transaction.atomic(), scope(load.actor.access_scope()):
        workspace_bootstrap(workspace=workspace)
        managers = load.staff_accounts()
        programs = programs_ensure(actor=load.actor)
        load.partners(partners, managers, programs)
        load.activity()
        load.deals(partners, managers, programs.default)
        load.referrals()
        load.reports()
        demo_finance.load(actor=load.actor, plans=load.plans, seed=seed, now=now)  # own dice
        demo_customers.load(actor=load.actor, plans=load.plans, seed=seed, now=now)  # own dice
        load.say("Accruing commissions…")
        demo_commissions.load(actor=load.actor, now=now)  # plans per program, six months of accruals
        load.say("Building the daily rollups…")
        result.rollup_cells = rollups_rebuild(workspace_id=workspace.pk)
        deal_rollups_rebuild(workspace_id=workspace.pk)  # the demo writes deals directly: rebuild theirs
    analyze_tables(  # fresh planner statistics (PostgreSQL) of every table the load wrote, after the commit
        *(Partner, Contact, PartnerProgram, StatusChange, Partner.tags.through, Agreement, Event, AuditEntry),
        *(Deal, DealStageChange, DealLineItem, CustomerKey, DealConflict),
        *(DealDayRollup, DealStageRollup, DealCloseDays),
        *(TrackingLink, Coupon, Click, Conversion, PartnerDay, PartnerMonth, PairedInterval),
        rows=result.partners + result.events + result.deals,
    )
    result.logins = load.logins
    result.logins_path = logins_file or logins_path()
    logins_write(result.logins_path, result.logins, seed=seed, now=now)
    return result
