"""Commission writes, one module per topic: plans (drafts, versions, assignments), accrual (sources →
engine → ledger), ledger (approvals, holds, adjustments), replay, simulate (what-if, forecast), payouts,
details and statements. Sources and context are the accrual's readers of other apps' rows."""
