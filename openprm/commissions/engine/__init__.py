"""The commission rule engine: pure functions over plain data, no database.

``compile_rules`` turns a validated rules document into a :class:`Plan` of plain tuples once per version;
``evaluate`` takes one source event's :class:`Facts` and the running :class:`State` (per partner, rule and
period: matched volume, count, amount earned) and returns an :class:`Outcome` — the ledger lines and the
explanation of every rule (matched, or the conditions that failed; the cap that trimmed it). The same
events in the same order give the same lines, to the cent (replay)."""

from openprm.commissions.engine.evaluate import evaluate, override_amounts
from openprm.commissions.engine.types import (
    CENT,
    CompiledRule,
    Facts,
    Line,
    Outcome,
    Plan,
    State,
    cents,
    compile_rules,
    period_start,
)

__all__ = [
    "CENT",
    "CompiledRule",
    "Facts",
    "Line",
    "Outcome",
    "Plan",
    "State",
    "cents",
    "compile_rules",
    "evaluate",
    "override_amounts",
    "period_start",
]
