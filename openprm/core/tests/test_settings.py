"""Configuration: deploy checks, generated secret key, every setting documented in .env.example."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_prm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    full_env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "openprm.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    result = run_prm(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"PRM_SECURE": "true", "PRM_VAR_DIR": str(tmp_path), "PRM_EMAIL_HOST": "smtp.example.com"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_about_console_mail_and_unset_tracking_hosts(tmp_path):
    env = {"PRM_SECURE": "true", "PRM_VAR_DIR": str(tmp_path)}
    assert run_prm("migrate", "-v", "0", env=env).returncode == 0
    result = run_prm("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "openprm.W001" in output and "PRM_EMAIL_HOST" in output
    assert "openprm.W002" in output and "Default workspace" in output

    set_hosts = (
        "from openprm.core.models import Workspace; "
        "Workspace.objects.update(tracking_allowed_hosts=['example.com'])"
    )
    assert run_prm("shell", "-c", set_hosts, env=env).returncode == 0
    clean = run_prm(
        "check", "--deploy", "--fail-level", "WARNING", env={**env, "PRM_EMAIL_HOST": "smtp.example.com"}
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    env = {**os.environ, "PRM_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("PRM_SECRET_KEY", None)
    first = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    second = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert first == second and len(first) >= 50
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first not in (ROOT / "config" / "settings.py").read_text()


def test_every_environment_setting_is_documented():
    settings_text = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'(?:environ\.get|env_bool|env_list)\(\s*"([A-Z_]+)"', settings_text))
    read |= set(re.findall(r'environ\.get\("([A-Z_]+)"', settings_text))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "no settings found"
    assert read - documented == set()
