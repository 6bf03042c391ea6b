from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from openprm.accounts.models import ApiToken, Membership, User
from openprm.accounts.services import token_authenticate
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped

GOOD_PASSWORD = "a-long-enough-passphrase-42"


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def membership_of(email: str) -> Membership:
    with unscoped():
        return Membership.objects.select_related("user", "partner").get(user__email=email)


# --- createuser ------------------------------------------------------------------------------------


def test_createuser_makes_a_staff_user_who_can_log_in(db):
    out = run(
        "createuser",
        "--email",
        "Ops@Vendor.test",
        "--role",
        "admin",
        "--name",
        "Olga Ops",
        "--password",
        GOOD_PASSWORD,
    )
    assert "Created ops@vendor.test: Admin" in out
    assert GOOD_PASSWORD not in out
    membership = membership_of("ops@vendor.test")
    assert membership.role == Role.ADMIN and membership.partner is None
    assert membership.user.full_name == "Olga Ops"
    assert membership.user.check_password(GOOD_PASSWORD)
    assert (
        Client().post("/login/", {"username": "ops@vendor.test", "password": GOOD_PASSWORD}).status_code
        == 302
    )


def test_createuser_generates_a_password_when_not_on_a_terminal(db):
    out = run("createuser", "--email", "fin@vendor.test", "--role", "finance", "--owned-only")
    match = re.search(r"Password \(shown once\): (\S+)", out)
    assert match
    membership = membership_of("fin@vendor.test")
    assert membership.role == Role.FINANCE and membership.owned_only
    assert membership.user.check_password(match.group(1))


def test_createuser_for_a_partner_by_external_or_public_id(world):
    run(
        "createuser",
        "--email",
        "rep2@acme.test",
        "--role",
        "partner_rep",
        "--partner",
        "A-1",
        "--password",
        GOOD_PASSWORD,
    )
    assert membership_of("rep2@acme.test").partner == world.partner_a
    out = run(
        "createuser",
        "--email",
        "boss@globex.test",
        "--role",
        "partner_admin",
        "--partner",
        str(world.partner_b.public_id),
        "--password",
        GOOD_PASSWORD,
    )
    assert "of partner Globex Referrals" in out
    assert membership_of("boss@globex.test").partner == world.partner_b


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--email", "x@vendor.test", "--role", "superhero"],
            "Unknown role 'superhero'. Choose one of: admin",
        ),
        (["--email", "not-an-email", "--role", "analyst"], "valid e-mail"),
        (["--email", "x@acme.test", "--role", "partner_rep", "--partner", "NOPE-9"], "No partner with"),
        (["--email", "x@acme.test", "--role", "partner_rep"], "needs --partner"),
        (["--email", "x@acme.test", "--role", "admin", "--partner", "A-1"], "only have a partner role"),
        (["--email", "x@vendor.test", "--role", "admin", "--password", "short"], "Password rejected"),
        (["--email", "admin@vendor.test", "--role", "analyst"], "already has an account"),
    ],
)
def test_createuser_errors_are_clear(world, args, message):
    with unscoped():
        users_before = User.objects.count()
    with pytest.raises(CommandError, match=re.escape(message)):
        run("createuser", *args)
    with unscoped():
        assert User.objects.count() == users_before


# --- token -----------------------------------------------------------------------------------------


def create_token(email: str, name: str = "CRM sync") -> str:
    out = run("token", "create", "--email", email, "--name", name)
    assert "only time the token is shown" in out
    raws = re.findall(r"\bprm_\S+", out)
    assert len(raws) == 1
    return raws[0]


def test_token_create_prints_a_working_token_once(world):
    raw = create_token("manager@vendor.test")
    token = token_authenticate(raw)
    assert token is not None and token.user == world.manager and token.name == "CRM sync"
    assert ApiToken.objects.get(pk=token.pk).digest != raw  # only the digest is stored

    good = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/me")
    bad = Client(headers={"Authorization": f"Bearer {raw}x"}).get("/api/v1/me")
    assert bad.status_code == 401  # proves the URL exists and checks tokens
    assert good.status_code != 401


def test_token_list_and_revoke(world):
    raw = create_token("analyst@vendor.test", "Reporting")
    create_token("analyst@vendor.test", "Spreadsheet")
    token = token_authenticate(raw)
    assert token is not None
    listing = run("token", "list", "--email", "analyst@vendor.test")
    assert "Reporting" in listing and "Spreadsheet" in listing and token.prefix in listing
    assert raw not in listing
    assert "no API tokens" in run("token", "list", "--email", "finance@vendor.test")

    # "--" because a prefix may start with "-" (as the command's help says)
    out = run("token", "revoke", "--email", "analyst@vendor.test", "--", token.prefix)
    assert "Revoked token 'Reporting'" in out
    assert token_authenticate(raw) is None
    assert "already revoked" in run("token", "revoke", "--email", "analyst@vendor.test", str(token.public_id))
    assert "revoked" in run("token", "list", "--email", "analyst@vendor.test")


def test_token_errors(world):
    raw = create_token("admin@vendor.test")
    with pytest.raises(CommandError, match="No active user"):
        run("token", "create", "--email", "nobody@vendor.test", "--name", "x")
    with pytest.raises(CommandError, match="has no token"):
        run("token", "revoke", "--email", "admin@vendor.test", "zzzzzzzz")
    # Someone else's token is not yours to revoke, even by its exact id.
    token = token_authenticate(raw)
    assert token is not None
    with pytest.raises(CommandError, match="has no token"):
        run("token", "revoke", "--email", "manager@vendor.test", str(token.public_id))
    assert token_authenticate(raw) is not None
    with pytest.raises(CommandError, match="name"):
        run("token", "create", "--email", "admin@vendor.test", "--name", "   ")


def test_prm_token_runs_the_token_command(world, monkeypatch):
    """`prm token create ...` reaches this command (run in-process: run_from_argv closes connections)."""
    import django.core.management

    from openprm.cli import main

    seen: list[list[str]] = []
    monkeypatch.setattr(django.core.management, "execute_from_command_line", seen.append)
    main(["token", "create", "--email", "finance@vendor.test", "--name", "Via prm"])
    assert seen == [["prm", "token", "create", "--email", "finance@vendor.test", "--name", "Via prm"]]
    raw = re.findall(r"\bprm_\S+", run(*seen[0][1:]))[0]
    assert token_authenticate(raw) is not None
