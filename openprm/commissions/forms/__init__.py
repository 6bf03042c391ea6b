"""Forms of the commissions pages, one module per topic."""
