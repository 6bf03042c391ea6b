"""Per-endpoint input/output schemas of the activity API, one module per topic (the bases they share are
in ``openprm.core.schemas``)."""
