"""Log-in, lockout, password reset through a real SMTP server, API tokens."""

from __future__ import annotations

import hashlib
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse

from openprm.accounts.models import ApiToken
from openprm.accounts.services import token_authenticate
from openprm.core.scoping import unscoped
from openprm.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_and_logout(world, client):
    response = client.post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").url == reverse("partners:list")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("partners:list")).status_code == 302


def test_wrong_password_shows_error(world, client):
    response = client.post(reverse("login"), {"username": "manager@vendor.test", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct e-mail and password" in response.text or "correct" in response.text


def test_lockout_after_repeated_failures(world, client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "manager@vendor.test", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.text
    assert client.get(reverse("partners:list")).status_code == 302  # still not logged in


def test_session_cookie_is_httponly(world, client):
    response = client.post(reverse("login"), {"username": "manager@vendor.test", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    yield inbox
    controller.stop()


def test_password_reset_by_email_through_real_smtp(world, client, smtp_server):
    response = client.post(reverse("password_reset"), {"email": "manager@vendor.test"})
    assert response.status_code == 302
    deadline = time.time() + 5
    while not smtp_server.messages and time.time() < deadline:
        time.sleep(0.05)
    assert len(smtp_server.messages) == 1
    body = smtp_server.messages[0].decode()
    assert "manager@vendor.test" in body
    link = next(line for line in body.splitlines() if "/password-reset/" in line).strip()
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert "Choose a password" in form_page.text
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )
    assert done.status_code == 302
    assert (
        client.post(
            reverse("login"), {"username": "manager@vendor.test", "password": "a-brand-new-secret-42"}
        ).status_code
        == 302
    )


def test_unknown_email_reset_reveals_nothing(world, client, smtp_server):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    time.sleep(0.2)
    assert smtp_server.messages == []


def test_token_page_shows_token_once_stores_only_a_digest_and_revokes(world, client_for):
    client = client_for(world.analyst)
    created = client.post(reverse("tokens"), {"name": "BI export"})
    raw = created.context["created"]
    assert raw.startswith("prm_") and raw in created.text
    assert raw not in client.get(reverse("tokens")).text
    with unscoped():
        token = ApiToken.objects.get(name="BI export")
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest() and raw not in token.digest
    assert token_authenticate(raw) is not None
    client.post(reverse("token_revoke", args=[token.public_id]))
    assert token_authenticate(raw) is None


def test_users_cannot_revoke_others_tokens(world, client_for):
    client_for(world.analyst).post(reverse("tokens"), {"name": "mine"})
    with unscoped():
        token = ApiToken.objects.get(name="mine")
    assert client_for(world.manager).post(reverse("token_revoke", args=[token.public_id])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_admin_invites_staff_user(world, client_for, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.admin).post(
            reverse("users"), {"email": "new.manager@vendor.test", "role": "manager"}
        )
    assert response.status_code == 302
    assert mailoutbox[0].to == ["new.manager@vendor.test"]
    assert client_for(world.manager).get(reverse("users")).status_code == 403
    assert client_for(world.a_admin).get(reverse("users")).status_code == 404
