"""`prm serve` collects static files when they are missing or stale: a fresh PRM_VAR_DIR answers pages
(it answered 500 until collectstatic was run by hand)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from openprm.core import staticfiles


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_staleness_follows_the_manifest_and_the_sources(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    assert staticfiles.static_is_stale()  # nothing collected yet
    (tmp_path / "static").mkdir()
    manifest = tmp_path / "static" / staticfiles.MANIFEST
    manifest.write_text("{}")
    assert not staticfiles.static_is_stale()
    from django.contrib.staticfiles.finders import get_finders

    newest = max(
        Path(storage.path(path)).stat().st_mtime
        for finder in get_finders()
        for path, storage in finder.list([])
    )
    old = newest - 60
    os.utime(manifest, (old, old))  # collected a minute before the newest source changed
    assert staticfiles.static_is_stale()


def test_prm_serve_on_a_fresh_var_dir_serves_pages_and_static_files(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PRM_STATIC_MANIFEST")}
    env.update(PRM_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings")
    prm = [sys.executable, "-m", "openprm.cli"]
    subprocess.run([*prm, "migrate", "--no-input", "-v0"], env=env, check=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [*prm, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        page = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
                    assert response.status == 200
                    page = response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert "<form" in page, "the login page did not answer"
        assert Path(tmp_path / "var" / "static" / staticfiles.MANIFEST).exists()
        css = page.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        assert ".css" in css and css != "/static/openprm/app.css"  # the hashed name from the manifest
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{css}", timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
