"""`prm partners purge|archive|restore`: the explicit, audited ways to remove a partner from the command line.

`purge` deletes the partner and everything of it (deals, events, clicks, links, logins) in one transaction;
it is never what a DELETE does (that archives a partner with history). It needs an admin (``--email``) and
the partner's exact name repeated with ``--confirm``. The audit entry recording the purge is kept.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.accounts.selectors import actor_for_email
from openprm.core.actors import Actor
from openprm.core.scoping import scope
from openprm.partners import selectors, services
from openprm.partners.models import Partner


class Command(BaseCommand):
    help = "Archive, restore or purge (delete with everything of it) one partner, as an admin."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{purge,archive,restore}")
        purge = actions.add_parser(
            "purge", help="delete a partner and all its deals, events, clicks and logins (irreversible)"
        )
        purge.add_argument("--confirm", required=True, metavar="NAME", help="the partner's exact name")
        archive = actions.add_parser("archive", help="hide a partner and suspend its portal logins")
        restore = actions.add_parser("restore", help="bring an archived partner back")
        for sub in (purge, archive, restore):
            sub.add_argument("--partner", required=True, metavar="PUBLIC_ID", help="the partner's public id")
            sub.add_argument("--email", required=True, help="the admin doing it (named in the audit trail)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options["email"])
        with scope(actor.access_scope()):
            try:
                partner = selectors.partner_get(actor=actor, public_id=uuid.UUID(options["partner"]))
            except (ValueError, Partner.DoesNotExist):
                raise CommandError(f"No partner with public id '{options['partner']}'.") from None
            try:
                getattr(self, f"do_{options['action']}")(actor, partner, options)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from None

    def actor(self, email: str) -> Actor:
        actor = actor_for_email(email)
        if actor is None or not actor.is_staff:
            raise CommandError(f"No active staff user has the e-mail '{email}'.")
        return actor

    def do_purge(self, actor: Actor, partner: Partner, options: dict[str, Any]) -> None:
        counts = services.partner_purge(actor=actor, partner=partner, confirm=options["confirm"])
        what = ", ".join(f"{n} {label.split('.')[-1]}" for label, n in sorted(counts.items()) if n)
        self.stdout.write(self.style.SUCCESS(f"Purged {partner.name}: deleted {what}."))

    def do_archive(self, actor: Actor, partner: Partner, options: dict[str, Any]) -> None:
        services.partner_archive(actor=actor, partner=partner)
        self.stdout.write(self.style.SUCCESS(f"Archived {partner.name}."))

    def do_restore(self, actor: Actor, partner: Partner, options: dict[str, Any]) -> None:
        services.partner_restore(actor=actor, partner=partner)
        self.stdout.write(self.style.SUCCESS(f"Restored {partner.name}."))
