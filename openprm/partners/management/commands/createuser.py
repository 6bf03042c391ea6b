from __future__ import annotations

import getpass
import secrets
import sys
import uuid
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.accounts.models import User
from openprm.accounts.services import user_create, workspace_default
from openprm.core.actors import Actor
from openprm.core.permissions import PARTNER_ROLES, Role
from openprm.core.scoping import scope
from openprm.partners.models import Partner


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Create a user with a role in the default workspace. Partner roles need --partner (its external id "
        "or public id). Without --password you are asked for one, or one is generated when not on a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, help=f"one of: {', '.join(Role.values)}")
        parser.add_argument("--partner", help="partner external id or public id (partner roles only)")
        parser.add_argument("--name", default="", help="full name")
        parser.add_argument("--password", help="password (default: prompt, or generate when not a TTY)")
        parser.add_argument(
            "--owned-only", action="store_true", help="staff: see only the partners this user owns"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"].strip().lower()
        if role not in Role.values:
            raise CommandError(f"Unknown role '{options['role']}'. Choose one of: {', '.join(Role.values)}.")
        workspace = workspace_default()
        actor = Actor.system(workspace.pk, label="cli:createuser")
        with scope(actor.access_scope()):
            partner = self.find_partner(options["partner"]) if options["partner"] else None
            if role in PARTNER_ROLES and partner is None:
                raise CommandError(f"The role '{role}' needs --partner (external id or public id).")
            existing = User.objects.filter(email=options["email"].strip().lower()).exists()
            password, generated = self.password(options["password"])
            try:
                membership = user_create(
                    actor=actor,
                    email=options["email"],
                    role=role,
                    full_name=options["name"],
                    partner_id=partner.pk if partner else None,
                    password=password,
                    owned_only=options["owned_only"],
                )
            except (ValidationError, PermissionDenied) as exc:
                detail = _messages(exc) if isinstance(exc, ValidationError) else str(exc)
                raise CommandError(f"Could not create the user: {detail}") from None
        where = f" of partner {partner.name}" if partner else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {membership.user.email}: {Role(role).label}{where} in {workspace.name}."
            )
        )
        if existing:
            self.stdout.write("That e-mail already had a login: its password is unchanged.")
        elif generated:
            self.stdout.write(f"Password (shown once): {password}")

    def find_partner(self, ref: str) -> Partner:
        ref = ref.strip()
        partner = Partner.objects.filter(external_id=ref).first()
        if partner is None:
            try:
                partner = Partner.objects.filter(public_id=uuid.UUID(ref)).first()
            except ValueError:
                partner = None
        if partner is None:
            raise CommandError(f"No partner with external id or public id '{ref}'.")
        if partner.archived_at:
            raise CommandError(partner.archived_message)
        return partner

    def password(self, given: str | None) -> tuple[str, bool]:
        """(password, whether it was generated)."""
        if given is None and sys.stdin.isatty():
            given = getpass.getpass("Password: ")
            if given != getpass.getpass("Password (again): "):
                raise CommandError("The passwords did not match.")
        if not given:
            return secrets.token_urlsafe(12), True
        try:
            validate_password(given)
        except ValidationError as exc:
            raise CommandError(f"Password rejected: {' '.join(exc.messages)}") from None
        return given, False
