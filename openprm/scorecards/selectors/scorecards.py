"""Scorecards: each partner scored over a period against its targets or its program's peers, weighted by the
program's configuration, ranked, and judged against the program's tier criteria.

Every figure comes from ``metrics.figures.metric_table``. A partner's score must not depend on who looks at
it, so the peers a percentile and a rank band are computed over are *all* the live partners of the program,
read with the workspace's system actor (``_peers``: the one place this app crosses the viewer's scope);
what leaves here is only the viewed partners' own figures, scores and rank bands — never a peer's name or
figure.

The program a partner is scored in is its *home* program: its first enrolment, the default program first.
Partners in no program are scored together under the default configuration.

Metrics built on internal figures (partnership costs, the company's revenue: ``figures.staff_only``) are
staff-only, and this module is where partner users are kept from them, so that every caller (pages, API,
portal, exports) gets the same answer: for a partner user, :func:`scorecard` and :func:`tier_progress` keep
such a metric's place in the card but carry no value, target, attainment, percentile, score or points
(:data:`INTERNAL_FIGURE`), and a tier criterion on one reads as met or not met only — no metric, value,
minimum or gap (:data:`REQUIREMENT`), in the checks and in the recommendation's reasons and gaps alike.
The scores themselves are the program's rule and do not change with the viewer: the overall score (and a
dimension's) still counts the internal metric. :func:`scorecard_table` carries no metric's own figure.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.scoping import scope
from openprm.metrics import dataversion, figures
from openprm.metrics.engine import Table, Value
from openprm.metrics.periods import Period
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner, PartnerProgram, Tier
from openprm.scorecards import scoring, tiers
from openprm.scorecards.models import Target, TierCriterion
from openprm.scorecards.scoring import Config, DimensionScore, MetricScore
from openprm.scorecards.selectors.config import config_for
from openprm.scorecards.selectors.peers import NO_VALUE, peer_scores, peer_table
from openprm.scorecards.selectors.peers import value_of as _value
from openprm.scorecards.tiers import Recommendation

KEY_FIGURES = ("won_revenue", "pipeline_value", "win_rate")
"""Figures every scorecard row carries next to the scores."""

INTERNAL_FIGURE = "internal figure"
"""What a partner user reads in place of an internal metric's value on a scorecard."""
REQUIREMENT = "Requirement set by your partner manager"
"""What a partner user reads in place of a tier criterion on an internal metric."""
REQUIREMENT_KEY = "program_requirement"
"""The ``metric`` of such a criterion's check as a partner user gets it (not a catalogued metric)."""


@contextmanager
def _peers(actor: Actor) -> Iterator[Actor]:
    """The workspace-wide actor percentiles and ranks are computed with (see the module docstring)."""
    peers = Actor.system(actor.workspace_id, label="scorecards")
    with scope(peers.access_scope()):
        yield peers


def today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


# ------------------------------------------------------------------------------------------------ results


@dataclass
class Scorecard:
    partner_id: int
    partner_public_id: Any
    partner_name: str
    program: str | None
    tier: str | None
    period: Period
    overall: Decimal | None
    dimensions: list[DimensionScore]
    recommendation: Recommendation
    rank_band: str
    peers: int  # partners of the program with an overall score
    cap: int
    figures: dict[str, Value] = field(default_factory=dict)
    withheld: frozenset[str] = frozenset()  # metrics shown without figures (internal, to a partner user)


@dataclass
class ScorecardRow:
    partner_id: int
    public_id: Any
    name: str
    program: str | None
    tier: str | None
    overall: Decimal | None
    dimensions: dict[str, Decimal | None]
    figures: dict[str, Value]
    recommendation: str  # promote, keep, demote, assign, none
    recommended_tier: str | None
    rank: int | None  # 1 = best of its program
    rank_band: str


@dataclass(frozen=True)
class TierProgress:
    partner_name: str
    program: str | None
    period: Period
    current: str | None
    next_tier: str | None
    recommendation: Recommendation
    current_checks: tuple[tiers.CriterionCheck, ...]  # the criteria of the current tier
    next_checks: tuple[tiers.CriterionCheck, ...]  # the criteria of the next tier, met or with the gap


# ----------------------------------------------------------------------------------------------- the core


@dataclass
class _Enrolments:
    home: dict[int, int | None]  # partner -> home program (None: none)
    tiers: dict[int, dict[int, int | None]]  # partner -> program -> tier
    members: dict[int | None, list[int]]  # program -> its live partners (None: the unenrolled)
    programs: dict[int, str]  # program -> name
    tier_names: dict[int, str]


def _enrolments() -> _Enrolments:
    """Every live partner's enrolments (2 queries of plain values; run inside :func:`_peers`)."""
    rows = (
        PartnerProgram.objects.filter(partner__archived_at__isnull=True)
        .order_by("-program__is_default", "program__name", "program_id")
        .values_list("partner_id", "program_id", "tier_id", "program__name", "tier__name")
    )
    out = _Enrolments({}, defaultdict(dict), defaultdict(list), {}, {})
    for partner_id, program_id, tier_id, program_name, tier_name in rows:
        out.programs[program_id] = program_name
        if tier_id is not None:
            out.tier_names[tier_id] = tier_name
        out.tiers[partner_id][program_id] = tier_id
        out.members[program_id].append(partner_id)
        out.home.setdefault(partner_id, program_id)
    for pid in Partner.objects.filter(archived_at__isnull=True).order_by().values_list("pk", flat=True):
        if pid not in out.home:
            out.home[pid] = None
            out.members[None].append(pid)
    return out


def effective_targets(
    period_key: str, enrolments: _Enrolments, partner_ids: Sequence[int]
) -> dict[int, dict[str, Decimal]]:
    """partner -> metric -> target value over ``period_key``: the program's, overridden by the tier's,
    overridden by the partner's own (home program last so that it wins)."""
    own: dict[int, dict[str, Decimal]] = defaultdict(dict)
    by_tier: dict[int, dict[str, Decimal]] = defaultdict(dict)
    by_program: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for key, partner_id, tier_id, program_id, value in Target.objects.filter(period=period_key).values_list(
        "metric", "partner_id", "tier_id", "program_id", "value"
    ):
        if partner_id is not None:
            own[partner_id][key] = value
        elif tier_id is not None:
            by_tier[tier_id][key] = value
        elif program_id is not None:
            by_program[program_id][key] = value
    out: dict[int, dict[str, Decimal]] = {}
    for pid in partner_ids:
        merged: dict[str, Decimal] = {}
        for enrolled, tier in reversed(list(enrolments.tiers.get(pid, {}).items())):
            merged.update(by_program.get(enrolled, {}))
            if tier is not None:
                merged.update(by_tier.get(tier, {}))
        merged.update(own.get(pid, {}))
        out[pid] = merged
    return out


@dataclass
class _Program:
    program_id: int | None
    config: Config
    members: list[int]
    scored: dict[int, scoring.Scored]
    ranks: dict[int, int]
    rules: dict[int, list[tiers.TierRule]]  # partner -> the program's tiers with the partner's checks


def _score_programs(
    *,
    peers: Actor,
    period: Period,
    programs: set[int | None],
    enrolments: _Enrolments,
    extra: Sequence[str],
    full: Collection[int] | None = None,
) -> tuple[dict[int | None, _Program], Table]:
    """Score every member of ``programs`` over ``period`` with one metric_table call (plus one per other
    period grain that tier criteria use). Only the partners of ``full`` (all when None) get their
    dimensions and tier rules; the other members get the overall score their ranks need."""
    configs = {p: config_for(program_id=p) for p in programs}
    criteria = _criteria(programs)
    # the criteria over ``period`` itself are read from this table too: it must hold their metrics
    judged = [
        c.metric
        for c in criteria
        if c.metric != TierCriterion.OVERALL and Period.of(c.grain, period.start).key == period.key
    ]
    keys = list(dict.fromkeys([k for c in configs.values() for k in c.keys] + list(extra) + judged))
    members = sorted({pid for p in programs for pid in enrolments.members.get(p, [])})
    table = peer_table(peers, keys, period, members)
    targets = effective_targets(period.key, enrolments, members)
    out: dict[int | None, _Program] = {}
    for program_id in programs:
        config = configs[program_id]
        ids = enrolments.members.get(program_id, [])
        peer = dataversion.cached(
            peers.workspace_id,
            ("scorecards.peers", program_id, period.key, tuple(keys), tuple(ids)),
            lambda config=config, ids=ids: peer_scores(config, ids, table, targets),  # type: ignore[misc]
        )
        scored: dict[int, scoring.Scored] = {}
        specs = [spec for d in config.dimensions for spec in d.metrics]
        for pid in ids:
            if full is None or pid in full:
                row, own = table.rows.get(pid, {}), targets[pid]
                explained = {
                    s.key: scoring.score_metric(
                        s,
                        value=row.get(s.key, NO_VALUE).value,
                        missing=row.get(s.key, NO_VALUE).missing,
                        target=own.get(s.key),
                        percentile=peer.shares[s.key].get(pid),
                        cap=config.cap,
                    )
                    for s in specs
                }
                scored[pid] = scoring.weigh(config, explained)
            else:  # a peer: its overall score only
                scored[pid] = scoring.Scored(peer.overall[pid], [])
        out[program_id] = _Program(program_id, config, ids, scored, peer.ranks, {})
    _judge_tiers(peers=peers, period=period, programs=out, table=table, criteria=criteria, full=full)
    return out, table


def _criteria(programs: set[int | None]) -> list[TierCriterion]:
    """The tier criteria of ``programs`` (one query)."""
    ids = [p for p in programs if p is not None]
    return list(
        TierCriterion.objects.filter(tier__program_id__in=ids)
        .select_related("tier")
        .order_by("tier__rank", "metric", "id")
    )


def _judge_tiers(
    *,
    peers: Actor,
    period: Period,
    programs: dict[int | None, _Program],
    table: Table,
    criteria: list[TierCriterion],
    full: Collection[int] | None = None,
) -> None:
    """Fill each program's tier rules per partner from the tier criteria (``table`` holds the metrics of
    those over ``period``; one metric_table per other period grain that they use)."""
    ids = [p for p in programs if p is not None]
    program_tier_rows = list(Tier.objects.filter(program_id__in=ids).order_by("rank"))
    currency = _currency(peers)
    periods: dict[str, Period] = {}
    for c in criteria:
        grain_period = Period.of(c.grain, period.start)
        periods.setdefault(grain_period.key, grain_period)
    tables: dict[str, Table] = {period.key: table}
    for key, grain_period in periods.items():
        if key in tables:
            continue
        needed = sorted({c.metric for c in criteria if c.metric != TierCriterion.OVERALL})
        members = sorted({pid for p in ids for pid in programs[p].members})
        if needed:
            tables[key] = figures.metric_table(
                actor=peers, keys=needed, period=grain_period, partners=members, totals=False
            )
    by_tier: dict[int, list[TierCriterion]] = defaultdict(list)
    grain_periods = {c.pk: Period.of(c.grain, period.start) for c in criteria}
    for c in criteria:
        by_tier[c.tier_id].append(c)
    for program_id in ids:
        program = programs[program_id]
        program_tiers = [t for t in program_tier_rows if t.program_id == program_id]
        for pid in program.members:
            if full is not None and pid not in full:
                continue
            rules = []
            for tier in program_tiers:
                checks = []
                for c in by_tier.get(tier.pk, ()):
                    grain_period = grain_periods[c.pk]
                    if c.metric == TierCriterion.OVERALL:
                        value: Any = program.scored[pid].overall
                        shown = period
                    else:
                        found = tables.get(grain_period.key)
                        cell = found.value(pid, c.metric) if found is not None else Value(None)
                        value = None if cell.missing else cell.value
                        shown = grain_period
                    checks.append(
                        tiers.check_criterion(
                            c.metric, c.minimum, value, grain=c.grain, period=shown.key, currency=currency
                        )
                    )
                rules.append(tiers.TierRule(tier.pk, tier.name, tier.rank, tuple(checks)))
            program.rules[pid] = rules


def _currency(actor: Actor) -> str:
    from openprm.core.models import Workspace

    return Workspace.objects.filter(pk=actor.workspace_id).values_list("currency", flat=True).first() or "USD"


def _recommendation(
    program: _Program, enrolments: _Enrolments, pid: int, rules: list[tiers.TierRule] | None = None
) -> Recommendation:
    """The tier recommendation from the partner's tier rules (``rules``: as shown to the viewer)."""
    if program.program_id is None:
        return Recommendation("none", None, None, None, ("Not enrolled in a program.",), ())
    current = enrolments.tiers.get(pid, {}).get(program.program_id)
    return tiers.recommend(program.rules.get(pid, []) if rules is None else rules, current)


# ------------------------------------------------------------------------------- what partner users see


def _shown_metric(m: MetricScore) -> MetricScore:
    """An internal metric's score as a partner user sees it: its place, method and share of the overall
    score (so that the page says whether it counted), never its value, target or score."""
    return dataclasses.replace(
        m,
        value=None,
        missing=INTERNAL_FIGURE,
        target=None,
        attainment=None,
        percentile=None,
        score=None,
        contribution=None,
        note=INTERNAL_FIGURE,
    )


def _shown_dimensions(dimensions: list[DimensionScore], withheld: frozenset[str]) -> list[DimensionScore]:
    return [
        dataclasses.replace(d, metrics=[_shown_metric(m) if m.key in withheld else m for m in d.metrics])
        if any(m.key in withheld for m in d.metrics)
        else d
        for d in dimensions
    ]


def _shown_check(c: tiers.CriterionCheck) -> tiers.CriterionCheck:
    """A criterion on an internal metric as a partner user sees it: met or not, nothing else."""
    return tiers.CriterionCheck(
        metric=REQUIREMENT_KEY,
        label=REQUIREMENT,
        minimum=None,
        grain=c.grain,
        period=c.period,
        value=None,
        met=c.met,
        gap=None,
        text="" if c.met else f"meet a {REQUIREMENT.lower()}",
    )


def _shown_rules(rules: list[tiers.TierRule]) -> list[tiers.TierRule]:
    return [
        dataclasses.replace(
            r,
            checks=tuple(_shown_check(c) if figures.staff_only(c.metric) else c for c in r.checks),
        )
        for r in rules
    ]


def _names(program: _Program, enrolments: _Enrolments, pid: int) -> tuple[str | None, str | None]:
    if program.program_id is None:
        return None, None
    tier_id = enrolments.tiers.get(pid, {}).get(program.program_id)
    return enrolments.programs[program.program_id], enrolments.tier_names.get(tier_id) if tier_id else None


def _require_visible(actor: Actor, partner: Partner) -> None:
    """Partner.DoesNotExist unless the actor may see the partner (the same answer as a missing one)."""
    actor.require(Perm.PARTNER_VIEW)
    if actor.is_partner_user and partner.pk != actor.partner_id:
        raise Partner.DoesNotExist
    if not Partner.objects.filter(pk=partner.pk).exists():
        raise Partner.DoesNotExist


# ------------------------------------------------------------------------------------------------ selectors


def scorecard(*, actor: Actor, partner: Partner, period: Period) -> Scorecard:
    """One partner's scorecard over ``period``: dimensions and metrics with value, target, score and
    contribution, the overall score, the tier recommendation and the rank band within its program (for a
    partner user, without internal figures: see the module docstring)."""
    return _card(actor, partner, period)[0]


def _card(actor: Actor, partner: Partner, period: Period) -> tuple[Scorecard, list[tiers.TierRule]]:
    _require_visible(actor, partner)
    with _peers(actor) as peers:
        enrolments = _enrolments()
        home = enrolments.home.get(partner.pk)
        programs, table = _score_programs(
            peers=peers,
            period=period,
            programs={home},
            enrolments=enrolments,
            extra=KEY_FIGURES,
            full={partner.pk},
        )
    program = programs[home]
    scored = program.scored[partner.pk]
    program_name, tier_name = _names(program, enrolments, partner.pk)
    rank = program.ranks.get(partner.pk)
    rules = program.rules.get(partner.pk, [])
    dimensions = scored.dimensions
    withheld: frozenset[str] = frozenset()
    if actor.is_partner_user:  # see the module docstring
        withheld = frozenset(m.key for d in dimensions for m in d.metrics if figures.staff_only(m.key))
        rules, dimensions = _shown_rules(rules), _shown_dimensions(dimensions, withheld)
    card = Scorecard(
        partner_id=partner.pk,
        partner_public_id=partner.public_id,
        partner_name=partner.name,
        program=program_name,
        tier=tier_name,
        period=period,
        overall=scored.overall,
        dimensions=dimensions,
        recommendation=_recommendation(program, enrolments, partner.pk, rules),
        rank_band=scoring.rank_band(rank, len(program.ranks)) if rank else "",
        peers=len(program.ranks),
        cap=program.config.cap,
        figures={k: table.value(partner.pk, k) for k in KEY_FIGURES},
        withheld=withheld,
    )
    return card, rules


def scorecard_table(
    *, actor: Actor, period: Period, filters: PartnerFilters | None = None, sort: str = "-overall"
) -> list[ScorecardRow]:
    """Every visible partner matching ``filters``: overall and dimension scores, key figures, the tier
    recommendation and the rank band, sorted by ``sort`` (overall, name, program, tier, a dimension key or a
    key figure; ``-`` for descending)."""
    visible = figures.partner_ids(actor=actor, filters=filters)
    found = (
        list(Partner.objects.filter(pk__in=visible).values_list("pk", "name", "public_id")) if visible else []
    )
    names = {pk: name for pk, name, _ in found}
    public = {pk: public_id for pk, _, public_id in found}
    with _peers(actor) as peers:
        enrolments = _enrolments()
        homes = {enrolments.home.get(pid) for pid in visible}
        programs, table = dataversion.cached(  # the whole table's scoring, kept while the data is unchanged
            actor.workspace_id,
            ("scorecards.table", tuple(sorted(homes, key=str)), period.key, tuple(sorted(visible))),
            lambda: _score_programs(
                peers=peers,
                period=period,
                programs=homes,
                enrolments=enrolments,
                extra=KEY_FIGURES,
                full=set(visible),
            ),
        )
    rows: list[ScorecardRow] = []
    for pid in visible:
        program = programs[enrolments.home.get(pid)]
        scored = program.scored.get(pid)
        if scored is None:
            continue
        program_name, tier_name = _names(program, enrolments, pid)
        rec = _recommendation(program, enrolments, pid)
        rank = program.ranks.get(pid)
        rows.append(
            ScorecardRow(
                partner_id=pid,
                public_id=public[pid],
                name=names[pid],
                program=program_name,
                tier=tier_name,
                overall=scored.overall,
                dimensions={d.key: d.score for d in scored.dimensions},
                figures={k: table.value(pid, k) for k in KEY_FIGURES},
                recommendation=rec.action,
                recommended_tier=rec.recommended,
                rank=rank,
                rank_band=scoring.rank_band(rank, len(program.ranks)) if rank else "",
            )
        )
    return sort_rows(rows, sort)


SORT_KEYS = ("overall", "name", "program", "tier", *scoring.DIMENSIONS, *KEY_FIGURES)


def sort_rows(rows: list[ScorecardRow], sort: str) -> list[ScorecardRow]:
    """``rows`` by ``sort``; rows without the value last whichever the direction, ties by name."""
    descending = sort.startswith("-")
    key = sort.lstrip("-") if sort.lstrip("-") in SORT_KEYS else "overall"

    def value(row: ScorecardRow) -> Any:
        if key == "overall":
            return row.overall
        if key in ("name", "program", "tier"):
            found = getattr(row, key)
            return found.lower() if found else None
        if key in scoring.DIMENSIONS:
            return row.dimensions.get(key)
        return _value(row.figures[key])

    present = [r for r in rows if value(r) is not None]
    absent = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: r.name.lower())
    present.sort(key=value, reverse=descending)
    absent.sort(key=lambda r: r.name.lower())
    return present + absent


def tier_progress(*, actor: Actor, partner: Partner, period: Period) -> TierProgress:
    """The partner's current tier, the next one, and each criterion of both met or with its gap (for a
    partner user, a criterion on an internal metric is met or not met only: see the module docstring)."""
    return _progress(partner, period, *_card(actor, partner, period))


def scorecard_with_progress(
    *, actor: Actor, partner: Partner, period: Period
) -> tuple[Scorecard, TierProgress]:
    """:func:`scorecard` and :func:`tier_progress` together, the program scored once (a page showing both)."""
    card, rules = _card(actor, partner, period)
    return card, _progress(partner, period, card, rules)


def _progress(partner: Partner, period: Period, card: Scorecard, rules: list[tiers.TierRule]) -> TierProgress:
    current = next((r for r in rules if r.name == card.tier), None)
    following = next((r for r in rules if r.name == card.recommendation.next_tier), None)
    return TierProgress(
        partner_name=partner.name,
        program=card.program,
        period=period,
        current=card.tier,
        next_tier=card.recommendation.next_tier,
        recommendation=card.recommendation,
        current_checks=current.checks if current else (),
        next_checks=following.checks if following else (),
    )
