"""The finance pages, one module per topic: ``records`` (a list with filters and totals, and the add/edit
form, per kind of record) and ``fx`` (exchange rates: list, manual entry)."""
