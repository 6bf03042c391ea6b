"""The review's payout findings: the export file names only the details sealed into its items (H5), a change
of details while a payment is in progress is refused, every change is told to the partner's other admins
and finance, downloading a file is audited, the partner's own minimum counts only in its currency (L2),
the portal shows no draft items as payments (L3), and `prm payout_details reseal` retires the
SECRET_KEY-derived key (L6)."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import override_settings

from openprm.accounts.models import Notification
from openprm.commissions.models import PayoutDetails, PayoutItem, PayoutRun
from openprm.commissions.selectors import portal
from openprm.commissions.services import details, payout_files, payouts
from openprm.commissions.tests.payout_fixtures import IBAN_A, IBAN_B, bank_details, entry, make_plan
from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for, make_user

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today
BANK = {"method": "bank", "currency": "USD", "holder_name": "Acme GmbH", "bic": "COBADEFFXXX"}


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def _exported(world: World) -> tuple[Any, PayoutRun]:
    bank_details(world, world.partner_a)
    entry(world, world.partner_a, "70.00", plan=make_plan(world, min_payout="0"))
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
        run = payouts.payout_run_export(actor=actor, run=run)
    return actor, run


def _save_as(user: Any, partner_id: int, iban: str) -> PayoutDetails:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        return details.payout_details_save(actor=actor, partner_id=partner_id, data={**BANK, "iban": iban})


def test_details_cannot_be_changed_while_a_payment_to_them_is_in_progress(world: World) -> None:
    actor, run = _exported(world)
    with pytest.raises(ValidationError) as refused:
        _save_as(world.a_admin, world.partner_a.pk, IBAN_B)
    assert "in progress" in str(refused.value)
    with pytest.raises(ValidationError):  # finance neither: the exported file must stay true
        _save_as(world.finance, world.partner_a.pk, IBAN_B)
    with scope(actor.access_scope()):
        rows = _csv(payout_files.export_file(actor=actor, run=run, method="bank").content)
        payouts.payout_run_mark_paid(actor=actor, run=run, reference="B-1")
    assert rows[1][1] == IBAN_A
    _save_as(world.a_admin, world.partner_a.pk, IBAN_B)  # paid: free to change again


def test_the_file_names_the_details_sealed_into_the_item(world: World) -> None:
    """Even a change that reaches the row around the service (a raw write) never reaches the file: it is
    built from the copy sealed into the item."""
    actor, run = _exported(world)
    with unscoped():
        row = PayoutDetails.objects.get(partner=world.partner_a)
        PayoutDetails.objects.filter(pk=row.pk).update(
            secret=details.seal({"iban": IBAN_B}), display=f"IBAN {details.mask('iban', IBAN_B)}"
        )
    with scope(actor.access_scope()):
        rows = _csv(payout_files.export_file(actor=actor, run=run, method="bank").content)
    assert rows[1][1] == IBAN_A and IBAN_B not in str(rows)


def test_an_item_without_sealed_details_is_refused(world: World) -> None:
    """An item made before details were sealed into items (none kept by the migration: its partner's
    details changed after the export) is never filled in from today's details."""
    actor, run = _exported(world)
    with unscoped():
        PayoutItem.objects.filter(run=run).update(details_secret="")
    with scope(actor.access_scope()), pytest.raises(ValidationError) as refused:
        payout_files.export_file(actor=actor, run=run, method="bank")
    assert "changed after this run was exported" in str(refused.value)


def test_a_failed_payment_takes_the_fixed_details_on_retry(world: World) -> None:
    actor, run = _exported(world)
    with scope(actor.access_scope()):
        run = payouts.payout_run_mark_paid(
            actor=actor, run=run, reference="B-1", failed=[str(world.partner_a.public_id)], error="Closed"
        )
    _save_as(world.a_admin, world.partner_a.pk, IBAN_B)  # a failed item does not block the fix
    with scope(actor.access_scope()):
        run = payouts.payout_run_retry(actor=actor, run=run)
        rows = _csv(payout_files.export_file(actor=actor, run=run, method="bank").content)
    assert rows[1][1] == IBAN_B
    with unscoped():
        assert PayoutItem.objects.get(run=run).details_display.endswith("5432")


def test_every_change_tells_the_other_partner_admins_and_finance(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    other_admin = make_user(world.workspace, "second@acme.example", Role.PARTNER_ADMIN, world.partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        _save_as(world.a_admin, world.partner_a.pk, IBAN_A)
    with unscoped():
        told = set(
            Notification.objects.filter(kind="commissions.payout_details").values_list("user", flat=True)
        )
        text = " ".join(Notification.objects.values_list("body", flat=True))
        audited = AuditEntry.objects.filter(object_type="commissions.payoutdetails").count()
    assert {other_admin.pk, world.finance.pk, world.admin.pk} <= told
    assert world.a_admin.pk not in told and world.b_admin.pk not in told and world.manager.pk not in told
    assert IBAN_A not in text and "3000" in text and audited == 1


def test_downloading_a_file_is_audited(world: World) -> None:
    actor, run = _exported(world)
    with scope(actor.access_scope()):
        found = payout_files.export_file(actor=actor, run=run, method="bank")
    with unscoped():
        entries = AuditEntry.objects.filter(object_type="commissions.payoutrun", object_id=run.public_id)
        downloads = [e for e in entries if "file_downloaded" in (e.changes or {})]
    assert len(downloads) == 1
    assert found.filename in downloads[0].changes["file_downloaded"]["after"]
    assert downloads[0].actor_id == world.finance.pk


def test_the_partners_own_minimum_counts_only_in_its_currency(world: World) -> None:
    plan = make_plan(world, min_payout="10.00")
    bank_details(world, world.partner_a, min_payout="1000.00")  # 1,000 USD (details in USD)
    with unscoped():
        PayoutDetails.objects.filter(partner=world.partner_a).update(currency="JPY")  # now 1,000 JPY
    entry(world, world.partner_a, "80.00", plan=plan)
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
    with unscoped():
        item = run.items.get()
    assert item.status == "pending" and item.amount == Decimal("80.00")  # the plan's 10 USD applies


def test_the_portal_shows_no_draft_items_as_payments(world: World) -> None:
    bank_details(world, world.partner_a)
    entry(world, world.partner_a, "70.00", plan=make_plan(world, min_payout="0"))
    actor = actor_for(world.finance)
    with scope(actor.access_scope()):
        run = payouts.payout_run_create(actor=actor, data={"currency": "USD", "cutoff": TODAY()})
    partner_actor = actor_for(world.a_admin)
    with scope(partner_actor.access_scope()):
        assert portal.payments(actor=partner_actor, partner_id=world.partner_a.pk) == []
    with scope(actor.access_scope()):
        payouts.payout_run_export(actor=actor, run=run)
    with scope(partner_actor.access_scope()):
        assert len(portal.payments(actor=partner_actor, partner_id=world.partner_a.pk)) == 1


def test_reseal_retires_the_derived_key(world: World) -> None:
    bank_details(world, world.partner_a)  # sealed with the SECRET_KEY-derived key (no key configured)
    with unscoped():
        token = PayoutDetails.objects.get(partner=world.partner_a).secret
    key = Fernet.generate_key().decode()
    retired = override_settings(PRM_ENCRYPTION_KEY=key, PRM_ENCRYPTION_DERIVED_KEY=False)
    with retired, pytest.raises(details.UnreadableDetailsError):
        details.unseal(token)  # the derived key refused: the old token is unreadable
    with override_settings(PRM_ENCRYPTION_KEY=key):
        out = io.StringIO()
        call_command("payout_details", "reseal", stdout=out)
        assert "Resealed 1" in out.getvalue()
    with unscoped():
        resealed = PayoutDetails.objects.get(partner=world.partner_a).secret
    assert resealed != token
    with override_settings(PRM_ENCRYPTION_KEY=key, PRM_ENCRYPTION_DERIVED_KEY=False):
        assert details.unseal(resealed)["iban"] == IBAN_A


def test_the_run_page_says_why_a_file_is_refused(world: World, client_for: Any) -> None:
    _actor, run = _exported(world)
    with unscoped():
        PayoutItem.objects.filter(run=run).update(details_secret="")
    client = client_for(world.finance)
    url = f"/commissions/payouts/{run.public_id}/"
    refused = client.get(f"{url}file/bank/")
    assert refused.status_code == 302 and refused["Location"] == url
    assert "changed after this run was exported" in client.get(url).content.decode()
    assert client.get(f"{url}file/nope/").status_code == 404
