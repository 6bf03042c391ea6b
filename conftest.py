from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("PRM_STATIC_MANIFEST", "false")

# Property tests on a shared, noisy machine: no per-example deadline and no "too slow" health check
# (generation speed says nothing about the code under test). Tests that set their own health checks
# list too_slow as well.
settings.register_profile("openprm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("openprm")


def _unscoped_serialization() -> None:
    """Serialized rollback (the browser tests) copies the database through the models' managers,
    relations included (an alert rule's inhibited rules); a related manager of a tenant model is scoped,
    so the copy and its restore run unscoped, as a migration would."""
    from django.db.backends.base.creation import BaseDatabaseCreation

    from openprm.core.scoping import unscoped

    for name in ("serialize_db_to_string", "deserialize_db_from_string"):
        original = getattr(BaseDatabaseCreation, name)
        if getattr(original, "_unscoped", False):
            continue

        def wrapper(self, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            with unscoped():
                return _original(self, *args, **kwargs)

        wrapper._unscoped = True  # type: ignore[attr-defined]
        setattr(BaseDatabaseCreation, name, wrapper)


_unscoped_serialization()

# SQLite's test flush deletes ledger rows, which the commissions delete triggers refuse: a test-only bypass.
from openprm.commissions.tests.guards import allow_flush_on_sqlite  # noqa: E402

allow_flush_on_sqlite()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and call.excinfo is not None:
        reason = str(call.excinfo.value)
        if any(word in reason.lower() for word in ("chromium", "postgres", "shared data", "../shared")):
            report.outcome = "failed"
            report.longrepr = f"Skipped under CI=true, which is not allowed: {reason}"


@pytest.fixture(autouse=True, scope="session")
def _jobs_inline():  # type: ignore[no-untyped-def]
    """Jobs run inline when enqueued (after commit); the worker test starts a real `prm worker`."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    """Every test starts with an empty cache: all tests share the one default workspace's id, so what a
    previous test cached for it would leak into the next."""
    from django.core.cache import cache

    from openprm.metrics.dataversion import clear_cache

    cache.clear()
    clear_cache()


@pytest.fixture(autouse=True)
def _fast_settings(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def workspace(db):  # type: ignore[no-untyped-def]
    from openprm.core.models import Workspace

    return Workspace.objects.get(slug="default")


@pytest.fixture
def system(workspace):  # type: ignore[no-untyped-def]
    from openprm.core.actors import Actor

    return Actor.system(workspace.pk, label="test-system")


@pytest.fixture
def world(workspace, system, tmp_path, settings):  # type: ignore[no-untyped-def]
    from openprm.core.permissions import Role
    from openprm.testing import World, make_partner, make_user

    settings.MEDIA_ROOT = tmp_path / "media"
    partner_a = make_partner(
        system,
        "Acme Resellers",
        external_id="A-1",
        domains=["acme.example"],
        country="DE",
        tiers={"Partner Program": "Silver"},
    )
    partner_b = make_partner(
        system,
        "Globex Referrals",
        type="referral",
        external_id="B-1",
        domains=["globex.example"],
        country="US",
        tiers={"Partner Program": "Gold"},
    )
    return World(
        workspace=workspace,
        system=system,
        partner_a=partner_a,
        partner_b=partner_b,
        admin=make_user(workspace, "admin@vendor.test", Role.ADMIN),
        manager=make_user(workspace, "manager@vendor.test", Role.MANAGER),
        finance=make_user(workspace, "finance@vendor.test", Role.FINANCE),
        analyst=make_user(workspace, "analyst@vendor.test", Role.ANALYST),
        a_admin=make_user(workspace, "admin@acme.test", Role.PARTNER_ADMIN, partner=partner_a),
        a_rep=make_user(workspace, "rep@acme.test", Role.PARTNER_REP, partner=partner_a),
        b_admin=make_user(workspace, "admin@globex.test", Role.PARTNER_ADMIN, partner=partner_b),
    )


@pytest.fixture
def client_for(client):  # type: ignore[no-untyped-def]
    """client_for(user) → a Django test client logged in as that user."""
    from django.test import Client

    def make(user):  # type: ignore[no-untyped-def]
        c = Client()
        c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return c

    return make


@pytest.fixture
def api_for(db):  # type: ignore[no-untyped-def]
    """api_for(user) → a client sending a real bearer token of that user."""
    from django.test import Client

    from openprm.accounts.services import token_create
    from openprm.core.scoping import scope
    from openprm.testing import actor_for

    def make(user):  # type: ignore[no-untyped-def]
        actor = actor_for(user)
        with scope(actor.access_scope()):
            _, raw = token_create(actor=actor, name="test")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
