"""Commission plans and rules (versioned, effective-dated), the append-only ledger, payouts, statements."""
