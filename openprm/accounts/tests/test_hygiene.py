"""Auth hygiene: reset-mail limits, a reset lifts the lockout, case-insensitive e-mails, token expiry and
read-only tokens."""

from __future__ import annotations

import datetime
import importlib
import re
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.models import ApiToken, Membership, User
from openprm.core.scoping import scope, unscoped
from openprm.testing import PASSWORD, actor_for

pytestmark = pytest.mark.django_db
API = "/api/v1"


def reset(client: Client, email: str, ip: str = "10.0.0.1") -> Any:
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


# --- password-reset mails --------------------------------------------------------------------------------


def test_reset_mails_are_limited_per_address_with_the_same_answer(world, client, mailoutbox):
    answers = [reset(client, "Manager@vendor.test", ip=f"10.0.0.{i}") for i in range(5)]
    assert len(mailoutbox) == 3  # 3 per address an hour, whatever the client
    assert {(a.status_code, a.url) for a in answers} == {(302, reverse("password_reset_done"))}
    unknown = [reset(client, "nobody@vendor.test", ip=f"10.0.1.{i}") for i in range(5)]
    assert {(a.status_code, a.url) for a in unknown} == {(302, reverse("password_reset_done"))}
    assert len(mailoutbox) == 3


def test_reset_mails_are_limited_per_client(world, client, mailoutbox, settings):
    settings.PRM_RESET_PER_CLIENT = 2
    for email in ("manager@vendor.test", "analyst@vendor.test", "finance@vendor.test"):
        assert reset(client, email, ip="10.9.9.9").status_code == 302
    assert [m.to for m in mailoutbox] == [["manager@vendor.test"], ["analyst@vendor.test"]]
    reset(client, "finance@vendor.test", ip="10.9.9.10")  # another client is not held back
    assert mailoutbox[-1].to == ["finance@vendor.test"]


def test_the_limit_is_kept_in_the_database_for_every_process(world, client, mailoutbox):
    for _ in range(3):
        reset(client, "manager@vendor.test")
    from django.core.cache import caches

    caches["default"].clear()  # a per-process cache would forget; the database does not
    reset(Client(), "manager@vendor.test", ip="10.1.1.1")
    assert len(mailoutbox) == 3


def test_successful_reset_lifts_the_lockout(world, client, mailoutbox, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "manager@vendor.test", "password": "wrong"})
    assert (
        client.post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD}).status_code
        == 429
    )
    reset(client, "manager@vendor.test")
    link = re.search(r"http://testserver(/password-reset/\S+)", mailoutbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )
    assert done.status_code == 302
    login = client.post(
        reverse("login"), {"username": "manager@vendor.test", "password": "a-brand-new-secret-42"}
    )
    assert login.status_code == 302


# --- e-mails are case-insensitive ------------------------------------------------------------------------


def test_login_ignores_the_case_of_the_email(world):
    response = Client().post(reverse("login"), {"username": "Manager@Vendor.TEST", "password": PASSWORD})
    assert response.status_code == 302


def test_lockout_counts_every_spelling_of_one_address(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for spelling in ("Manager@vendor.test", "MANAGER@vendor.test", "manager@Vendor.test"):
        client.post(reverse("login"), {"username": spelling, "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD})
    assert locked.status_code == 429


def test_cli_and_invitations_store_lower_case_and_a_second_spelling_is_refused(world, client_for):
    call_command(
        "createuser",
        "--email",
        "New.Analyst@Vendor.test",
        "--role",
        "analyst",
        "--password",
        "x-long-enough-pass-42",
    )
    assert User.objects.filter(email="new.analyst@vendor.test").exists()
    out = client_for(world.admin).post(
        reverse("users"), {"email": "NEW.analyst@vendor.TEST", "role": "analyst"}
    )
    assert "already has an account" in out.text
    call_command("token", "create", "--email", "NEW.ANALYST@vendor.test", "--name", "bi")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="New.Analyst@vendor.test")])  # the database refuses it too


def test_data_migration_lowercases_stored_emails(world):
    migration = importlib.import_module("openprm.accounts.migrations.0004_lowercase_user_emails")
    User.objects.filter(pk=world.analyst.pk).update(email="Analyst@Vendor.test")
    migration.lowercase_emails(apps, None)
    world.analyst.refresh_from_db()
    assert world.analyst.email == "analyst@vendor.test"


# --- API tokens: expiry and read-only --------------------------------------------------------------------


def make_token(user: Any, **options: Any) -> str:
    from openprm.accounts.services import token_create

    actor = actor_for(user)
    with scope(actor.access_scope()):
        _, raw = token_create(actor=actor, name="t", **options)
    return raw


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_expired_token_answers_401_with_a_clear_message(world):
    raw = make_token(world.manager, expires_days=30)
    api = bearer(raw)
    assert api.get(f"{API}/me").status_code == 200
    with unscoped():
        ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    expired = api.get(f"{API}/me")
    assert expired.status_code == 401 and expired.json()["code"] == "unauthorized"
    assert "expired" in expired.json()["message"]


def test_read_only_token_reads_but_cannot_write(world):
    api = bearer(make_token(world.manager, read_only=True))
    assert api.get(f"{API}/partners").status_code == 200
    created = api.post(f"{API}/partners", data={"name": "Initech"}, content_type="application/json")
    assert created.status_code == 403 and created.json()["code"] == "forbidden"
    assert "read-only" in created.json()["message"]


def test_token_expiry_is_validated(world, client_for):
    page = client_for(world.manager).post(reverse("tokens"), {"name": "x", "expires_days": "0"})
    assert page.status_code == 200 and "greater than or equal to 1" in page.text
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        make_token(world.manager, expires_days=99999)
    assert "expires_days" in exc.value.message_dict


def test_tokens_page_creates_expiring_read_only_token(world, client_for):
    client = client_for(world.a_rep)
    created = client.post(reverse("tokens"), {"name": "sheet", "expires_days": "7", "read_only": "on"})
    assert created.status_code == 200 and created.context["created"]
    with unscoped():
        token = ApiToken.objects.get(name="sheet")
    assert token.read_only and token.expires_at is not None
    assert 6 < (token.expires_at - timezone.now()).days + 1 <= 7
    listing = client.get(reverse("tokens")).text
    assert "read-only" in listing and token.expires_at.strftime("%Y-%m-%d") in listing


def test_token_cli_creates_expiring_read_only_token(world):
    from io import StringIO

    out = StringIO()
    call_command(
        "token",
        "create",
        "--email",
        "analyst@vendor.test",
        "--name",
        "bi",
        "--expires-days",
        "30",
        "--read-only",
        stdout=out,
    )
    assert "read-only" in out.getvalue() and "expires" in out.getvalue()
    raw = out.getvalue().splitlines()[1].strip()
    api = bearer(raw)
    assert api.get(f"{API}/me").status_code == 200
    assert api.delete(f"{API}/partners/{world.partner_a.public_id}").status_code == 403
    with unscoped():
        assert Membership.objects.filter(partner=world.partner_a).exists()
