"""`prm bench deals-pages` on a tiny dataset: it builds the dataset once (then reuses it by its marker),
times every deal page and endpoint against the indexed baseline query, and prints ratios as JSON."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal, DealConflict
from openprm.partners.models import Partner

pytestmark = pytest.mark.django_db

PAGES = {
    "table",
    "table_filtered",
    "table_summary_panel",
    "board",
    "review",
    "api_list",
    "api_metrics",
    "api_metrics_partner",
    "detail",
}


def run(*args: str) -> dict:
    out = StringIO()
    call_command(
        "bench", "deals-pages", "--partners", "4", "--deals", "60", "--repeat", "2", *args, stdout=out
    )
    return json.loads(out.getvalue())


def test_bench_builds_a_tiny_dataset_times_every_page_and_reuses_it(settings) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    first = run("--json")
    assert first["benchmark"] == "deals-pages" and (first["partners"], first["deals"]) == (4, 60)
    assert first["dataset_reused"] is False
    assert set(first["pages"]) == PAGES
    for page in first["pages"].values():
        assert page["p95_ms"] >= page["p50_ms"] > 0
        assert page["ratio_p50"] > 0
    assert first["baseline_ms"] > 0
    assert first["within_target"] == (first["worst_p95_ms"] <= 300)
    with unscoped():
        workspace = Workspace.objects.get(slug="bench-deals-pages-4-60")
        assert Deal.objects.filter(workspace=workspace).count() == 60
        assert Partner.objects.filter(workspace=workspace).count() == 4
        assert DealConflict.objects.filter(workspace=workspace).exists()
        stages = set(Deal.objects.filter(workspace=workspace).values_list("stage__outcome", flat=True))
        assert stages == {"open", "won", "lost"}
    second = run("--json")
    assert second["dataset_reused"] is True
    with unscoped():
        assert Deal.objects.filter(workspace=workspace).count() == 60


def test_bench_refuses_sizes_below_one() -> None:
    with pytest.raises(CommandError):
        call_command("bench", "deals-pages", "--deals", "0")
