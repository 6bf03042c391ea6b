"""Payout items carry the partner's details sealed as they were: a paid run's file is rebuilt from them
after the partner changed theirs, the run page says the details changed since (masked, never the
account), resealing covers the copies, and the migration fills in older items only when their
details are still the exported ones."""

from __future__ import annotations

import csv
import datetime
import importlib
import io
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import override_settings

from openprm.commissions.models import PayoutItem, PayoutRun
from openprm.commissions.services import details, payout_files, payouts
from openprm.commissions.tests.payout_fixtures import IBAN_A, IBAN_B, bank_details, entry, make_plan
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today
backfill = importlib.import_module("openprm.commissions.migrations.0008_payout_item_snapshot_backfill")


def _rows(actor: Any, run: PayoutRun) -> list[list[str]]:
    with scope(actor.access_scope()):
        content = payout_files.export_file(actor=actor, run=run, method="bank").content
    return list(csv.reader(io.StringIO(content.decode())))


def _paid(world: World) -> tuple[Any, PayoutRun]:
    bank_details(world, world.partner_a)
    entry(world, world.partner_a, "70.00", plan=make_plan(world, min_payout="0"))
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
        run = payouts.payout_run_export(actor=actor, run=run)
        run = payouts.payout_run_mark_paid(actor=actor, run=run, reference="B-1")
    return actor, run


def test_a_paid_runs_file_is_rebuilt_from_the_sealed_details(world: World, client_for: Any) -> None:
    actor, run = _paid(world)
    with unscoped():
        item = PayoutItem.objects.get(run=run)
    assert item.details_secret and IBAN_A not in item.details_secret  # sealed, not plain
    assert item.details_holder == f"{world.partner_a.name} GmbH" and item.details_currency == "USD"
    url = f"/commissions/payouts/{run.public_id}/"
    assert "details changed since" not in client_for(world.finance).get(url).content.decode()
    bank_details(world, world.partner_a, iban=IBAN_B, holder_name="New Holder Ltd")  # after the payment
    rows = _rows(actor, run)
    assert rows[1][:2] == [f"{world.partner_a.name} GmbH", IBAN_A]  # what was paid, not today's
    for user in (world.finance, world.analyst):
        page = client_for(user).get(url).content.decode()
        assert "details changed since" in page and "now IBAN GB•• •••• 5432" in page
        assert IBAN_B not in page and IBAN_A not in page


def test_only_the_tax_id_changed_is_no_change_of_the_payment(world: World, client_for: Any) -> None:
    _actor, run = _paid(world)
    bank_details(world, world.partner_a, tax_id="DE999999999")
    page = client_for(world.finance).get(f"/commissions/payouts/{run.public_id}/").content.decode()
    assert "details changed since" not in page


def test_reseal_covers_the_items_copies(world: World) -> None:
    actor, run = _paid(world)
    key = Fernet.generate_key().decode()
    with override_settings(PRM_ENCRYPTION_KEY=key):
        details.details_reseal()
    with override_settings(PRM_ENCRYPTION_KEY=key, PRM_ENCRYPTION_DERIVED_KEY=False):
        assert _rows(actor, run)[1][1] == IBAN_A  # readable with the new key alone


def test_the_migration_seals_only_items_whose_details_are_still_the_exported_ones(world: World) -> None:
    bank_details(world, world.partner_a)
    bank_details(world, world.partner_b, iban=IBAN_B)
    plan = make_plan(world, min_payout="0")
    entry(world, world.partner_a, "70.00", plan=plan)
    entry(world, world.partner_b, "50.00", plan=plan)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
        run = payouts.payout_run_export(actor=actor, run=run)
    with unscoped():
        PayoutItem.objects.filter(run=run).update(details_secret="", details_holder="", details_at=None)
        # B's details changed after the export (around the service): B's item must not take them
        from openprm.commissions.models import PayoutDetails

        later = run.exported_at + datetime.timedelta(minutes=5)
        PayoutDetails.objects.filter(partner=world.partner_b).update(updated_at=later)
    with unscoped():  # a migration's historical models have plain managers
        backfill.backfill(apps, None)  # the migration's function (it touches no schema)
    with unscoped():
        sealed = dict(PayoutItem.objects.filter(run=run).values_list("partner_id", "details_secret"))
    assert sealed[world.partner_a.pk] and not sealed[world.partner_b.pk]
    with scope(actor.access_scope()), pytest.raises(ValidationError) as refused:
        payout_files.export_file(actor=actor, run=run, method="bank")
    assert world.partner_b.name in str(refused.value)
