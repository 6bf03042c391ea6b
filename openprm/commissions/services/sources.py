"""Read the sources the engine pays for — conversions, deals, activity events — as plain ``Source``
tuples in one grouped query each (batch-first), with the partner and customer facts conditions need.

Events the engine sees: conversions ``signup``, ``purchase``, ``recurring_payment`` (refunds are read
as ``refund`` and turned into reversals, not evaluated); deals ``deal_registered``, ``deal_approved``
(bounties) and ``deal_won``; activity events ``lead_accepted``, ``target_reached`` and ``custom:<type>``
(only the types some published rule names). Every list is in the one deterministic order of the engine:
(occurred_at, event rank, id)."""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Min

from openprm.activity.models import Conversion, Event
from openprm.core.bulkread import fast_cursor, values_rows
from openprm.deals.models import ApprovalStatus, Deal, DealLineItem, Outcome
from openprm.partners.models import Partner, PartnerProgram, Tier, TierChange

RANK = {
    "signup": 0,
    "purchase": 1,
    "recurring_payment": 2,
    "refund": 3,
    "deal_registered": 4,
    "deal_approved": 5,
    "deal_won": 6,
}
EVENT_TYPES = {
    "lead_accepted": "lead_accepted",
    "lead.accepted": "lead_accepted",
    "target.reached": "target_reached",
}


@dataclass(frozen=True, slots=True)
class Source:
    kind: str  # conversion | deal | event
    id: int
    event: str
    partner_id: int
    program_id: int | None
    occurred_at: datetime.datetime
    amount: Decimal  # in ``currency``
    currency: str
    fields: dict[str, Any] = field(default_factory=dict)
    customer_months: int | None = None
    refund_of: int | None = None
    generation: int = 1  # 2, 3, ...: evaluated again after the earlier evaluation was closed (see ``stem``)
    customer: str = ""  # a sale's customer key (its id, else its email hash), read with the customer facts

    @property
    def order(self) -> tuple[datetime.datetime, int, int]:
        return (self.occurred_at, RANK.get(self.event, 7), self.id)

    @property
    def key(self) -> str:
        """The idempotency key's stem: one evaluation per source, event and generation."""
        return stem(self.kind, self.id, self.event, self.generation)


PREFIX = {"conversion": "c", "deal": "d", "event": "e"}


def stem(kind: str, source_id: int, event: str, generation: int = 1) -> str:
    """The key stem of one evaluation of a source's event: ``d12:deal_won``; a later generation (a deal won
    again after it left won, a conversion moved to another partner) adds ``#2``, ``#3``, ... so its rows
    never collide with the earlier evaluation's."""
    base = f"{PREFIX[kind]}{source_id}:{event}"
    return base if generation <= 1 else f"{base}#{generation}"


def generation_of(kind: str, source_id: int, event: str, key: str) -> int | None:
    """The generation an evaluation row's key belongs to (None: not a row of an evaluation, e.g. a period
    correction's key)."""
    base = f"{PREFIX.get(kind, '?')}{source_id}:{event}"
    if not key.startswith(base):
        return None
    rest = key[len(base) :]
    if rest.startswith("#"):
        number = rest[1:].split(":", 1)[0]
        return int(number) if number.isdigit() else None
    return 1 if rest.startswith(":") else None


@dataclass(slots=True)
class FirstPurchases:
    """A range run's memo of its customers' first purchases (``conversions(firsts=...)``): the same
    subscribers pay every month, and each is looked up once — unless a conversion of the workspace was
    written since the previous month read them (a late or corrected purchase can move a first purchase),
    then the memo starts over."""

    known: dict[str, datetime.datetime] = field(default_factory=dict)
    since: datetime.datetime | None = None

    def current(self, workspace_id: int, now: datetime.datetime) -> dict[str, datetime.datetime]:
        """The memo for a month read from ``now`` on (one indexed EXISTS when it holds anything)."""
        if self.known and self.since is not None:
            written = Conversion.objects.filter(workspace_id=workspace_id, updated_at__gte=self.since)
            if written.exists():
                self.known.clear()
        self.since = now
        return self.known


def _months_between(first: datetime.datetime, then: datetime.datetime) -> int:
    months = (then.year - first.year) * 12 + then.month - first.month
    return max(months - (1 if then.day < first.day else 0), 0)


def conversions(
    workspace_id: int,
    *,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
    partner_ids: Iterable[int] | None = None,
    customers: bool | frozenset[str] = True,
    refunds_of: Iterable[int] | None = None,
    firsts: dict[str, datetime.datetime] | None = None,
) -> list[Source]:
    """Accepted, attributed conversions; ``customers``: with each customer's key and first purchase (new
    or existing customer, months since: recurring rules and customer conditions need it), for every kind
    (True) or only these kinds (the others keep their customer key and read as a new customer: no rule of
    theirs reads it, ``Context.needs_customers``); ``refunds_of``: only the refunds of these sales;
    ``firsts``: the first purchases a run looked up already, used and extended (a range run's months:
    the same subscribers pay every month)."""
    rows = Conversion.objects.filter(
        workspace_id=workspace_id, status=Conversion.Status.ACCEPTED, partner_id__isnull=False
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if refunds_of is not None:
        rows = rows.filter(kind=Conversion.Kind.REFUND, refund_of_id__in=sorted(set(refunds_of)))
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    if changed_after is not None:
        rows = rows.filter(updated_at__gt=changed_after)
    if partner_ids is not None:
        rows = rows.filter(partner_id__in=list(partner_ids))
    values = values_rows(
        rows.order_by().values_list(
            "id",
            "kind",
            "partner_id",
            "program_id",
            "occurred_at",
            "amount",
            "currency",
            "customer_external_id",
            "customer_email_hash",
            "attributed_by",
            "refund_of_id",
            "properties",
        )
    )
    kinds = customers if isinstance(customers, frozenset) else None
    wanted = {
        r[7] or r[8]
        for r in values
        if (r[7] or r[8]) and r[1] != Conversion.Kind.REFUND and (kinds is None or r[1] in kinds)
    }
    first: dict[str, datetime.datetime] = {}
    if customers and firsts is not None:  # a run's earlier months looked these customers up
        first = {c: firsts[c] for c in wanted if c in firsts}
        wanted -= first.keys()
    if customers:
        found = _first_purchases(workspace_id, wanted)
        first.update(found)
        if firsts is not None:  # found only: a customer without a purchase yet may make one next month
            firsts.update(found)
    out: list[Source] = []
    for cid, kind, partner, program, at, amount, ccy, ext, email, attributed, refund_of, props in values:
        customer = ext or email
        first_at = first.get(customer) if customer and (kinds is None or kind in kinds) else None
        fields: dict[str, Any] = {
            "currency": ccy,
            "source": attributed,
            "program": program,
            "customer.new": first_at is None or first_at >= at,
            "customer.months_since_first": _months_between(first_at, at) if first_at and first_at < at else 0,
        }
        props = props or {}
        if props.get("product"):
            fields["product"] = [str(props["product"])]
        for name, value in props.items():
            fields[f"metadata.{name}"] = value
        out.append(
            Source(
                kind="conversion",
                id=cid,
                event=kind,
                partner_id=partner,
                program_id=program,
                occurred_at=at,
                amount=amount,
                currency=ccy,
                fields=fields,
                customer_months=fields["customer.months_since_first"]
                if kind == Conversion.Kind.RECURRING
                else None,
                refund_of=refund_of,
                customer=customer if customers else "",
            )
        )
    return out


def rejected_conversions(
    workspace_id: int,
    *,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
) -> list[int]:
    """Conversions rejected (after review): what they earned is reversed."""
    rows = Conversion.objects.filter(workspace_id=workspace_id, status=Conversion.Status.REJECTED)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    if changed_after is not None:
        rows = rows.filter(updated_at__gt=changed_after)
    return list(rows.order_by().values_list("id", flat=True))


def _first_purchases(workspace_id: int, customers: set[str]) -> dict[str, datetime.datetime]:
    """Each customer's first purchase or payment (by external id, else e-mail hash): one grouped query
    per column and block (an array parameter on PostgreSQL, not thousands of placeholders)."""
    if not customers:
        return {}
    first: dict[str, datetime.datetime] = {}
    kinds = [Conversion.Kind.PURCHASE.value, Conversion.Kind.RECURRING.value]
    chunk = sorted(customers)
    table = connection.ops.quote_name(Conversion._meta.db_table)
    for i in range(0, len(chunk), 20_000):
        part = chunk[i : i + 20_000]
        for column in ("customer_external_id", "customer_email_hash"):
            if connection.vendor == "postgresql":
                with fast_cursor() as cursor:
                    cursor.execute(
                        f"SELECT {column}, MIN(occurred_at) FROM {table} WHERE workspace_id = %s"  # noqa: S608
                        f" AND status = 'accepted' AND kind = ANY(%s) AND {column} = ANY(%s) GROUP BY 1",
                        [workspace_id, kinds, part],
                    )
                    found = cursor.fetchall()
            else:
                found = list(
                    Conversion.objects.filter(
                        workspace_id=workspace_id, status=Conversion.Status.ACCEPTED, kind__in=kinds
                    )
                    .filter(**{f"{column}__in": part})
                    .order_by()
                    .values_list(column)
                    .annotate(first=Min("occurred_at"))
                )
            for key, at in found:
                if key and (key not in first or at < first[key]):
                    first[key] = at
    return first


@dataclass(frozen=True, slots=True)
class DealState:
    """A deal as the accrual needs it: its events so far, and whether it is won now (a deal moved out of
    won, or whose amount changed, is reversed or adjusted against what it earned)."""

    id: int
    partner_id: int
    won: bool
    amount: Decimal
    currency: str
    sources: tuple[Source, ...]
    since: datetime.date | None = None  # the day it was registered (or closed): it counted from no earlier


def deals(
    workspace_id: int,
    *,
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    changed_after: datetime.datetime | None = None,
    partner_ids: Iterable[int] | None = None,
    events: frozenset[str] = frozenset({"deal_won", "deal_registered", "deal_approved"}),
) -> list[DealState]:
    rows = Deal.objects.filter(workspace_id=workspace_id)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if changed_after is not None:
        rows = rows.filter(updated_at__gt=changed_after)
    if partner_ids is not None:
        rows = rows.filter(partner_id__in=list(partner_ids))
    values = values_rows(
        rows.order_by().values_list(
            "id",
            "partner_id",
            "program_id",
            "amount",
            "currency",
            "source",
            "stage__outcome",
            "closed_at",
            "registered_at",
            "approved_at",
            "approval_status",
            "customer_key",
            "properties",
        )
    )
    products: dict[int, list[str]] = defaultdict(list)
    for i in range(0, len(values), 5000):
        part = [v[0] for v in values[i : i + 5000]]
        for deal_id, name in (
            DealLineItem.objects.filter(deal_id__in=part)
            .order_by("id")
            .values_list("deal_id", "product_name")
        ):
            products[deal_id].append(name)
    out: list[DealState] = []
    for (
        did,
        partner,
        program,
        amount,
        ccy,
        source,
        outcome,
        closed,
        registered,
        approved,
        status,
        _ck,
        props,
    ) in values:
        fields: dict[str, Any] = {
            "currency": ccy,
            "source": source,
            "program": program,
            "product": products[did],
        }
        for name, value in (props or {}).items():
            fields[f"metadata.{name}"] = value
        won = outcome == Outcome.WON and closed is not None
        found: list[Source] = []
        moments = {
            "deal_registered": registered,
            "deal_approved": approved if status == ApprovalStatus.APPROVED else None,
            "deal_won": closed if won else None,
        }
        for event, at in moments.items():
            if at is None or event not in events:
                continue
            if (start is not None and at < start) or (end is not None and at >= end):
                continue
            found.append(Source("deal", did, event, partner, program, at, amount, ccy, fields))
        moments_known = [m for m in (registered, closed) if m is not None]
        since = min(moments_known).date() if moments_known else None
        out.append(DealState(did, partner, won, amount, ccy, tuple(found), since))
    return out


def activity_events(
    workspace_id: int,
    *,
    types: Iterable[str],
    ids: Iterable[int] | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    received_after: datetime.datetime | None = None,
    partner_ids: Iterable[int] | None = None,
) -> list[Source]:
    """Activity events of the given types (``custom:<type>``, ``lead_accepted``, ``target_reached``);
    their ``value`` is the amount, in the workspace's currency (``properties.currency`` if set)."""
    wanted = {t.removeprefix("custom:") for t in types}
    wanted |= {raw for raw, mapped in EVENT_TYPES.items() if mapped in types}
    if not wanted:
        return []
    rows = Event.objects.filter(workspace_id=workspace_id, type__in=sorted(wanted))
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if start is not None:
        rows = rows.filter(occurred_at__gte=start)
    if end is not None:
        rows = rows.filter(occurred_at__lt=end)
    if received_after is not None:
        rows = rows.filter(received_at__gt=received_after)
    if partner_ids is not None:
        rows = rows.filter(partner_id__in=list(partner_ids))
    out = []
    for eid, etype, partner, at, value, props in values_rows(
        rows.order_by().values_list("id", "type", "partner_id", "occurred_at", "value", "properties")
    ):
        props = props or {}
        event = EVENT_TYPES.get(etype, f"custom:{etype}")
        fields = {f"metadata.{k}": v for k, v in props.items()}
        ccy = str(props.get("currency") or "")
        out.append(Source("event", eid, event, partner, None, at, Decimal(value or 0), ccy, fields))
    return out


@dataclass(frozen=True, slots=True)
class PartnerFacts:
    type: str
    region: str
    country: str
    tags: tuple[str, ...]
    tiers: dict[int, str]  # program id → tier name
    programs: tuple[int, ...]
    tag_ids: tuple[int, ...]
    tier_ids: tuple[int, ...]
    started: datetime.date | None
    # program id → its tiers by moment: (from, tier id, tier name), ascending, the first from the
    # beginning (``tier_on``); empty: no history, the current tiers throughout
    tier_days: dict[int, tuple[tuple[datetime.datetime, int | None, str], ...]] = field(default_factory=dict)
    enrolled: dict[int, int] = field(default_factory=dict)  # program id → tier id now

    def tier_on(self, program_id: int, at: datetime.datetime) -> tuple[int | None, str]:
        """The partner's tier in a program at ``at`` (id, name; None, '' without one), from its tier
        history (``TierChange``, see ``_tier_days``): the current tier from the latest recorded change
        on, before it the tier each change moved to, and before the first the tier it moved from."""
        states = self.tier_days.get(program_id)
        if not states or at >= states[-1][0]:
            return self.enrolled.get(program_id), self.tiers.get(program_id, "")
        i = bisect.bisect_right([state[0] for state in states], at) - 1
        _, tier_id, name = states[max(i, 0)]
        return tier_id, name

    def tiers_on(self, at: datetime.datetime) -> tuple[dict[int, str], tuple[int, ...]]:
        """Every program's tier name at ``at`` and the tier ids (``tier_on``)."""
        if not self.tier_days:
            return self.tiers, self.tier_ids
        names: dict[int, str] = {}
        ids: list[int] = []
        for program_id in sorted({*self.programs, *self.tier_days}):
            tier_id, name = self.tier_on(program_id, at)
            if name:
                names[program_id] = name
            if tier_id is not None:
                ids.append(tier_id)
        return names, tuple(sorted(ids))

    def tier_state(self, at: datetime.datetime) -> tuple[int, ...]:
        """Which of its tier states ``at`` falls in, per program with a history: equal for two moments
        that read the same tiers (a key for what depends on them)."""
        return tuple(
            bisect.bisect_right([state[0] for state in states], at) for states in self.tier_days.values()
        )


def partner_facts(workspace_id: int, partner_ids: Iterable[int]) -> dict[int, PartnerFacts]:
    ids = sorted(set(partner_ids))
    facts: dict[int, PartnerFacts] = {}
    for i in range(0, len(ids), 5000):
        part = ids[i : i + 5000]
        tags: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for pid, tag_id, name in Partner.tags.through.objects.filter(partner_id__in=part).values_list(
            "partner_id", "tag_id", "tag__name"
        ):
            tags[pid].append((tag_id, name))
        enrol: dict[int, list[tuple[int, int | None, str | None]]] = defaultdict(list)
        joined: dict[tuple[int, int], datetime.date] = {}
        for pid, program, tier, tier_name, joined_on in PartnerProgram.objects.filter(
            workspace_id=workspace_id, partner_id__in=part
        ).values_list("partner_id", "program_id", "tier_id", "tier__name", "joined_on"):
            enrol[pid].append((program, tier, tier_name))
            joined[(pid, program)] = joined_on
        history = _tier_days(workspace_id, part, joined)
        for pid, type_key, region, country, start, created in Partner.objects.filter(
            workspace_id=workspace_id, pk__in=part
        ).values_list("id", "type__key", "region", "country", "start_date", "created_at"):
            facts[pid] = PartnerFacts(
                type=type_key,
                region=region,
                country=str(country or ""),
                tags=tuple(sorted(n for _, n in tags[pid])),
                tiers={p: n for p, _, n in enrol[pid] if n},
                programs=tuple(sorted(p for p, _, _ in enrol[pid])),
                tag_ids=tuple(sorted(t for t, _ in tags[pid])),
                tier_ids=tuple(sorted(t for _, t, _ in enrol[pid] if t)),
                started=start or (created.date() if created else None),
                tier_days=history.get(pid, {}),
                enrolled={p: t for p, t, _ in enrol[pid] if t},
            )
    return facts


BEGINNING = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _tier_days(
    workspace_id: int, partner_ids: list[int], joined: dict[tuple[int, int], datetime.date]
) -> dict[int, dict[int, tuple[tuple[datetime.datetime, int | None, str], ...]]]:
    """Per partner and program, its tiers by moment (``PartnerFacts.tier_days``). A change counts from
    the moment it was recorded when that is on its day (an event earlier that day keeps the tier it had),
    from the start of its day when it was dated back. Before the first change: the tier it moved from —
    or, when it is the enrolment itself (no tier before, dated on or before the day the partner joined:
    a history started when tiers were set up after the sales were imported), the tier it joined with.
    Names are the tiers' names now (a tier renamed reads the same on every day), the recorded one for a
    tier since deleted."""
    changes: dict[tuple[int, int], list[tuple[datetime.datetime, int | None, str, int | None, str]]]
    changes = defaultdict(list)
    rows = TierChange.objects.filter(workspace_id=workspace_id, partner_id__in=partner_ids).order_by(
        "changed_on", "changed_at", "id"
    )
    for pid, program, day, at, before, before_name, after, after_name in rows.values_list(
        "partner_id",
        "program_id",
        "changed_on",
        "changed_at",
        "from_tier_id",
        "from_name",
        "to_tier_id",
        "to_name",
    ):
        moment = at if at.astimezone(datetime.UTC).date() == day else _midnight(day)
        changes[(pid, program)].append((moment, before, before_name, after, after_name))
    ids = {t for moves in changes.values() for m in moves for t in (m[1], m[3]) if t is not None}
    names = dict(Tier.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    out: dict[int, dict[int, tuple[tuple[datetime.datetime, int | None, str], ...]]] = defaultdict(dict)
    for (pid, program), moves in changes.items():
        moves.sort(key=lambda move: move[0])  # by moment (a change dated back may be recorded later)
        first, from_id, from_name, to_id, to_name = moves[0]
        since = joined.get((pid, program))
        enrolment = from_id is None and not from_name and (since is None or first.date() <= since)
        states = [(BEGINNING, to_id, to_name) if enrolment else (BEGINNING, from_id, from_name)]
        states += [(moment, after, after_name) for moment, _, _, after, after_name in moves]
        out[pid][program] = tuple(
            (moment, tier_id, names.get(tier_id, name) if tier_id is not None else name)
            for moment, tier_id, name in states
        )
    return out


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def condition_fields(source: Source, partner: PartnerFacts | None, amount: Decimal) -> dict[str, Any]:
    """The fields a rule's conditions read (``rules.FIELDS``) for one source."""
    fields = dict(source.fields)
    fields["amount"] = amount
    if partner is not None:
        day = source.occurred_at.date()
        tiers = partner.tiers_on(source.occurred_at)[0]  # as they were at the event (its tier history)
        tier = tiers.get(source.program_id) if source.program_id else None
        fields.update(
            {
                "partner.type": partner.type,
                "partner.region": partner.region,
                "partner.country": partner.country,
                "partner.tags": list(partner.tags),
                "partner.tier": tier or (sorted(tiers.values())[0] if tiers else None),
                "partner.tenure_months": (
                    _months_between(
                        datetime.datetime.combine(partner.started, datetime.time()),
                        datetime.datetime.combine(day, datetime.time()),
                    )
                    if partner.started and partner.started <= day
                    else 0
                ),
            }
        )
    return fields
