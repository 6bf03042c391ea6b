"""Process tuning of a long-running server process, once the application is loaded."""

from __future__ import annotations

import gc


def settle() -> None:
    """Load the URL configuration (and with it every view and API module) now, then move everything
    loaded so far out of the garbage collector's reach (``gc.freeze``): those objects live as long as the
    process, and a full collection would otherwise walk all of them again and again while requests that
    build many objects (a 2,000-partner scorecard table) run — and, loaded before gunicorn forks, they stay
    shared between the workers instead of being copied by the collector's writes."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the views and the API
    gc.collect()
    gc.freeze()
