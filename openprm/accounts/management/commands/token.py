from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.accounts.selectors import actor_for_email, token_list
from openprm.accounts.services import TOKEN_PREFIX, token_create, token_revoke
from openprm.core.actors import Actor
from openprm.core.scoping import scope


class Command(BaseCommand):
    help = "Manage a user's personal API tokens: create, list, revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="create a token (printed once)")
        create.add_argument("--email", required=True, help="the user the token acts as")
        create.add_argument("--name", required=True, help="what the token is for, e.g. 'CRM sync'")
        create.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="the token stops working after N days (default: never)",
        )
        create.add_argument(
            "--read-only", action="store_true", help="the token may only read (GET, HEAD, OPTIONS)"
        )
        listing = actions.add_parser("list", help="list a user's tokens")
        listing.add_argument("--email", required=True)
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix or public id")
        revoke.add_argument("--email", required=True)
        revoke.add_argument(
            "token",
            help="the token's prefix (as listed; put -- before one starting with '-'), its id, or the token",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options["email"])
        with scope(actor.access_scope()):
            try:
                getattr(self, f"do_{options['action']}")(actor, options)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from None

    def actor(self, email: str) -> Actor:
        actor = actor_for_email(email)
        if actor is None:
            raise CommandError(f"No active user with a workspace membership has the e-mail '{email}'.")
        return actor

    def do_create(self, actor: Actor, options: dict[str, Any]) -> None:
        token, raw = token_create(
            actor=actor,
            name=options["name"],
            expires_days=options["expires_days"],
            read_only=options["read_only"],
        )
        details = [
            "read-only" if token.read_only else "read and write",
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "does not expire",
        ]
        self.stdout.write(
            self.style.SUCCESS(f"Created token '{token.name}' for {actor.label} ({', '.join(details)}).")
        )
        self.stdout.write(raw)
        self.stdout.write(
            "This is the only time the token is shown: store it now. "
            "Send it as the header: Authorization: Bearer <token>"
        )

    def do_list(self, actor: Actor, options: dict[str, Any]) -> None:
        tokens = list(token_list(actor=actor).order_by("-created_at", "-id"))
        if not tokens:
            self.stdout.write(f"{actor.label} has no API tokens (create one with: prm token create).")
            return
        rows = [("PREFIX", "NAME", "ACCESS", "CREATED", "EXPIRES", "LAST USED", "STATUS", "ID")]
        for t in tokens:
            rows.append(
                (
                    t.prefix,
                    t.name,
                    "read-only" if t.read_only else "read-write",
                    f"{t.created_at:%Y-%m-%d %H:%M}",
                    f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never",
                    f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
                    f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else t.status,
                    str(t.public_id),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def do_revoke(self, actor: Actor, options: dict[str, Any]) -> None:
        ref = options["token"].strip()
        tokens = token_list(actor=actor)
        try:
            matches = list(tokens.filter(public_id=uuid.UUID(ref)))
        except ValueError:
            matches = list(
                tokens.filter(prefix=ref.removeprefix(TOKEN_PREFIX)[:8])
            )  # a whole token works too
        if not matches:
            raise CommandError(f"{actor.label} has no token '{ref}' (see: prm token list --email ...).")
        if len(matches) > 1:
            raise CommandError(f"'{ref}' matches {len(matches)} tokens: use the token's id instead.")
        token = matches[0]
        if not token.is_active:
            self.stdout.write(f"Token '{token.name}' ({token.prefix}…) was already revoked.")
            return
        token_revoke(actor=actor, token=token)
        self.stdout.write(self.style.SUCCESS(f"Revoked token '{token.name}' ({token.prefix}…)."))
