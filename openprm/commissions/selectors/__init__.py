"""Commission reads, one module per topic: plans, ledger, balances (staff), payouts, statements, and the
portal's own partner-scoped reads (``portal``)."""
