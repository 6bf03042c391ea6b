from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.accounts.services import workspace_default
from openprm.demo.loader import demo_load, demo_partner_count
from openprm.demo.people import logins_path, logins_read, logins_table
from openprm.demo.scale import SCALES, scale_load


def site_url(bind: str | None = None) -> str:
    """Where `prm serve` answers with this bind (PRM_BIND): a wildcard host is reached on 127.0.0.1."""
    bind = bind or settings.PRM_BIND
    if bind.startswith("unix:"):
        return bind
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "[::]", "::"):  # noqa: S104 - a bind address, not a listener here
        host = "127.0.0.1"
    return f"http://{host}:{port}/"


class Command(BaseCommand):
    help = (
        "Load a realistic demo program (partners, contacts, agreements, 24 months of activity and demo "
        "logins for every role) into the default workspace. The same --seed gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partners", type=int, default=None, help="how many partners (default 200)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument(
            "--scale",
            choices=sorted(SCALES),
            help=(
                "a large program for benchmarks instead: s = 200 partners, 20,000 deals, 500,000 events; "
                "m = 2,000 partners, 200,000 deals, 5,000,000 events (minutes on PostgreSQL)"
            ),
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the workspace already has partners"
        )
        parser.add_argument(
            "--show-logins", action="store_true", help="only print the saved demo logins (loads nothing)"
        )
        parser.add_argument(
            "--bind",
            default=None,
            help="the address prm serve binds (default PRM_BIND)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["show_logins"]:
            self.show_logins(site_url(options["bind"]))
            return
        if options["scale"] and options["partners"] is not None:
            raise CommandError("--scale sets the number of partners: drop --partners.")
        count = 200 if options["partners"] is None else options["partners"]
        if not 1 <= count <= 100_000:
            raise CommandError("--partners must be between 1 and 100000.")
        workspace = workspace_default()
        existing = demo_partner_count(workspace)
        if existing:
            if options["if_empty"]:
                self.stdout.write(f"The workspace already has {existing} partners: demo data not loaded.")
                return
            raise CommandError(
                f"The workspace already has {existing} partners; the demo loads into an empty workspace. "
                "Use --if-empty to skip quietly, or start from a fresh database."
            )
        started = time.monotonic()
        if options["scale"]:
            result = scale_load(
                scale=SCALES[options["scale"]],
                seed=options["seed"],
                workspace=workspace,
                progress=self.stdout.write,
            )
        else:
            result = demo_load(
                partners=count, seed=options["seed"], workspace=workspace, progress=self.stdout.write
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded in {time.monotonic() - started:.1f} s: {result.partners} partners, "
                f"{result.contacts} contacts, {result.agreements} agreements, "
                f"{result.events} events ({result.interactions} logged interactions), "
                f"{result.clicks} clicks, {result.conversions} conversions, "
                f"{result.rollup_cells} rollup cells, {result.status_changes} status changes, "
                f"{result.deals} deals{f' ({result.co_sellers} co-sold)' if result.co_sellers else ''}, "
                f"{len(result.logins)} logins."
            )
        )
        self.stdout.write(f"Logins saved to {result.logins_path} (see them with: prm demo --show-logins)")

    def show_logins(self, url: str) -> None:
        path = logins_path()
        if not path.exists():
            self.stdout.write(
                f"No demo logins saved ({path} does not exist). Load the demo with `prm demo`, "
                "or create a user: prm createuser --email you@example.com --role admin"
            )
            return
        logins = logins_read(path)
        self.stdout.write(f"\nOpenPRM demo logins — sign in at {url}\n")
        for line in logins_table(logins):
            self.stdout.write(f"  {line}")
        self.stdout.write(f"\n(saved in {path}; passwords were generated when the demo was loaded)\n")
