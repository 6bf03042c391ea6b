"""`prm payout_details reseal`: re-encrypt every partner's payout details with the first key."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from openprm.commissions.services.details import details_reseal


class Command(BaseCommand):
    help = (
        "Payout details at rest. `reseal`: seal every stored token again with the first key of "
        "PRM_ENCRYPTION_KEY (idempotent), so older keys and the SECRET_KEY-derived key can be retired: "
        "then set PRM_ENCRYPTION_DERIVED_KEY=false and drop the old keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["reseal"])

    def handle(self, *args: object, **options: object) -> None:
        if not str(getattr(settings, "PRM_ENCRYPTION_KEY", "") or "").strip():
            raise CommandError(
                "Set PRM_ENCRYPTION_KEY first: without it the details are sealed with the SECRET_KEY-derived "
                "key, which resealing cannot retire."
            )
        done = details_reseal()
        self.stdout.write(f"Resealed {done} payout details with the first PRM_ENCRYPTION_KEY key.")
