"""What an accrual, a replay or a simulation needs besides the sources, loaded once per run: the
workspace's plans, their published versions compiled, the assignments, the sub-partner links, and the
plan that applies to a source (partner > tag > tier > program; the version in force on the event's day:
the latest published with ``effective_from`` on or before it)."""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openprm.commissions import engine
from openprm.commissions.models import Plan, PlanAssignment, PlanVersion, SubPartner
from openprm.commissions.rules import parse_rules
from openprm.commissions.services.lifetime import FIELD as LIFETIME
from openprm.commissions.services.lifetime import Lifetime, reads_lifetime
from openprm.commissions.services.sources import PartnerFacts, Source, condition_fields
from openprm.finance.selectors.fx import MissingRate


@dataclass(frozen=True, slots=True)
class PlanInfo:
    id: int
    currency: str
    hold_days: int
    program_id: int | None


@dataclass(slots=True)
class Context:
    workspace_id: int
    plans: dict[int, PlanInfo] = field(default_factory=dict)
    # plan id → ascending [(effective_from, version id, compiled plan)]
    versions: dict[int, list[tuple[datetime.date, int, engine.Plan]]] = field(default_factory=dict)
    assignments: list[tuple[int, datetime.date, datetime.date | None, int, str, int]] = field(
        default_factory=list
    )
    parents: dict[int, list[tuple[datetime.date, datetime.date | None, int]]] = field(default_factory=dict)
    partners: dict[int, PartnerFacts] = field(default_factory=dict)
    lifetime: Lifetime | None = None  # when some rule tests the partner's lifetime amount

    @property
    def empty(self) -> bool:
        return not self.versions

    def events(self) -> frozenset[str]:
        """Every event some version pays for (the sources worth reading)."""
        return frozenset(
            e for vs in self.versions.values() for _, _, p in vs for r in p.rules for e in r.events
        )

    def needs_customers(self) -> frozenset[str]:
        """The events whose rules read the customer's facts (empty: none does): a customer condition
        reads them for every event of its rule, a recurring window for recurring payments only. A source
        of another event is read without its customer's first purchase (``sources.conversions``)."""
        events: set[str] = set()
        for vs in self.versions.values():
            for _, _, p in vs:
                for r in p.rules:
                    if "customer." in repr(r.condition):
                        events |= r.events
                    elif r.recurring_months is not None and "recurring_payment" in r.events:
                        events.add("recurring_payment")
        return frozenset(events)

    def needs_lifetime(self) -> bool:
        """Whether some rule tests the partner's lifetime amount (its totals are read only then)."""
        return any(reads_lifetime(r) for vs in self.versions.values() for _, _, p in vs for r in p.rules)

    def fields(
        self, source: Source, partner: PartnerFacts | None, amount: Decimal, currency: str
    ) -> SourceFields:
        """The fields conditions read for ``source`` under a plan in ``currency``, where a lifetime
        amount that cannot be converted reads as unknown (None: a condition on it fails) — for the
        re-evaluations of events evaluated before; the accrual keeps such an event waiting instead."""
        if self.lifetime is None:
            return SourceFields(source, partner, amount)
        return LifetimeFields(source, partner, amount, self.lifetime, currency, strict=False)

    def stateful(self) -> bool:
        return any(
            r.reward in ("tiered", "threshold") or r.cap_period is not None
            for vs in self.versions.values()
            for _, _, p in vs
            for r in p.rules
        )

    def plan_for(self, source: Source) -> tuple[PlanInfo, int, engine.Plan] | None:
        partner = self.partners.get(source.partner_id)
        day = source.occurred_at.date()
        best: tuple[tuple[int, int, int], int] | None = None
        for precedence, starts, ends, plan_id, level, target in self.assignments:
            if starts > day or (ends is not None and ends < day):
                continue
            info = self.plans.get(plan_id)
            if info is None or (
                info.program_id and source.program_id and info.program_id != source.program_id
            ):
                continue
            if level == "partner":
                hit = target == source.partner_id
            elif partner is None:
                hit = False
            elif level == "tag":
                hit = target in partner.tag_ids
            elif level == "tier":  # the partner's tier at the event (its tier history)
                hit = target in partner.tiers_on(source.occurred_at)[1]
            else:
                hit = target == source.program_id if source.program_id else target in partner.programs
            if not hit:
                continue
            rank = (precedence, -starts.toordinal(), -plan_id)
            if best is None or rank < best[0]:
                best = (rank, plan_id)
        if best is None:
            return None
        plan_id = best[1]
        found = self.version_on(plan_id, day)
        if found is None:
            return None
        return self.plans[plan_id], found[0], found[1]

    def version_on(self, plan_id: int, day: datetime.date) -> tuple[int, engine.Plan] | None:
        versions = self.versions.get(plan_id, [])
        i = bisect.bisect_right([v[0] for v in versions], day)
        if i == 0:
            return None
        _, version_id, compiled = versions[i - 1]
        return version_id, compiled

    def parents_of(self, partner_id: int, day: datetime.date, depth: int) -> list[int]:
        chain: list[int] = []
        current = partner_id
        for _ in range(depth):
            parent = next(
                (
                    p
                    for since, until, p in self.parents.get(current, [])
                    if since <= day and (until is None or day < until)
                ),
                None,
            )
            if parent is None or parent in chain or parent == partner_id:
                break
            chain.append(parent)
            current = parent
        return chain


def load_context(workspace_id: int, *, draft: PlanVersion | None = None) -> Context:
    """The workspace's plans and published versions (with ``draft`` standing in for its plan's versions
    from its ``effective_from``: the what-if)."""
    ctx = Context(workspace_id)
    for pid, ccy, hold, program in Plan.objects.filter(
        workspace_id=workspace_id, archived_at__isnull=True
    ).values_list("id", "currency", "hold_days", "program_id"):
        ctx.plans[pid] = PlanInfo(pid, ccy, hold, program)
    selections = dict(Plan.objects.filter(workspace_id=workspace_id).values_list("id", "selection"))
    versions: dict[int, list[tuple[datetime.date, int, engine.Plan]]] = defaultdict(list)
    rows = PlanVersion.objects.filter(
        workspace_id=workspace_id, status=PlanVersion.Status.PUBLISHED, plan_id__in=list(ctx.plans)
    ).order_by("effective_from", "number")
    for vid, plan_id, effective, rules in rows.values_list("id", "plan_id", "effective_from", "rules"):
        if draft is not None and plan_id == draft.plan_id and effective >= draft.effective_from:
            continue
        versions[plan_id].append(
            (
                effective,
                vid,
                engine.compile_rules(parse_rules(rules, stored=True), selection=selections[plan_id]),
            )
        )
    if draft is not None:
        compiled = engine.compile_rules(parse_rules(draft.rules), selection=selections[draft.plan_id])
        versions[draft.plan_id].append((draft.effective_from, draft.pk, compiled))
        versions[draft.plan_id].sort(key=lambda v: v[0])
    ctx.versions = dict(versions)
    for plan_id, level, partner, tag, tier, program, starts, ends in PlanAssignment.objects.filter(
        workspace_id=workspace_id, plan_id__in=list(ctx.plans)
    ).values_list(
        "plan_id", "level", "partner_id", "tag_id", "tier_id", "program_id", "starts_on", "ends_on"
    ):
        target = {"partner": partner, "tag": tag, "tier": tier, "program": program}[level]
        ctx.assignments.append((PlanAssignment.PRECEDENCE[level], starts, ends, plan_id, level, target))
    parents: dict[int, list[tuple[datetime.date, datetime.date | None, int]]] = defaultdict(list)
    for parent, child, since, until in SubPartner.objects.filter(workspace_id=workspace_id).values_list(
        "parent_id", "child_id", "since", "until"
    ):
        parents[child].append((since, until, parent))
    ctx.parents = dict(parents)
    if ctx.needs_lifetime():
        ctx.lifetime = Lifetime(workspace_id)
    return ctx


ONE = Decimal(1)


class SourceFields(Mapping[str, Any]):
    """The fields a rule's conditions read for one source (``sources.condition_fields``), gathered on the
    first read of one other than the amount: most rules test the amount or nothing."""

    __slots__ = ("_all", "_amount", "_partner", "_source")

    def __init__(self, source: Source, partner: PartnerFacts | None, amount: Decimal) -> None:
        self._source, self._partner, self._amount = source, partner, amount
        self._all: dict[str, Any] | None = None

    def _fields(self) -> dict[str, Any]:
        if self._all is None:
            self._all = condition_fields(self._source, self._partner, self._amount)
        return self._all

    def get(self, key: str, default: Any = None) -> Any:
        if key == "amount":
            return self._amount
        return self._fields().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._amount if key == "amount" else self._fields()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())


class LifetimeFields(SourceFields):
    """``SourceFields`` with the partner's lifetime amount in the plan's ``currency``, looked up on its
    first read (only where some rule tests it: the accrual's other events keep the lighter class);
    ``lifetime_read`` says whether it was read and ``lifetime_value`` what it was (None: unknown, a rate
    missing; ``strict``: raise ``MissingRate`` instead)."""

    __slots__ = ("_currency", "_lifetime", "_strict", "lifetime_read", "lifetime_value")

    def __init__(
        self,
        source: Source,
        partner: PartnerFacts | None,
        amount: Decimal,
        lifetime: Lifetime,
        currency: str,
        *,
        strict: bool = True,
    ) -> None:
        super().__init__(source, partner, amount)
        self._lifetime, self._currency, self._strict = lifetime, currency, strict
        self.lifetime_read = False
        self.lifetime_value: Decimal | None = None

    def _fields(self) -> dict[str, Any]:
        if self._all is None:
            self._all = condition_fields(self._source, self._partner, self._amount)
            self._all[LIFETIME] = self._life()
        return self._all

    def _life(self) -> Decimal | None:
        if not self.lifetime_read:
            source = self._source
            try:
                value = self._lifetime.amount(source.partner_id, source.occurred_at.date(), self._currency)
            except MissingRate:
                if self._strict:
                    raise
                value = None
            self.lifetime_read, self.lifetime_value = True, value
        return self.lifetime_value

    def get(self, key: str, default: Any = None) -> Any:
        return self._life() if key == LIFETIME else super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._life() if key == LIFETIME else super().__getitem__(key)
