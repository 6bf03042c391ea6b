"""`prm bench dashboards`: the staff dashboards and the scorecards at scale, on the current database.

The dataset is the scale demo (``prm demo --scale m``: 2,000 partners, 200,000 deals, 5,000,000 events) in
the default workspace; the bench loads it first when the database is empty (``load``), and refuses a
database whose default workspace holds something else. Then, through the Django test client (the whole
stack but the socket), as a workspace admin, each ``repeat`` times after one warm-up:

* **overview** — every chart data request of the program dashboard (``/dashboards/data/<panel>/``) for
  this year, plus the page itself (its tables: bottom partners, targets, agreements); target p95 ≤ 300 ms;
* **scorecard** — one partner's scorecard (``GET /api/v1/scorecards/partners/{id}``); target p95 ≤ 100 ms;
* **scorecard_table** — every partner's scorecard row (``GET /api/v1/scorecards``); target p95 ≤ 500 ms;
* **scorecard:uncached**, **scorecard_table:uncached** — the same two with the kept peer figures dropped
  before each request (``metrics.dataversion``): what the first request after a data change pays
  (reported, not held to a target: users read the kept figures until the data changes);
* **rollups** — a full rebuild of the event rollups against one raw ``GROUP BY`` over the same events
  (``bench rollups``' functions, on the scale workspace), best of ``rebuild_repeat``: the ratio, target ≤ 3.
"""

from __future__ import annotations

import datetime
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from openprm.accounts.models import Membership, User
from openprm.accounts.services import token_create, workspace_default
from openprm.activity.rollups import rollups_rebuild
from openprm.bench.rollups import REBUILD_TARGET, raw_group_by
from openprm.core.models import Workspace
from openprm.core.permissions import Role
from openprm.core.runtime import settle
from openprm.core.scoping import scope, unscoped
from openprm.dashboards.views import CHARTS
from openprm.demo.scale import SCALES, scale_load
from openprm.metrics import dataversion
from openprm.partners.models import Partner
from openprm.testing import actor_for

TARGETS_MS = {"overview": 300.0, "scorecard": 100.0, "scorecard_table": 500.0}
BENCH_EMAIL = "bench-dashboards@bench.invalid"


class DatasetError(RuntimeError):
    """The database holds something else than the scale dataset (the bench does not mix them)."""


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))]


def _timed(run: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None) -> dict[str, float]:
    run()  # warm-up: connection, caches, templates
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 0.95), 1)}


def dataset(scale_name: str, *, load: bool) -> tuple[Workspace, int, float]:
    """The default workspace holding the scale dataset (loaded first into an empty database when
    ``load``): (workspace, partners, seconds spent loading)."""
    scale = SCALES[scale_name]
    workspace = workspace_default()
    with unscoped():
        partners = Partner.objects.filter(workspace=workspace).count()
    if partners >= scale.partners:
        return workspace, partners, 0.0
    if partners or not load:
        raise DatasetError(
            f"The default workspace holds {partners} partners, not the {scale.partners:,} of scale "
            f"{scale_name!r}: run the bench on a database of its own (it loads the dataset when empty), "
            f"or load it with `prm demo --scale {scale_name}`."
        )
    started = time.perf_counter()
    scale_load(scale=scale)
    with unscoped():
        partners = Partner.objects.filter(workspace=workspace).count()
    return workspace, partners, time.perf_counter() - started


def _admin(workspace: Workspace) -> User:
    with unscoped():
        user = User.objects.filter(email=BENCH_EMAIL).first()
        if user is None:
            user = User.objects.create_user(email=BENCH_EMAIL, password=uuid.uuid4().hex, full_name="Bench")
        Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": Role.ADMIN})
    return user


def _get(client: Client, url: str) -> Callable[[], None]:
    def run() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:300]!r}")

    return run


def _rollups(workspace: Workspace, repeat: int) -> dict[str, Any]:
    raw_times, rebuild_times, groups, rows = [], [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        groups = raw_group_by(workspace.pk)
        raw_times.append(time.perf_counter() - started)
        with unscoped():
            started = time.perf_counter()
            rows = rollups_rebuild(workspace_id=workspace.pk)
            rebuild_times.append(time.perf_counter() - started)
    raw, rebuild = min(raw_times), min(rebuild_times)
    return {
        "raw_group_by_s": round(raw, 2),
        "rebuild_s": round(rebuild, 2),
        "ratio": round(rebuild / raw, 2) if raw else None,
        "target_ratio": REBUILD_TARGET,
        "raw_groups": groups,
        "rollup_rows": rows,
    }


def bench_dashboards(
    *,
    scale: str = "m",
    repeat: int = 20,
    load: bool = True,
    rollups: bool = True,
    rebuild_repeat: int = 1,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Time the dashboards' data requests, one scorecard and the scorecard table on the scale dataset,
    and the rollup rebuild against a raw GROUP BY; returns the JSON-ready result. ``only``: time just the
    requests whose names start with one of these."""
    workspace, partners, load_seconds = dataset(scale, load=load)
    user = _admin(workspace)
    actor = actor_for(user)
    with scope(actor.access_scope()):
        _, token = token_create(actor=actor, name="bench dashboards")
        sample = Partner.objects.order_by("pk").values_list("public_id", flat=True)[min(10, partners - 1)]
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    year = str(timezone.now().astimezone(datetime.UTC).year)
    requests: dict[str, tuple[str, Callable[[], None]]] = {
        f"overview:{key}": ("overview", _get(browser, f"/dashboards/data/{key}/?period={year}"))
        for key, _, _ in CHARTS["overview"]
    }
    requests["overview:page"] = ("overview", _get(browser, f"/dashboards/?period={year}"))
    requests["scorecard"] = ("scorecard", _get(api, f"/api/v1/scorecards/partners/{sample}"))
    requests["scorecard_table"] = ("scorecard_table", _get(api, "/api/v1/scorecards"))
    if only:
        requests = {name: request for name, request in requests.items() if name.startswith(only)}
        if not requests:
            raise DatasetError(f"No request is named like {', '.join(only)}")
    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settle()  # the process state a served request runs in (config/wsgi.py does the same at start-up)
    timings: dict[str, dict[str, float]] = {}
    with override_settings(STORAGES=plain):
        for name, (_, run) in requests.items():
            timings[name] = _timed(run, repeat)
        # what a request pays after the data changed (the figures kept between requests computed anew)
        for name in ("overview:top_partners", "overview:page", "scorecard", "scorecard_table"):
            if name in requests:
                timings[f"{name}:uncached"] = _timed(
                    requests[name][1], repeat, before=dataversion.clear_cache
                )
    worst: dict[str, float] = {}
    for name, (group, _) in requests.items():  # the requests as users make them (figures kept between them)
        worst[group] = max(worst.get(group, 0.0), timings[name]["p95_ms"])
    result: dict[str, Any] = {
        "benchmark": "dashboards",
        "database": connection.vendor,
        "scale": scale,
        "partners": partners,
        "load_s": round(load_seconds, 1),
        "repeat": repeat,
        "requests": timings,
        "worst_p95_ms": {k: round(v, 1) for k, v in worst.items()},
        "target_p95_ms": TARGETS_MS,
        "within_target": all(worst[k] <= TARGETS_MS[k] for k in worst),
    }
    if rollups:
        result["rollups"] = _rollups(workspace, rebuild_repeat)
        result["within_target"] = (
            result["within_target"] and (result["rollups"]["ratio"] or 0) <= REBUILD_TARGET
        )
    return result
