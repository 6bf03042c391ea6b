"""Payout details: encrypted at rest (nothing sensitive in plain text in any column, nor in the audit
trail), read back only masked, the plain values only into an export; key rotation with
PRM_ENCRYPTION_KEY; validation (IBAN check digits, BIC, e-mail); who may write."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from openprm.commissions.models import PayoutDetails
from openprm.commissions.selectors.payouts import payout_details_get
from openprm.commissions.services import details
from openprm.commissions.tests.payout_fixtures import IBAN_A, bank_details
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.testing import World, actor_for

pytestmark = pytest.mark.django_db
SECRETS = (IBAN_A, "DE123456789", "0532013000")


def _raw_rows() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM commissions_payoutdetails")
        return list(cursor.fetchall())


def test_round_trip_and_nothing_plain_in_the_database(world: World) -> None:
    bank_details(world, world.partner_a)
    rows = _raw_rows()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    for secret in SECRETS:
        assert secret not in stored
    with unscoped():
        row = PayoutDetails.objects.get(partner=world.partner_a)
        audit = " ".join(
            str(a.changes) for a in AuditEntry.objects.filter(object_type="commissions.payoutdetails")
        )
    for secret in SECRETS:
        assert secret not in audit
    assert row.secret.startswith("gAAAA")  # a Fernet token
    assert details.details_for_export(row) == {
        "iban": IBAN_A,
        "bic": "COBADEFFXXX",
        "tax_id": "DE123456789",
    }
    assert row.display == "IBAN DE•• •••• 3000"
    actor = actor_for(world.a_admin)
    with scope(actor.access_scope()):
        view = payout_details_get(actor=actor, partner_id=world.partner_a.pk)
    assert view.masked == {"iban": "DE•• •••• 3000", "bic": "COBADEFFXXX", "tax_id": "•••• 6789"}
    assert view.has_tax_id and view.holder_name == "Acme Resellers GmbH"


def test_a_configured_key_encrypts_and_the_derived_key_still_reads_old_rows(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    bank_details(world, world.partner_a)  # sealed with the key derived from SECRET_KEY
    key = Fernet.generate_key().decode()
    settings.PRM_ENCRYPTION_KEY = key
    with unscoped():
        old = PayoutDetails.objects.get(partner=world.partner_a)
    assert details.details_for_export(old)["iban"] == IBAN_A
    token = details.seal({"email": "x@example.com"})
    assert Fernet(key.encode()).decrypt(token.encode())  # the configured key encrypts
    settings.PRM_ENCRYPTION_KEY = ""
    settings.SECRET_KEY = "another-secret-key-entirely"
    with pytest.raises(details.UnreadableDetailsError):
        details.unseal(old.secret)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"method": "bank", "currency": "EUR", "holder_name": "A", "iban": "DE89370400440532013001"}, "iban"),
        ({"method": "bank", "currency": "EUR", "holder_name": "A"}, "iban"),
        ({"method": "bank", "currency": "EUR", "holder_name": "A", "iban": IBAN_A, "bic": "NOPE"}, "bic"),
        ({"method": "paypal", "currency": "EUR", "email": "not-an-email"}, "email"),
        ({"method": "cheque", "currency": "EUR"}, "method"),
        ({"method": "wise", "currency": "EURO", "email": "a@b.example"}, "currency"),
        ({"method": "bank", "currency": "EUR", "iban": IBAN_A}, "holder_name"),
    ],
)
def test_bad_details_name_the_field(world: World, data: dict[str, str], field: str) -> None:
    actor = actor_for(world.finance)
    with scope(actor.access_scope()), pytest.raises(ValidationError) as refused:
        details.payout_details_save(actor=actor, partner_id=world.partner_a.pk, data=data)
    assert field in refused.value.message_dict


def test_who_may_write_payout_details(world: World) -> None:
    data = {"method": "wise", "currency": "EUR", "email": "money@acme.example"}
    for user, partner, allowed in (
        (world.finance, world.partner_a, True),
        (world.a_admin, world.partner_a, True),
        (world.a_rep, world.partner_a, False),
        (world.manager, world.partner_a, False),
        (world.b_admin, world.partner_a, False),
    ):
        actor = actor_for(user)
        with scope(actor.access_scope()):
            if allowed:
                details.payout_details_save(actor=actor, partner_id=partner.pk, data=data)
            else:
                with pytest.raises(PermissionDenied):
                    details.payout_details_save(actor=actor, partner_id=partner.pk, data=data)
    actor = actor_for(world.b_admin)
    with scope(actor.access_scope()):
        assert not payout_details_get(actor=actor, partner_id=world.partner_a.pk).exists


def test_a_partner_admin_cannot_set_their_own_minimum(world: World) -> None:
    actor = actor_for(world.a_admin)
    data = {"method": "paypal", "currency": "USD", "email": "pay@acme.example", "min_payout": "1.00"}
    with scope(actor.access_scope()):
        saved = details.payout_details_save(actor=actor, partner_id=world.partner_a.pk, data=data)
    assert saved.min_payout is None and saved.display == "PayPal p•••@acme.example"
