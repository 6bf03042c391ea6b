"""`prm bench redirect` end to end, small: the production server on the test database, both sides,
every round reported, every click stored and counted, the scratch workspace removed."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from openprm.activity.models import Click
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_redirect_bench_runs_both_sides_through_the_server(monkeypatch: Any) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database cannot be opened by the server process")
    db = connection.settings_dict
    monkeypatch.setenv("DATABASE_URL", f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    out = StringIO()
    call_command("bench", "redirect", "--requests", "60", "--repeat", "2", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["repeat"] == 2 and len(result["ratio_all"]) == 2
    assert result["ratio"] in result["ratio_all"]
    assert result["ratio"] == pytest.approx(result["redirect_per_s"] / result["bare_per_s"], abs=0.001)
    assert result["clicks_stored"] == result["clicks_expected"] == 200 + 2 * 60  # warm-up + two rounds
    with unscoped():
        assert not Workspace.objects.filter(slug__startswith="bench-redirect-").exists()
        assert Click.objects.count() == 0
