"""Keep the collected static files in step with the code, so `prm serve` never answers 500 for a missing
manifest entry (a fresh PRM_VAR_DIR, or a static file added since the last collectstatic)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command

MANIFEST = "staticfiles.json"


def static_is_stale() -> bool:
    """True when the manifest is missing or older than a static file of the project or its packages."""
    manifest = Path(settings.STATIC_ROOT) / MANIFEST
    if not manifest.exists():
        return True
    collected = manifest.stat().st_mtime
    for finder in get_finders():
        for path, storage in finder.list([]):
            if Path(storage.path(path)).stat().st_mtime > collected:
                return True
    return False


def static_collect_if_stale() -> bool:
    """Run collectstatic when needed; True when it ran."""
    if not static_is_stale():
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    return True
