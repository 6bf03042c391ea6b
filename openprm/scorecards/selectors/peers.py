"""What a scorecard needs of the partner's peers — the program members' figures, each metric's percentile,
every member's overall score and rank — computed once per program, period and data version and shared by
every scorecard of the program (``metrics.dataversion``): one partner's scorecard at 2,000 partners reads
them instead of scoring the whole program again."""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openprm.core.actors import Actor
from openprm.metrics import dataversion, figures
from openprm.metrics.engine import Table, Value
from openprm.metrics.periods import Period
from openprm.scorecards import scoring
from openprm.scorecards.scoring import Config

NO_VALUE = Value(None)


def value_of(value: Value) -> Decimal | None:
    """A figure as a number (None when missing or a date)."""
    raw = value.value
    if raw is None or isinstance(raw, datetime.date):
        return None
    return raw if isinstance(raw, Decimal) else Decimal(str(raw))


def peer_table(peers: Actor, keys: Sequence[str], period: Period, members: Sequence[int]) -> Table:
    """The program members' figures (read with the workspace's system actor), kept while the data is
    unchanged (``metrics.dataversion``): every scorecard of the program reads the same table."""
    return dataversion.cached(
        peers.workspace_id,
        ("scorecards.figures", tuple(keys), period.key, tuple(members)),
        lambda: figures.metric_table(actor=peers, keys=keys, period=period, partners=members, totals=False),
    )


@dataclass(frozen=True)
class PeerScores:
    """What every member's scorecard needs of its peers: each metric's percentile per partner, each
    partner's overall score, and the ranks (1 = best; ties share a rank)."""

    shares: dict[str, dict[int, Decimal]]
    overall: dict[int, Decimal | None]
    ranks: dict[int, int]


def peer_scores(
    config: Config, ids: Sequence[int], table: Table, targets: dict[int, dict[str, Decimal]]
) -> PeerScores:
    shares = {
        key: scoring.percentiles(
            {pid: value_of(table.value(pid, key)) for pid in ids}, lower=scoring.lower_is_better(key)
        )
        for key in config.keys
    }
    specs = [spec for d in config.dimensions for spec in d.metrics]
    overall: dict[int, Decimal | None] = {}
    for pid in ids:
        row, own = table.rows.get(pid, {}), targets[pid]
        scores = {
            s.key: scoring.score_only(
                s,
                value=row.get(s.key, NO_VALUE).value,
                missing=row.get(s.key, NO_VALUE).missing,
                target=own.get(s.key),
                percentile=shares[s.key].get(pid),
                cap=config.cap,
            )
            for s in specs
        }
        overall[pid] = scoring.overall_only(config, scores)
    ranked = sorted(o for o in overall.values() if o is not None)
    ranks = {
        pid: 1 + len(ranked) - bisect.bisect_right(ranked, o) for pid, o in overall.items() if o is not None
    }
    return PeerScores(shares, overall, ranks)
