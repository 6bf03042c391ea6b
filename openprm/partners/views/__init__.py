"""Staff pages of the partners app, one module per topic (``partners.urls`` routes to them): partners,
contacts, agreements, programs and the settings page. Parse → call one service/selector → render."""
