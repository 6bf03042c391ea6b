"""``prm bench redirect``: tracked redirects per second against a bare view, through the production server.

The production server (``prm serve``: gunicorn, its default workers and threads) is started on a free
local port against the current database, with a scratch workspace, partner and tracking link. Then, with
``concurrency`` client threads each holding a keep-alive connection:

* **bare** — ``GET /activity/healthz``: the same server and middleware, a view that answers "ok" without
  touching the database;
* **redirect** — ``GET /r/<code>``: the link lookup, the click insert and its rollup queue entry, a 302
  (the clicks are then folded into the rollups as the job worker does, and counted there).

Both get a warm-up round first (not measured); then ``repeat`` rounds (default 3) each send ``requests``
to each side, interleaved in ``CHUNKS`` parts with fresh client connections each (gunicorn spreads
them over its workers anew, and a slow spell of the machine hits both sides alike); the median round's
ratio is reported (every round is listed). The run
fails unless every redirect answered 302 with a ``prm_click`` id and the table holds exactly one click
per redirect (warm-up included), all of them counted in the rollups. The scratch workspace and its rows
are deleted afterwards unless ``keep``.
"""

from __future__ import annotations

import datetime
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db import connection, transaction

from openprm.activity.models import (
    Click,
    PartnerDay,
    PartnerMonth,
    RollupPending,
    RollupState,
    TrackingLink,
)
from openprm.activity.rollups import read, rollups_fold
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.partners.models import Partner, PartnerType
from openprm.partners.services import workspace_bootstrap

REDIRECT_TARGET = 0.5
WARMUP = 200
CHUNKS = 10
BARE_PATH = "/activity/healthz"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scratch() -> tuple[Workspace, TrackingLink]:
    token = uuid.uuid4().hex[:10]
    with unscoped(), transaction.atomic():
        workspace = Workspace.objects.create(
            name=f"Bench redirect {token}",
            slug=f"bench-redirect-{token}",
            tracking_allowed_hosts=["vendor.example"],  # the redirect checks the link's allowed hosts
        )
        workspace_bootstrap(workspace=workspace)
        kind = PartnerType.objects.get(workspace=workspace, key="referral")
        partner = Partner.objects.create(workspace=workspace, name="Bench Partner", type=kind)
        link = TrackingLink.objects.create(
            workspace=workspace,
            partner=partner,
            code=f"bench-{token}",
            destination="https://vendor.example/landing?ref=bench",
            utm_source="partner",
            utm_medium="referral",
        )
    return workspace, link


def _cleanup(workspace: Workspace) -> None:
    quote = connection.ops.quote_name
    with unscoped(), transaction.atomic():
        with connection.cursor() as cursor:
            for model in (Click, PartnerDay, PartnerMonth, RollupPending, RollupState):
                table = quote(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace.pk])  # noqa: S608
        TrackingLink.objects.filter(workspace=workspace).delete()
        Partner.objects.filter(workspace=workspace).delete()
        workspace.delete()


def _start_server(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "openprm.cli", "serve", "--bind", f"127.0.0.1:{port}", "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"The server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", BARE_PATH)
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("The server did not start within 60 seconds")


def _stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _fire(
    port: int, path: str, requests: int, concurrency: int
) -> tuple[float, list[float], list[tuple[int, str]]]:
    """Send ``requests`` GETs from ``concurrency`` keep-alive clients: (seconds, latencies, responses)."""
    per_thread = [
        requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)
    ]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    answers: list[list[tuple[int, str]]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []
    start = threading.Barrier(concurrency + 1)

    def run(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            start.wait()
            for _ in range(per_thread[index]):
                began = time.perf_counter()
                conn.request(
                    "GET", path, headers={"User-Agent": "prm-bench/1", "Referer": "https://bench.example/"}
                )
                response = conn.getresponse()
                response.read()
                latencies[index].append(time.perf_counter() - began)
                answers[index].append((response.status, response.getheader("Location") or ""))
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} client errors, first: {errors[0]!r}")
    return seconds, [x for xs in latencies for x in xs], [a for xs in answers for a in xs]


def _chunks(requests: int) -> list[int]:
    """``requests`` split into up to ``CHUNKS`` near-equal parts (each at least 100 requests)."""
    parts = max(1, min(CHUNKS, requests // 100))
    return [requests // parts + (1 if i < requests % parts else 0) for i in range(parts)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _summary(requests: int, seconds: float, latencies: list[float]) -> dict[str, float]:
    return {
        "per_s": round(requests / seconds, 1),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


def bench_redirect(
    *, requests: int = 5000, concurrency: int = 8, repeat: int = 3, keep: bool = False
) -> dict[str, Any]:
    """Run the redirect benchmark against the current database; returns the JSON-ready result.

    ``repeat`` rounds, each both sides interleaved in chunks (see the module's documentation); the
    ratio is the median of the rounds' ratios and the per-side figures are those of that round."""
    workspace, link = _scratch()
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None
    rounds: list[dict[str, Any]] = []
    try:
        process = _start_server(port)
        redirect_path = f"/r/{link.code}"
        _fire(port, BARE_PATH, WARMUP, concurrency)
        _, _, answers = _fire(port, redirect_path, WARMUP, concurrency)
        bad: list[int] = []
        for _ in range(max(1, repeat)):
            bare_seconds = ours_seconds = 0.0
            bare_latencies: list[float] = []
            ours_latencies: list[float] = []
            for size in _chunks(requests):  # the two sides interleaved: drifts hit both alike
                seconds, latencies, bare_answers = _fire(port, BARE_PATH, size, concurrency)
                bare_seconds += seconds
                bare_latencies += latencies
                bad += [s for s, _ in bare_answers if s != 200]
                seconds, latencies, ours_answers = _fire(port, redirect_path, size, concurrency)
                ours_seconds += seconds
                ours_latencies += latencies
                answers += ours_answers
            bare = _summary(requests, bare_seconds, bare_latencies)
            ours = _summary(requests, ours_seconds, ours_latencies)
            rounds.append({"bare": bare, "ours": ours, "ratio": round(ours["per_s"] / bare["per_s"], 3)})
        click_ids = {parse_qs(urlsplit(location).query).get("prm_click", [""])[0] for _, location in answers}
        bad += [status for status, _ in answers if status != 302]
        rollups_fold(workspace_id=workspace.pk)  # what the job worker does within seconds
        with unscoped():
            stored = set(Click.objects.filter(workspace=workspace).values_list("click_id", flat=True))
            totals = read.stock(workspace.pk, metrics=["clicks"], on_or_before=datetime.date.max).values()
            rolled_up = int(sum(values.get("clicks", 0) for values in totals))
        if bad or len(click_ids) != len(answers) or stored != click_ids or rolled_up != len(answers):
            raise RuntimeError(
                f"Clicks lost or wrong answers: {len(bad)} bad statuses, {len(click_ids)} click ids for "
                f"{len(answers)} redirects, {len(stored)} stored, {rolled_up} in the rollups."
            )
    finally:
        if process is not None:
            _stop_server(process)
        if not keep:
            _cleanup(workspace)
    median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    bare, ours = median["bare"], median["ours"]
    return {
        "bench": "redirect",
        "database": connection.vendor,
        "requests": requests,
        "concurrency": concurrency,
        "repeat": len(rounds),
        "redirect_per_s": ours["per_s"],
        "redirect_p50_ms": ours["p50_ms"],
        "redirect_p99_ms": ours["p99_ms"],
        "bare_per_s": bare["per_s"],
        "bare_p50_ms": bare["p50_ms"],
        "bare_p99_ms": bare["p99_ms"],
        "ratio": median["ratio"],
        "ratio_all": [r["ratio"] for r in rounds],
        "redirect_per_s_all": [r["ours"]["per_s"] for r in rounds],
        "bare_per_s_all": [r["bare"]["per_s"] for r in rounds],
        "target": REDIRECT_TARGET,
        "clicks_stored": len(stored),
        "clicks_expected": len(answers),
        "kept": keep,
    }
