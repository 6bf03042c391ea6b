"""The running state of the periods a batch touches, read from the ledger before the engine continues
them (``selectors.running.ledger_state``: tier volume and counts net of refunds and of sources that no
longer count, what each cap's period has earned net of reversals; rejected rows count for nothing)."""

from __future__ import annotations

import datetime
from collections import defaultdict

from openprm.commissions import engine
from openprm.commissions.selectors.running import ledger_state
from openprm.commissions.selectors.running import refunded_shares as refunded_shares
from openprm.commissions.services import sources as src
from openprm.commissions.services.context import Context


def load_state(
    ctx: Context, todo: list[src.Source], *, before: datetime.datetime | None = None
) -> engine.State:
    """The running totals of the periods ``todo`` touches, from the ledger (tiers, thresholds, caps);
    only entries that occurred before ``before`` when given (a replay starts from there)."""
    if not todo or not ctx.stateful():
        return engine.State()
    periods: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for versions in ctx.versions.values():
        for _, _, plan in versions:
            for rule in plan.rules:
                if rule.reward in ("tiered", "threshold") or rule.cap_period is not None:
                    periods[rule.key].add((rule.period, rule.cap_period_kind))
    return ledger_state(
        workspace_id=ctx.workspace_id,
        partners={s.partner_id for s in todo},
        periods=periods,
        earliest=min(engine.period_start(s.occurred_at.date(), "year") for s in todo),
        before=before,
    )
