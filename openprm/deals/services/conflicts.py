"""Conflict detection: a deal's customer is indexed by blocking keys, and other partners' open deals for the
same customer (as ``deals.matching`` judges it) are stored as ``DealConflict`` rows.

One implementation serves one deal (registration and edits: :func:`conflicts_detect`) and a batch (the
bulk service: :func:`conflicts_detect_batch`): the subjects' blocking keys lead through the
``CustomerKey`` index to the candidate deals in one query, the candidates are scored in Python
(``matching.prepare`` / ``compare_prepared``, each distinct pair of customer records once), and the
matches are written with bulk statements, one row per pair of deals whichever side found it.

Runs across the whole workspace whatever the actor may see: a partner must not learn of other partners'
deals, but their registration must still be checked against them.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.db.models import Q

from openprm.core.domains import normalize_domain
from openprm.core.scoping import unscoped
from openprm.deals import matching
from openprm.deals.models import ApprovalStatus, CustomerKey, Deal, DealConflict, Outcome

CONFLICT_CANDIDATE_LIMIT = 200
"""Other partners' open deals scored per checked deal, newest first, however much history exists."""
PENDING = (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO)  # awaiting the vendor's decision
OUT_OF_PLAY = (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)  # never a rival


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
    with unscoped():
        CustomerKey.objects.bulk_create(
            (
                CustomerKey(workspace_id=workspace_id, key=key[:120], customer_key=customer)
                for customer, keys in customers
                for key in sorted(set(keys))
            ),
            batch_size=2_000,
            ignore_conflicts=True,
        )


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
class _Candidate:
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
    *, workspace_id: int, subjects: Sequence[ConflictSubject], decided_pairs: bool = True
) -> list[DealConflict]:
    """Check ``subjects`` (written and indexed) against the open deals of other partners, the subjects
    themselves included; returns the conflict rows stored or refreshed.

    ``decided_pairs=False`` skips a pair when neither deal awaits a decision (both approved already):
    bulk imports of CRM history use it, a conflict there informs no decision. Each subject scores at
    most ``CONFLICT_CANDIDATE_LIMIT`` candidates, the newest first."""
    if not subjects:
        return []
    with unscoped():
        keyed, candidates = _candidates(workspace_id, subjects, decided_pairs)
        pairs = _pairs(subjects, keyed, candidates, decided_pairs)
        matches = _score(pairs)
        return _store(workspace_id, matches)


def _candidates(
    workspace_id: int, subjects: Sequence[ConflictSubject], decided_pairs: bool
) -> tuple[dict[str, list[str]] | None, dict[str, list[_Candidate]]]:
    """Blocking key → customer keys (None for a single subject: every candidate is its own), and the
    open deals still in play under those customer keys, by customer key: one query (two for a batch)."""
    keys = sorted({key for subject in subjects for key in subject.blocking_keys})
    index = CustomerKey.objects.filter(workspace_id=workspace_id, key__in=keys)
    query = (
        Deal.objects.filter(
            workspace_id=workspace_id,
            customer_key__in=index.values("customer_key"),
            stage__outcome=Outcome.OPEN,
        )
        .exclude(approval_status__in=OUT_OF_PLAY)
        .order_by()
    )
    if not decided_pairs and not any(subject.pending for subject in subjects):
        query = query.filter(approval_status__in=PENDING)  # only a pending rival can make a pair
    keyed: dict[str, list[str]] | None = None
    if len(subjects) == 1:  # the cap applies to open deals of other partners, however much history exists
        query = query.exclude(partner_id=subjects[0].partner_id).order_by("-registered_at")
        query = query[:CONFLICT_CANDIDATE_LIMIT]
    else:
        keyed = defaultdict(list)
        for key, customer in index.values_list("key", "customer_key"):
            keyed[key].append(customer)
    by_customer: dict[str, list[_Candidate]] = defaultdict(list)
    for row in query.values_list(*_CANDIDATE_FIELDS):
        candidate = _Candidate(*row)
        by_customer[candidate.customer_key].append(candidate)
    return keyed, by_customer


def _newest_first(candidate: _Candidate) -> tuple[datetime.datetime, int]:
    return candidate.registered_at, candidate.id


def _pairs(
    subjects: Sequence[ConflictSubject],
    keyed: dict[str, list[str]] | None,
    candidates: dict[str, list[_Candidate]],
    decided_pairs: bool,
) -> list[tuple[ConflictSubject, _Candidate]]:
    """The (subject, candidate) pairs to score, each pair of deals once: when two subjects find each other,
    the later registration is the subject (the ``deal`` side), as had they been registered in turn."""
    registered = {c.id: _newest_first(c) for group in candidates.values() for c in group}
    pairs: dict[tuple[int, int], tuple[ConflictSubject, _Candidate]] = {}
    for subject in subjects:
        if keyed is None:
            pool = [c for group in candidates.values() for c in group]
        else:
            customers = {customer for key in subject.blocking_keys for customer in keyed.get(key, ())}
            pool = [c for customer in customers for c in candidates[customer]] if customers else []
        pool = [
            c
            for c in pool
            if c.partner_id != subject.partner_id and (decided_pairs or subject.pending or c.pending)
        ]
        pool.sort(key=_newest_first, reverse=True)
        for candidate in pool[:CONFLICT_CANDIDATE_LIMIT]:
            pair = (min(subject.deal_id, candidate.id), max(subject.deal_id, candidate.id))
            found = pairs.get(pair)
            # Found from both sides: both are subjects, and so candidates of each other (registered).
            if found is None or registered[subject.deal_id] > registered[found[0].deal_id]:
                pairs[pair] = (subject, candidate)
    return list(pairs.values())


@lru_cache(maxsize=65_536)  # customers repeat within and across imports; matching is pure
def _compare(name_a: str, domain_a: str, name_b: str, domain_b: str) -> matching.Match:
    return matching.compare(name_a=name_a, domain_a=domain_a, name_b=name_b, domain_b=domain_b)


def _score(
    pairs: list[tuple[ConflictSubject, _Candidate]],
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
