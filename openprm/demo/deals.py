"""Demo deals: a product catalog and 24 months of registrations with realistic stage progressions,
a few cross-partner conflicts, stalled deals and pending approvals. Called by ``loader``.

The catalog comes from the deals' product service and conflicts are found by the deals' detection
(``conflicts_detect_batch``, as for registrations and imports). The deals themselves are written directly
(``_deals_write``): the deals bulk service (``deals.services.bulk.DealBulkWriter``) writes neither a deal's
owner, nor who registered it (a partner rep's portal shows the deals they registered), nor the decision
note, and it draws the public ids itself; see the report of the reshaping step.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection

from openprm.core.actors import Actor
from openprm.core.bulk import analyze_tables
from openprm.deals import matching
from openprm.deals.models import (
    ApprovalStatus,
    CustomerKey,
    Deal,
    DealLineItem,
    DealSource,
    DealStageChange,
    Outcome,
    PipelineStage,
    Product,
)
from openprm.deals.services import add_business_days, customer_index, products_upsert, program_stages
from openprm.deals.services.conflicts import (
    ConflictSubject,
    DealCustomer,
    conflicts_detect_batch,
    deal_customer,
)
from openprm.demo.rows import insert_rows
from openprm.partners.models import Partner, PartnerStatus, Program

D = datetime.timedelta
PRODUCTS = [
    ("Core Platform", "CORE-1", Decimal("24000")),
    ("Analytics Add-on", "ANL-1", Decimal("9000")),
    ("Integration Pack", "INT-1", Decimal("6000")),
    ("Premium Support", "SUP-1", Decimal("4800")),
    ("Onboarding Services", "SRV-1", Decimal("7500")),
    ("Enterprise Seats (25)", "SEAT-25", Decimal("15000")),
]
DEALS_PER_MONTH: dict[str, float] = {  # registrations per month by lifecycle status, for a selling partner
    PartnerStatus.ACTIVE: 0.7,
    PartnerStatus.AT_RISK: 0.35,
    PartnerStatus.INACTIVE: 0.15,
    PartnerStatus.CHURNED: 0.3,
    PartnerStatus.ONBOARDING: 0.3,
    PartnerStatus.APPLICANT: 0.0,
}
LOST_REASONS = ["Lost to competitor", "No budget", "No decision", "Chose in-house build", "Timing"]
STAGE_GAPS = {"qualified": (3, 20), "proposal_sent": (5, 25), "negotiating": (5, 30), "close": (5, 35)}
# Registrations older than this are no longer open (closed or expired): open deals are recent ones.
OPEN_HORIZON_DAYS = 120
STALLED_SHARE = 0.12  # of open deals, sitting in their stage past its stalled threshold
OPEN_STAGE_WEIGHTS = [("registered", 0.3), ("qualified", 0.3), ("proposal_sent", 0.22), ("negotiating", 0.18)]


@dataclass
class DemoPartner:
    partner: Partner
    status: str
    type_key: str
    registrar_ids: list[int]  # portal users who register this partner's deals (may be empty)


History = list[tuple[str, datetime.datetime, str]]  # (stage key, when, lost reason), oldest first
Line = tuple[Product, Decimal, Decimal]  # (product, quantity, unit price)


@dataclass
class PlannedDeal:
    deal: Deal
    history: History
    customer: DealCustomer
    lines: list[Line] = field(default_factory=list)


def customer_pool(fake: Any, *, size: int) -> list[str]:
    """Distinct customer company names (sorted, so the pool is the same for the same Faker seed)."""
    names: set[str] = set()
    for _ in range(size * 3):
        names.add(fake.company())
        if len(names) >= size:
            break
    return sorted(names)


def _uid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _domain(name: str) -> str:
    slug = "".join(c for c in matching.normalize_company(name).replace(" ", "-") if c.isalnum() or c == "-")
    return f"{slug.strip('-')[:40] or 'customer'}.example"


def catalog(actor: Actor, rng: random.Random) -> list[Product]:
    """The product catalog, through the deals' product service (validated, audited), by name."""
    products_upsert(actor=actor, items=[{"name": n, "sku": s, "list_price": p} for n, s, p in PRODUCTS])
    for _ in PRODUCTS:  # the ids the demo drew for its products before the service made them: the same
        _uid(rng)  # seed keeps giving the same deals
    return list(Product.objects.order_by("name"))


def load(
    *,
    actor: Actor,
    program: Program,
    partners: Sequence[DemoPartner],
    customers: list[str],
    owner_ids: list[int],
    rng: random.Random,
    now: datetime.datetime,
) -> int:
    """Generate the demo deals (inside the caller's transaction and scope); returns the count."""
    stages = {s.key: s for s in program_stages(program=program)}
    planner = DealPlanner(stages, catalog(actor, rng), owner_ids, customers, rng, now)
    planned: list[PlannedDeal] = []
    for index, demo in enumerate(partners):
        planned += planner.partner_deals(demo)
        # now and then, a recent registration of a customer another partner already holds
        if index % 97 == 5 and len(partners) > 10:
            planned += planner.rival_pair(demo, partners[(index * 7 + 3) % len(partners)])
    _deals_write(actor.workspace_id, planned, stages)
    _conflicts_detect(actor.workspace_id, planned)
    return len(planned)


def _deals_write(workspace_id: int, planned: list[PlannedDeal], stages: dict[str, PipelineStage]) -> None:
    """The deals, their stage histories (dated in the past) and line items, and their customers in the
    conflict index (the deals' ``customer_index``)."""
    Deal.objects.bulk_create([p.deal for p in planned], batch_size=1000)
    when = connection.ops.adapt_datetimefield_value
    money = connection.ops.adapt_decimalfield_value
    stage_ids = {key: stage.pk for key, stage in stages.items()}
    changes: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    indexed: dict[str, tuple[str, ...]] = {}
    for item in planned:
        deal, previous = item.deal, None
        for key, at, reason in item.history:
            changes.append((workspace_id, deal.pk, previous, stage_ids[key], when(at), "demo", reason))
            previous = stage_ids[key]
        lines += [(workspace_id, deal.pk, p.pk, p.name, money(q), money(u)) for p, q, u in item.lines]
        customer = item.customer
        indexed[customer.key] = tuple({*indexed.get(customer.key, ()), *customer.blocking_keys})
    columns = [
        "workspace_id",
        "deal_id",
        "from_stage_id",
        "to_stage_id",
        "changed_at",
        "actor_label",
        "lost_reason",
    ]
    insert_rows(DealStageChange, columns, changes)
    customer_index(workspace_id=workspace_id, customers=indexed.items())
    columns = ["workspace_id", "deal_id", "product_id", "product_name", "quantity", "unit_price"]
    insert_rows(DealLineItem, columns, lines)


def _conflicts_detect(workspace_id: int, planned: list[PlannedDeal]) -> None:
    """Conflicts among the still-undecided registrations, found by the deals' detection. It runs in the
    load's transaction: its queries are planned on fresh statistics of the rows just written."""
    written = (Partner, Deal, DealStageChange, CustomerKey, DealLineItem)
    analyze_tables(*written, rows=len(planned), in_transaction=True)
    subjects = [
        ConflictSubject(
            deal_id=item.deal.pk,
            partner_id=item.deal.partner_id,
            customer_name=item.deal.customer_name,
            customer_domain=item.deal.customer_domain,
            blocking_keys=item.customer.blocking_keys,
            pending=True,
        )
        for item in planned
        if item.deal.approval_status == ApprovalStatus.SUBMITTED
    ]
    conflicts_detect_batch(workspace_id=workspace_id, subjects=subjects)


@dataclass
class _Path:
    """Where a registration went: its approval status and its stages so far."""

    status: str
    history: History
    stage: str = "registered"
    closed_at: datetime.datetime | None = None
    lost_reason: str = ""


class DealPlanner:
    """Plans deals from the demo's dice: a partner's registrations over 24 months, with their outcomes."""

    def __init__(
        self,
        stages: dict[str, PipelineStage],
        products: list[Product],
        owner_ids: list[int],
        customers: list[str],
        rng: random.Random,
        now: datetime.datetime,
    ) -> None:
        self.stages, self.products, self.owner_ids, self.customers = stages, products, owner_ids, customers
        self.rng, self.now = rng, now
        self.start = now - D(days=730)
        self.known: dict[tuple[str, bool], tuple[str, DealCustomer]] = {}  # (name, variant) → customer

    def lines(self, item: PlannedDeal) -> PlannedDeal:
        """One or two catalog products at a negotiated price (discount or markup); amount = their total."""
        rng = self.rng
        picked = [
            (p, Decimal(rng.choice([1, 1, 2, 3]))) for p in rng.sample(self.products, rng.choice([1, 1, 2]))
        ]
        factor = Decimal(str(round(rng.uniform(0.6, 1.3), 2)))  # the negotiated price, in the unit prices
        item.lines = [(p, qty, (p.list_price * factor).quantize(Decimal("1"))) for p, qty in picked]
        item.deal.amount = sum((qty * unit for _, qty, unit in item.lines), Decimal("0"))
        return item

    def partner_deals(self, demo: DemoPartner) -> list[PlannedDeal]:
        """The partner's registrations: a few a month while it sells, none before it did."""
        rng, now = self.rng, self.now
        rate = DEALS_PER_MONTH.get(demo.status, 0.0)
        if demo.type_key in ("affiliate", "influencer"):
            rate *= 0.2
        out = []
        for _ in range(sum(1 for _ in range(24) if rng.random() < rate)):
            registered = self.start + D(days=rng.uniform(0, 728))
            if demo.status == PartnerStatus.CHURNED and registered > now - D(days=200):
                registered -= D(days=300)
            out.append(self.lines(self.deal(demo, registered, self.customers)))
        return out

    def rival_pair(self, demo: DemoPartner, other: DemoPartner) -> list[PlannedDeal]:
        """A customer another (active) partner registered 20 days ago, registered again by ``demo``,
        written differently: both wait for a decision, in conflict."""
        if other.partner.pk == demo.partner.pk or other.status != PartnerStatus.ACTIVE:
            return []
        name = self.rng.choice(self.customers)
        out = []
        for holder, delay in ((other, 20), (demo, 2)):
            registered = self.now - D(days=delay, hours=self.rng.randint(1, 20))
            item = self.deal(holder, registered, [name], keep_open=True, variant=holder is demo)
            out.append(self.lines(item))
        return out

    def _open_deal(self, demo: DemoPartner, customer: str, info: DealCustomer, status: str) -> PlannedDeal:
        """An approved deal still in the pipeline, planned backwards from today so that it is recent: its
        time in the current stage is under the stage's stalled threshold, except for a stalled few."""
        rng, now, stages = self.rng, self.now, self.stages
        keys = [k for k, _ in OPEN_STAGE_WEIGHTS]
        current = rng.choices(keys, weights=[w for _, w in OPEN_STAGE_WEIGHTS])[0]
        limit = stages[current].stall_days or 30
        if rng.random() < STALLED_SHARE:
            in_stage = rng.uniform(limit + 1, limit * 2.5)
        else:
            in_stage = rng.uniform(0.2, limit * 0.8)
        at = now - D(days=in_stage)
        history: History = []
        for key in reversed(keys[1 : keys.index(current) + 1]):
            history.append((key, at, ""))
            at -= D(days=rng.randint(*STAGE_GAPS[key]), hours=rng.randint(0, 23))
        approved_at = at
        registered = approved_at - D(hours=rng.randint(4, 70))
        history.append(("registered", registered, ""))
        history.reverse()
        stage = stages[current]
        deal = Deal(
            public_id=_uid(rng),
            workspace_id=demo.partner.workspace_id,
            partner=demo.partner,
            program=stage.program,
            registered_by_id=None,
            owner_id=demo.partner.owner_id,
            customer_name=customer,
            customer_key=info.key,
            customer_domain=info.domain,
            customer_domain_root=info.root,
            contact_name="",
            amount=Decimal("0"),
            currency="USD",
            expected_close_date=(now + D(days=rng.randint(-10, 90))).date(),
            source=DealSource.SOURCED if rng.random() < 0.7 else DealSource.INFLUENCED,
            stage=stage,
            stage_changed_at=history[-1][1],
            approval_status=status,
            approval_due_at=add_business_days(registered, stage.program.approval_sla_days),
            decided_at=approved_at,
            decision_note="",
            approved_at=approved_at,
            protection_expires_at=approved_at + D(days=stage.program.protection_days),
            registered_at=registered,
            closed_at=None,
            lost_reason="",
        )
        return PlannedDeal(deal, history, info)

    def deal(
        self,
        demo: DemoPartner,
        registered: datetime.datetime,
        customers: list[str],
        keep_open: bool = False,
        variant: bool = False,
    ) -> PlannedDeal:
        """A registration and what became of it: approved (then won, lost, expired or still open), rejected
        now and then, or, when recent, awaiting a decision."""
        rng = self.rng
        customer, info = self._customer(customers, variant)
        age = (self.now - registered).days
        approved_at = registered + D(hours=rng.randint(4, 70))
        path = _Path(self._decision(pending=keep_open or age < 4), [("registered", registered, "")])
        outcome_roll = rng.random()
        if path.status == ApprovalStatus.APPROVED:
            target = self._target(demo, outcome_roll, old=age > OPEN_HORIZON_DAYS and not keep_open)
            if target == "expired":
                path.status = ApprovalStatus.EXPIRED
            if target == "open":
                item = self._open_deal(demo, customer, info, path.status)
                item.deal.registered_by_id = rng.choice(demo.registrar_ids) if demo.registrar_ids else None
                item.deal.owner_id = demo.partner.owner_id or (self.owner_ids[0] if self.owner_ids else None)
                return item
            self._progress(path, approved_at, target)
        return self._decided_deal(demo, customer, info, registered, approved_at, path)

    def _customer(self, customers: list[str], variant: bool) -> tuple[str, DealCustomer]:
        """A customer from ``customers``; the ``variant`` spelling is how a second partner writes it."""
        picked = self.rng.choice(customers)
        known = self.known.get((picked, variant))
        if known is not None:  # normalising a name is costly; 100,000s of deals share their customers
            return known
        customer, domain = picked, _domain(picked)
        if variant:
            customer = customer.upper().replace(",", "") + " Inc."
            domain = "www." + domain
        info = deal_customer(customer, domain)
        assert info is not None  # a generated domain is valid
        self.known[picked, variant] = customer, info
        return customer, info

    def _decision(self, *, pending: bool) -> str:
        if pending:
            return self.rng.choice(
                [ApprovalStatus.SUBMITTED, ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO]
            )
        return ApprovalStatus.REJECTED if self.rng.random() < 0.06 else ApprovalStatus.APPROVED

    def _target(self, demo: DemoPartner, roll: float, *, old: bool) -> str:
        """Where an approved deal is heading; an old registration is no longer open: it closed, or it
        expired unprogressed."""
        won_share = 0.45 if demo.status == PartnerStatus.ACTIVE else 0.3
        target = "closed_won" if roll < won_share else "closed_lost" if roll < won_share + 0.3 else "open"
        if target == "open" and old:
            late = self.rng.random()
            target = "expired" if late < 0.25 else "closed_won" if late < 0.55 else "closed_lost"
        return target

    def _progress(self, path: _Path, approved_at: datetime.datetime, target: str) -> None:
        """Move a won or lost deal through the stages after its approval, and close it (unless that
        would be in the future)."""
        rng, now, at = self.rng, self.now, approved_at
        if target not in ("closed_won", "closed_lost"):
            return
        for key in ("qualified", "proposal_sent", "negotiating"):
            at = at + D(days=rng.randint(*STAGE_GAPS[key]), hours=rng.randint(0, 23))
            if at >= now:
                return
            path.history.append((key, at, ""))
            path.stage = key
        close_at = at + D(days=rng.randint(*STAGE_GAPS["close"]))
        if close_at < now:
            path.lost_reason = rng.choice(LOST_REASONS) if target == "closed_lost" else ""
            path.history.append((target, close_at, path.lost_reason))
            path.stage, path.closed_at = target, close_at

    def _decided_deal(
        self,
        demo: DemoPartner,
        customer: str,
        info: DealCustomer,
        registered: datetime.datetime,
        approved_at: datetime.datetime,
        path: _Path,
    ) -> PlannedDeal:
        """The deal row of a registration that is not open in the pipeline (closed, expired, rejected or
        awaiting a decision)."""
        rng, stage, status, history = self.rng, self.stages[path.stage], path.status, path.history
        was_approved = status in (ApprovalStatus.APPROVED, ApprovalStatus.EXPIRED)
        protected = was_approved and stage.outcome == Outcome.OPEN
        deal = Deal(
            public_id=_uid(rng),
            workspace_id=demo.partner.workspace_id,
            partner=demo.partner,
            program=stage.program,
            registered_by_id=rng.choice(demo.registrar_ids) if demo.registrar_ids else None,
            owner_id=demo.partner.owner_id or (self.owner_ids[0] if self.owner_ids else None),
            customer_name=customer,
            customer_key=info.key,
            customer_domain=info.domain,
            customer_domain_root=info.root,
            contact_name="",
            amount=Decimal("0"),
            currency="USD",
            expected_close_date=(path.closed_at or (history[-1][1] + D(days=rng.randint(10, 90)))).date(),
            source=DealSource.SOURCED if rng.random() < 0.7 else DealSource.INFLUENCED,
            stage=stage,
            stage_changed_at=history[-1][1],
            approval_status=status,
            approval_due_at=add_business_days(registered, stage.program.approval_sla_days),
            decided_at=approved_at if was_approved or status == ApprovalStatus.REJECTED else None,
            decision_note="Duplicate of an existing opportunity" if status == ApprovalStatus.REJECTED else "",
            approved_at=approved_at if was_approved else None,
            protection_expires_at=approved_at + D(days=stage.program.protection_days) if protected else None,
            registered_at=registered,
            closed_at=path.closed_at,
            lost_reason=path.lost_reason,
        )
        return PlannedDeal(deal, history, info)
