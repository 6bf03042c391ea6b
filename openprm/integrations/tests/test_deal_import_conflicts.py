"""Imported deals get what registered ones get: one audit entry each and conflict detection against other
partners' deals in play (batched), reported by the import; re-imports add nothing, refused files nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from openprm.bench.deals_import import _scratch_workspace, generate_deals_csv
from openprm.core.actors import Actor
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import Deal, DealConflict
from openprm.deals.services.conflicts import CandidateCache
from openprm.integrations.formats.deals import DEAL_COLUMNS
from openprm.integrations.services import deals as deal_imports
from openprm.integrations.services.deals import deals_import
from openprm.integrations.tests.helpers import run
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

HEADER = ",".join([*DEAL_COLUMNS, "approval_status"])
INITECH_B = "D-1,B-1,Initech GmbH,initech.example,5000,,qualified,,2026-01-10,2026-06-30,,,"


def deals_file(tmp_path: Path, *lines: str, name: str = "deals.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def import_file(world: Any, path: Path, **options: Any) -> deal_imports.DealImportResult:
    with scope(world.system.access_scope()), path.open("rb") as stream:
        return deals_import(actor=world.system, stream=stream, **options)


def register(user: Any, name: str, domain: str) -> Deal:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(
            actor=actor, data={"customer_name": name, "customer_domain": domain, "amount": "100"}
        )
    return deal


def rows() -> tuple[int, int, int]:
    """(deals, deal audit entries, conflicts)"""
    with unscoped():
        return (
            Deal.objects.count(),
            AuditEntry.objects.filter(object_type="deals.deal").count(),
            DealConflict.objects.count(),
        )


def test_imported_deals_get_one_create_audit_entry_each(world, tmp_path):
    path = deals_file(
        tmp_path,
        INITECH_B,
        "D-2,A-1,Hooli,hooli.example,10,,closed_won,,2026-01-05,,2026-02-01,,",
        "D-3,A-1,Umbrella Corp,,0,,registered,,2026-01-07,,,,submitted",
    )
    out, _ = run("import", "deals", str(path))

    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 0"
    with unscoped():
        entries = {e.object_id: e for e in AuditEntry.objects.filter(object_type="deals.deal")}
        deals = list(Deal.objects.select_related("stage"))
    assert len(entries) == 3 and {d.public_id for d in deals} == set(entries)
    for deal in deals:
        entry = entries[deal.public_id]
        assert (entry.action, entry.actor_label, entry.partner_id) == ("create", "cli", deal.partner_id)
        assert entry.changes["customer_name"] == {"before": None, "after": deal.customer_name}
        assert entry.changes["stage"] == {"before": None, "after": deal.stage.name}


def test_an_imported_deal_conflicts_with_another_partners_open_registration(world, tmp_path, api_for):
    registration = register(world.a_admin, "Initech", "initech.example")

    result = import_file(world, deals_file(tmp_path, INITECH_B))

    assert (result.created, result.conflicts) == (1, 1)
    assert result.summary() == "created 1, updated 0, unchanged 0, rejected 0, conflicts 1"
    with unscoped():
        conflict = DealConflict.objects.select_related("deal").get()
    assert (conflict.deal.external_id, conflict.other_id) == ("D-1", registration.pk)
    assert conflict.reasons[-1] == "Acme Resellers has an open registration awaiting a decision"
    # The registered side sees it as it would a later registration's: listed, and holding up approval.
    response = api_for(world.manager).get(f"/api/v1/deals/{registration.public_id}/conflicts")
    assert response.status_code == 200
    assert [c["public_id"] for c in response.json()["items"]] == [str(conflict.public_id)]
    manager = actor_for(world.manager)
    with scope(manager.access_scope()), pytest.raises(ValidationError, match="Globex Referrals"):
        services.deal_approve(actor=manager, deal=registration)


def test_reimporting_the_same_file_adds_no_audit_entry_or_conflict(world, tmp_path):
    register(world.a_admin, "Initech", "initech.example")
    path = deals_file(tmp_path, INITECH_B, "D-2,A-1,Hooli,hooli.example,10,,registered,,2026-01-05,,,,")
    import_file(world, path)
    first = rows()

    again = import_file(world, path)

    assert (again.unchanged, again.conflicts) == (2, 0)
    assert rows() == first == (3, 3, 1)  # the registration, two imported deals; one conflict


def test_a_refused_file_writes_no_deal_audit_entry_or_conflict(world, tmp_path):
    register(world.a_admin, "Initech", "initech.example")
    before = rows()
    path = deals_file(tmp_path, INITECH_B, "D-2,A-1,Hooli,,-5,,registered,,2026-01-05,,,,")

    result = import_file(world, path)

    assert result.refused and result.rejected == 1
    assert rows() == before


def test_two_approved_deals_for_one_customer_are_not_a_conflict(world, tmp_path):
    """CRM history: both deals were decided already, a conflict would inform no decision. Closed deals
    are out of play."""
    path = deals_file(
        tmp_path,
        INITECH_B,
        "D-2,A-1,Initech,initech.example,10,,negotiating,,2026-01-05,,,,",
        "D-3,A-1,Initech,initech.example,10,,closed_lost,,2026-01-05,,2026-02-01,,submitted",
    )
    result = import_file(world, path)
    assert (result.created, result.conflicts) == (3, 0)
    assert rows()[2] == 0


def test_a_pending_imported_deal_conflicts_with_an_approved_one_in_the_same_file(world, tmp_path):
    path = deals_file(
        tmp_path,
        INITECH_B,
        "D-2,A-1,Initech,initech.example,10,,registered,,2026-02-05,,,,submitted",
    )
    result = import_file(world, path)
    assert result.conflicts == 1
    with unscoped():
        pair = DealConflict.objects.values_list("deal__external_id", "other__external_id").get()
    assert pair == ("D-2", "D-1")  # the later registration on the deal side, as had it been registered


@pytest.mark.parametrize("cache_limit", [CandidateCache.MAX_ENTRIES, 10])
def test_small_batches_find_the_conflicts_one_batch_finds(world, monkeypatch, tmp_path, cache_limit):
    """The candidates a writer keeps between batches stay current with what it writes, whether it holds
    the whole workspace's or (past its limit) reads them as it goes."""
    path = tmp_path / "bench.csv"
    generate_deals_csv(path, rows=1500, partners=12, customers=60)

    def pairs(batch_size: int) -> set[frozenset[str]]:
        monkeypatch.setattr(deal_imports.DealImport, "batch_size", batch_size)
        workspace, _, _ = _scratch_workspace("conflicts", 12)  # partners BP-00000...
        actor = Actor.system(workspace.pk, label="test")
        with scope(actor.access_scope()), path.open("rb") as stream:
            result = deals_import(actor=actor, stream=stream)
        assert result.created == 1500
        with unscoped():
            found = DealConflict.objects.filter(workspace=workspace)
            return {frozenset(p) for p in found.values_list("deal__external_id", "other__external_id")}

    whole = pairs(5_000)
    monkeypatch.setattr(CandidateCache, "MAX_ENTRIES", cache_limit)
    assert whole and pairs(37) == whole
