"""Conflict detection: a deal's customer is indexed by blocking keys, and other partners' open deals for the
same customer (as ``deals.matching`` judges it) are stored as ``DealConflict`` rows.

One implementation serves one deal (registration and edits: :func:`conflicts_detect`) and a batch (the
bulk service: :func:`conflicts_detect_batch`): the subjects' blocking keys lead through the
``CustomerKey`` index to the candidate deals — for one deal two small queries; a bulk writer reads the
workspace's index and deals in play once and keeps them (:class:`CandidateCache`) —, the candidates are
scored in Python (``matching.prepare`` / ``compare_prepared``, each distinct pair of customer records
once), and the matches are written with bulk statements, one row per pair of deals whichever side found
it.

Runs across the whole workspace whatever the actor may see: a partner must not learn of other partners'
deals, but their registration must still be checked against them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.db import connection
from django.db.models import F, Q, QuerySet

from openprm.core.domains import normalize_domain
from openprm.core.scoping import unscoped
from openprm.deals import matching
from openprm.deals.models import ApprovalStatus, CustomerKey, Deal, DealConflict, Outcome

CONFLICT_CANDIDATE_LIMIT = 200
"""Other partners' open deals scored per checked deal, newest first, however much history exists."""
PENDING = (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO)  # awaiting the vendor's decision
OUT_OF_PLAY = (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)  # never a rival
_CHUNK = 2_000  # values per statement, well under the databases' limits on parameters


# --- the customer index --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealCustomer:
    """A customer as deals store it, and the blocking keys it is indexed under."""

    key: str  # Deal.customer_key: the normalised company name
    domain: str  # Deal.customer_domain: the host (core.domains.normalize_domain)
    root: str  # Deal.customer_domain_root
    blocking_keys: tuple[str, ...]


@lru_cache(maxsize=65_536)  # imports and the demo repeat customers
def deal_customer(name: str, raw_domain: str) -> DealCustomer | None:
    """The stored form of a customer (name + domain, URL or e-mail address); None when ``raw_domain`` is
    given but is not a domain. The same rules as registration, for bulk paths that need them per row."""
    domain = normalize_domain(raw_domain) if raw_domain else ""
    if raw_domain and not domain:
        return None
    keys = tuple(sorted({key[:120] for key in matching.blocking_keys(name, domain)}))
    root = matching.domain_root(domain)[:100] if domain else ""
    return DealCustomer(matching.customer_key(name), domain, root, keys)


def customer_index(*, workspace_id: int, customers: Iterable[tuple[str, Iterable[str]]]) -> None:
    """Add (blocking key → customer key) rows for ``customers`` [(customer_key, blocking keys)] to the
    conflict index; pairs already there are skipped, so callers need not know what is indexed."""
    rows = [(workspace_id, key[:120], customer) for customer, keys in customers for key in sorted(set(keys))]
    quote = connection.ops.quote_name
    table = quote(CustomerKey._meta.db_table)
    columns = ", ".join(quote(column) for column in ("workspace_id", "key", "customer_key"))
    size = _CHUNK // 3  # rows per statement: a plain multi-row INSERT, no model instances (bulk imports)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            marks = ", ".join(["(%s, %s, %s)"] * len(chunk))
            sql = f"INSERT INTO {table} ({columns}) VALUES {marks} ON CONFLICT DO NOTHING"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])


def deal_index(deal: Deal) -> None:
    keys = matching.blocking_keys(deal.customer_name, deal.customer_domain)
    customer_index(workspace_id=deal.workspace_id, customers=[(deal.customer_key, keys)])


# --- detection -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConflictSubject:
    """A deal to check (already written and indexed), as detection needs it: bulk paths hold no model."""

    deal_id: int
    partner_id: int
    customer_name: str
    customer_domain: str
    blocking_keys: tuple[str, ...]
    pending: bool  # awaits the vendor's decision


@dataclass(frozen=True, slots=True)
class ConflictCandidate:
    """An open deal still in play (neither rejected nor expired): a possible rival."""

    id: int
    partner_id: int
    partner_name: str
    customer_key: str
    customer_name: str
    customer_domain: str
    registered_at: datetime.datetime
    approval_status: str

    @property
    def pending(self) -> bool:
        return self.approval_status in PENDING


_CANDIDATE_FIELDS = (
    "id",
    "partner_id",
    "partner__name",
    "customer_key",
    "customer_name",
    "customer_domain",
    "registered_at",
    "approval_status",
)


class CandidateCache:
    """What the conflict checks of one bulk writer read, kept for its later batches (read per batch, an
    import was quadratic) and kept current with the writer's own writes (``customer_indexed``,
    ``deal_written``). Writes by others during the import are seen for what was not read yet.

    At the first check the workspace's whole customer index and every deal in play are read (two
    queries; a batch then needs none): ``complete``. Past ``MAX_ENTRIES`` of either, they are read as
    needed instead: the customers of each blocking key, the deals in play of each customer reached, and
    — for the subjects that pair with pending rivals only — every deal awaiting a decision (few), with
    the keys of their customers' deals (the index cannot be read by customer)."""

    MAX_ENTRIES = 500_000

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._reset()

    def _reset(self) -> None:
        self.complete: bool | None = None  # whether everything below is held (None: not read yet)
        self.keys: dict[str, set[str]] = {}  # blocking key → customer keys (the keys read)
        self.deals: dict[str, dict[int, ConflictCandidate]] = {}  # customer → its deals in play
        self.pending: dict[str, dict[int, ConflictCandidate]] | None = None  # customer → deals awaiting
        self.pending_keys: dict[str, set[str]] = {}  # blocking key → customers in ``pending``
        self.pending_keyed: set[str] = set()  # the customers whose keys are in ``pending_keys``
        self.size = 0

    def load(self) -> None:
        """Read the whole index and every deal in play, unless either passes ``MAX_ENTRIES``."""
        limit = self.MAX_ENTRIES + 1
        index = CustomerKey.objects.filter(workspace_id=self.workspace_id).order_by()
        keys = list(index.values_list("key", "customer_key")[:limit])
        rows = Deal.objects.filter(workspace_id=self.workspace_id, stage__outcome=Outcome.OPEN)
        rows = rows.exclude(approval_status__in=OUT_OF_PLAY).order_by()
        deals = list(rows.values_list(*_CANDIDATE_FIELDS)[:limit]) if len(keys) < limit else []
        self.complete = len(keys) < limit and len(deals) < limit
        if not self.complete:
            return
        for key, customer in keys:
            self.keys.setdefault(key, set()).add(customer)
        self.pending = {}
        for row in deals:
            self.add(ConflictCandidate(*row))
        self.size = len(keys) + len(deals)

    def customers_of(self, keys: Iterable[str]) -> dict[str, set[str]]:
        """Blocking key → the customer keys it leads to (incomplete: one query for the keys not read)."""
        if self.complete:
            return self.keys
        missing = sorted(key for key in set(keys) if key not in self.keys)
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            for key in chunk:
                self.keys[key] = set()
            index = CustomerKey.objects.filter(workspace_id=self.workspace_id, key__in=chunk)
            for key, customer in index.values_list("key", "customer_key"):
                self.keys[key].add(customer)
                self.size += 1
        return self.keys

    def deals_of(self, customers: Iterable[str]) -> dict[str, dict[int, ConflictCandidate]]:
        """Customer key → its deals in play (incomplete: one query per 2,000 customers not read)."""
        if self.complete:
            return self.deals
        missing = sorted(customer for customer in customers if customer not in self.deals)
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            for customer in chunk:
                self.deals[customer] = {}
            for row in (
                _in_play(self.workspace_id).filter(customer_key__in=chunk).values_list(*_CANDIDATE_FIELDS)
            ):
                self.add(ConflictCandidate(*row))
        return self.deals

    def add(self, candidate: ConflictCandidate) -> None:
        """Keep a deal in play of a customer read (any, once complete)."""
        self.deals.setdefault(candidate.customer_key, {})[candidate.id] = candidate
        if candidate.pending and self.pending is not None:
            self.pending.setdefault(candidate.customer_key, {})[candidate.id] = candidate
        self.size += 1

    def pending_rivals(self) -> tuple[dict[str, set[str]], dict[str, dict[int, ConflictCandidate]]]:
        """(blocking key → customers, customer → deals) of every deal in play awaiting a decision.

        Incomplete: the deals read the first time (on the approval status index), the keys of customers
        new to them computed from those customers' deals, so a key only a variant no deal carries any
        more indexed (the index is only ever added to) does not lead to them here."""
        if self.pending is None:
            self.pending = {}
            awaiting = Deal.objects.filter(workspace_id=self.workspace_id, approval_status__in=PENDING)
            awaiting = awaiting.filter(stage__outcome=Outcome.OPEN).order_by()
            for row in awaiting.values_list(*_CANDIDATE_FIELDS):
                candidate = ConflictCandidate(*row)
                self.pending.setdefault(candidate.customer_key, {})[candidate.id] = candidate
                self.size += 1
        if self.complete:  # the index, narrowed to the customers awaiting a decision (few)
            waiting = {customer for customer, deals in self.pending.items() if deals}
            self.pending_keys = {
                key: found & waiting for key, found in self.keys.items() if not found.isdisjoint(waiting)
            }
        else:
            self._key_pending_customers()
        return self.pending_keys, self.pending

    def _key_pending_customers(self) -> None:
        missing = sorted(customer for customer in self.pending or () if customer not in self.pending_keyed)
        for start in range(0, len(missing), _CHUNK):
            variants = _in_workspace(self.workspace_id).filter(
                customer_key__in=missing[start : start + _CHUNK]
            )
            for customer, name, domain in variants.values_list(
                "customer_key", "customer_name", "customer_domain"
            ).distinct():
                found = deal_customer(name, domain)
                for key in found.blocking_keys if found is not None else ():
                    self.pending_keys.setdefault(key, set()).add(customer)
                    self.size += 1
        self.pending_keyed.update(missing)

    def customer_indexed(self, customer: str, keys: Iterable[str]) -> None:
        """The writer indexed ``customer`` under ``keys``."""
        for key in keys:
            if self.complete:
                self.keys.setdefault(key, set()).add(customer)
                continue
            found = self.keys.get(key)
            if found is not None:
                found.add(customer)
            if customer in self.pending_keyed:
                self.pending_keys.setdefault(key, set()).add(customer)

    def deal_written(self, deal_id: int, candidate: ConflictCandidate | None, was: str | None = None) -> None:
        """A deal written under customer ``was`` (None: new) is now ``candidate`` (None: out of play)."""
        if was is not None:
            self.deals.get(was, {}).pop(deal_id, None)
            if self.pending is not None:
                self.pending.get(was, {}).pop(deal_id, None)
        if candidate is None:
            return
        if self.complete or candidate.customer_key in self.deals:
            self.add(candidate)
        elif candidate.pending and self.pending is not None:
            self.pending.setdefault(candidate.customer_key, {})[deal_id] = candidate
            self.size += 1

    def trim(self) -> None:
        if self.size > 2 * self.MAX_ENTRIES:
            self._reset()


def _in_workspace(workspace_id: int) -> QuerySet[Deal]:
    """The workspace's deals, to be looked up by customer key: the workspace compared as
    ``workspace_id + 0``, since without statistics SQLite otherwise walks every deal of the workspace (an
    index led by it) instead of the customer key's index."""
    return Deal.objects.alias(in_workspace=F("workspace_id") + 0).filter(in_workspace=workspace_id).order_by()


def _in_play(workspace_id: int) -> QuerySet[Deal]:
    return (
        _in_workspace(workspace_id)
        .filter(stage__outcome=Outcome.OPEN)
        .exclude(approval_status__in=OUT_OF_PLAY)
    )


def conflicts_detect(*, deal: Deal) -> list[DealConflict]:
    """Score other partners' open registrations and pipeline deals for the same customer; store matches
    (registration and edits: every pair counts, the deal itself is being decided)."""
    subject = ConflictSubject(
        deal_id=deal.pk,
        partner_id=deal.partner_id,
        customer_name=deal.customer_name,
        customer_domain=deal.customer_domain,
        blocking_keys=tuple(matching.blocking_keys(deal.customer_name, deal.customer_domain)),
        pending=True,
    )
    return conflicts_detect_batch(workspace_id=deal.workspace_id, subjects=[subject])


def conflicts_detect_batch(
    *,
    workspace_id: int,
    subjects: Sequence[ConflictSubject],
    decided_pairs: bool = True,
    cache: CandidateCache | None = None,
) -> list[DealConflict]:
    """Check ``subjects`` (written and indexed) against the open deals of other partners, the subjects
    themselves included; returns the conflict rows stored or refreshed.

    ``decided_pairs=False`` skips a pair when neither deal awaits a decision (both approved already):
    bulk imports of CRM history use it, a conflict there informs no decision. Each subject scores at
    most ``CONFLICT_CANDIDATE_LIMIT`` candidates, the newest first. A bulk writer passes its ``cache``."""
    if not subjects:
        return []
    with unscoped():
        if cache is None and len(subjects) == 1:
            cache = _candidates_of_one(workspace_id, subjects[0])
        else:
            cache = cache or CandidateCache(workspace_id)
            if cache.complete is None:
                cache.load()
            deciding = [subject for subject in subjects if decided_pairs or subject.pending]
            keys = {key for subject in deciding for key in subject.blocking_keys}
            keyed = cache.customers_of(keys)
            cache.deals_of(set().union(*(keyed.get(key, ()) for key in keys)))
            if len(deciding) < len(subjects):
                cache.pending_rivals()
        pairs = _pairs(subjects, cache, decided_pairs)
        return _store(workspace_id, _score(pairs))


def _candidates_of_one(workspace_id: int, subject: ConflictSubject) -> CandidateCache:
    """A registration's candidates: the newest ``CONFLICT_CANDIDATE_LIMIT`` deals in play of other
    partners under its blocking keys (the cap applies to those, however much history exists)."""
    found = CandidateCache(workspace_id)
    keyed = found.customers_of(subject.blocking_keys)
    customers = sorted({customer for key in subject.blocking_keys for customer in keyed[key]})
    rivals = _in_play(workspace_id).exclude(partner_id=subject.partner_id).order_by("-registered_at")
    for start in range(0, len(customers), _CHUNK):
        chunk = customers[start : start + _CHUNK]
        for customer in chunk:
            found.deals[customer] = {}
        for row in rivals.filter(customer_key__in=chunk)[:CONFLICT_CANDIDATE_LIMIT].values_list(
            *_CANDIDATE_FIELDS
        ):
            found.add(ConflictCandidate(*row))
    return found


def _newest_first(candidate: ConflictCandidate) -> tuple[datetime.datetime, int]:
    return candidate.registered_at, candidate.id


def _pairs(
    subjects: Sequence[ConflictSubject], found: CandidateCache, decided_pairs: bool
) -> list[tuple[ConflictSubject, ConflictCandidate]]:
    """The (subject, candidate) pairs to score, each pair of deals once: when two subjects find each other,
    the later registration is the subject (the ``deal`` side), as had they been registered in turn."""
    pairs: dict[tuple[int, int], tuple[ConflictSubject, ConflictCandidate]] = {}
    empty: dict[int, ConflictCandidate] = {}
    for subject in subjects:
        keyed, rivals = found.keys, found.deals
        if not (decided_pairs or subject.pending):  # it pairs with rivals awaiting a decision only
            keyed, rivals = found.pending_keys, found.pending or {}
        customers = {customer for key in subject.blocking_keys for customer in keyed.get(key, ())}
        pool = [
            c
            for customer in customers
            for c in rivals.get(customer, empty).values()
            if c.partner_id != subject.partner_id
        ]
        pool.sort(key=_newest_first, reverse=True)
        for candidate in pool[:CONFLICT_CANDIDATE_LIMIT]:
            pair = (min(subject.deal_id, candidate.id), max(subject.deal_id, candidate.id))
            known = pairs.get(pair)
            # Found from both sides: ``known`` holds this subject as the other's candidate.
            if known is None or _newest_first(known[1]) > _newest_first(candidate):
                pairs[pair] = (subject, candidate)
    return list(pairs.values())


@lru_cache(maxsize=65_536)  # customers repeat within and across imports; matching is pure
def _compare(name_a: str, domain_a: str, name_b: str, domain_b: str) -> matching.Match:
    return matching.compare(name_a=name_a, domain_a=domain_a, name_b=name_b, domain_b=domain_b)


def _score(
    pairs: list[tuple[ConflictSubject, ConflictCandidate]],
) -> dict[tuple[int, int], tuple[Decimal, list[str]]]:
    """(deal id, other id) → the conflict row's values (score, reasons) for the pairs that match."""
    matches: dict[tuple[int, int], tuple[Decimal, list[str]]] = {}
    for subject, other in pairs:
        result = _compare(
            subject.customer_name, subject.customer_domain, other.customer_name, other.customer_domain
        )
        if not result.is_conflict:
            continue
        reasons = list(result.reasons)
        if other.approval_status == ApprovalStatus.APPROVED:
            reasons.append(f"{other.partner_name} holds an approved registration (in the pipeline)")
        else:
            reasons.append(f"{other.partner_name} has an open registration awaiting a decision")
        matches[(subject.deal_id, other.id)] = (Decimal(str(round(result.score, 4))), reasons)
    return matches


def _store(
    workspace_id: int, matches: dict[tuple[int, int], tuple[Decimal, list[str]]]
) -> list[DealConflict]:
    """Write the matches: a pair already stored, in either direction, is refreshed (its status kept), the
    others are added. A re-check of the earlier deal (an edit) updates the row its later rival created
    instead of storing the pair a second time in the other direction."""
    if not matches:
        return []
    subjects = sorted({deal_id for deal_id, _ in matches})
    rows = DealConflict.objects.filter(workspace_id=workspace_id)
    rows = rows.filter(Q(deal_id__in=subjects) | Q(other_id__in=subjects))
    stored = {(row.deal_id, row.other_id): row for row in rows}
    found: list[DealConflict] = []
    changed: list[DealConflict] = []
    added: list[DealConflict] = []
    for (deal_id, other_id), (score, reasons) in matches.items():
        row = stored.get((other_id, deal_id)) or stored.get((deal_id, other_id))
        if row is None:
            row = DealConflict(
                workspace_id=workspace_id, deal_id=deal_id, other_id=other_id, score=score, reasons=reasons
            )
            added.append(row)
        elif (row.score, row.reasons) != (score, reasons):
            row.score, row.reasons = score, reasons
            changed.append(row)
        found.append(row)
    DealConflict.objects.bulk_create(added, batch_size=1_000)
    DealConflict.objects.bulk_update(changed, ["score", "reasons"], batch_size=500)
    return found
