"""The demo's customer accounts: written through the customers services, believable, and feeding every
customers metric input."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.db.models import F

from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.customers.selectors.metric_inputs import INPUT_NAMES, input_availability, metric_inputs
from openprm.demo.loader import demo_load
from openprm.partners.models import Partner

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_demo_customers(db: Any, var_dir: Path) -> None:
    demo_load(partners=30, seed=42, now=NOW)
    with unscoped():
        accounts = CustomerAccount.objects.count()
        assert accounts > 20
        churned = CustomerAccount.objects.filter(ended_on__isnull=False).count()
        assert 0 < churned < accounts / 2
        # every record belongs to its account's partner, and nothing is dated after the load
        for model in (AccountChange, CsatResponse, UsageRecord):
            assert (
                not model.objects.exclude(partner_id=F("account__partner_id"))
                .filter(account__isnull=False)
                .exists()
            )
        assert not AccountChange.objects.filter(occurred_on__gt=NOW.date()).exists()
        assert CsatResponse.objects.filter(channel="direct", partner__isnull=True).count() >= 40
        assert not UsageRecord.objects.filter(features_used__gt=F("features_available")).exists()
        assert AuditEntry.objects.filter(object_type="customers.customeraccount").count() == accounts
        workspace_id = CustomerAccount.objects.values_list("workspace_id", flat=True).first()
        partner_ids = list(Partner.objects.values_list("id", flat=True))
    assert workspace_id is not None
    assert input_availability(workspace_id) == set(INPUT_NAMES)
    quarter = metric_inputs(
        workspace_id,
        partner_ids=partner_ids,
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 3, 31),
        names=INPUT_NAMES,
    )[0]
    assert quarter["accounts.at_start"] > 0 and quarter["renewals.count"] > 0 and quarter["csat.count"] > 0
    assert quarter["usage.features_used"] <= quarter["usage.features_available"]
