"""`prm demo --scale`: the scale dataset at a tiny size — exact counts, a realistic mix, the same rows for
the same seed, and rollups that cover every generated row (equal to a rebuild)."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Max, Min, Sum

from openprm.activity.models import Click, Conversion, Event
from openprm.activity.rollups import rollup_cells, rollups_rebuild
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal, DealCoSeller, DealLineItem, DealStageChange
from openprm.demo.scale import SCALES, Scale, scale_load
from openprm.partners.models import Partner

NOW = datetime.datetime(2026, 6, 15, 9, 30, tzinfo=datetime.UTC)
TINY = Scale("tiny", partners=30, deals=900, events=9_000)


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def tiny(db, var_dir):
    return scale_load(scale=TINY, seed=42, now=NOW)


def digest() -> str:
    """Every generated partner, event, deal, stage change and co-seller (not database ids)."""
    with unscoped():
        tables = [
            Partner.objects.order_by("public_id").values_list("public_id", "name", "status", "owner__email"),
            Event.objects.order_by("event_id").values_list(
                "event_id", "partner__public_id", "type", "direction", "occurred_at", "properties", "value"
            ),
            Deal.objects.order_by("public_id").values_list(
                "public_id",
                "partner__public_id",
                "customer_name",
                "amount",
                "stage__key",
                "approval_status",
                "registered_at",
                "closed_at",
            ),
            DealStageChange.objects.order_by("deal__public_id", "changed_at").values_list(
                "deal__public_id", "to_stage__key", "changed_at"
            ),
            DealCoSeller.objects.order_by("deal__public_id").values_list(
                "deal__public_id", "partner__public_id", "role"
            ),
        ]
        return hashlib.sha256(repr([list(rows) for rows in tables]).encode()).hexdigest()


def load_and_digest(seed: int) -> str:
    with transaction.atomic():
        scale_load(scale=Scale("t", partners=12, deals=200, events=1_500), seed=seed, now=NOW)
        found = digest()
        transaction.set_rollback(True)
    return found


def test_counts_are_exact_and_the_program_realistic(tiny):
    assert (tiny.partners, tiny.deals, tiny.events) == (30, 900, 9_000)
    with unscoped():
        assert Partner.objects.count() == 30
        assert Deal.objects.count() == 900
        assert Event.objects.count() == 9_000
        types = Counter(dict(Event.objects.values_list("type").annotate(n=Count("id"))))
        span = Event.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
        stages = Counter(dict(Deal.objects.values_list("stage__key").annotate(n=Count("id"))))
        deals_without_history = Deal.objects.filter(stage_changes__isnull=True).count()
        amounts = Deal.objects.aggregate(total=Sum("amount"))["total"]
        line_total = sum(
            (q * p for q, p in DealLineItem.objects.values_list("quantity", "unit_price")), Decimal(0)
        )
        tickets = Event.objects.filter(type__startswith="support_ticket").values_list("type", "properties")
        posts = list(Event.objects.filter(type="content_post").values_list("properties", flat=True)[:20])
        clicks, conversions = Click.objects.count(), Conversion.objects.count()
        co_sellers = DealCoSeller.objects.count()
    # the mix of built-in types: portal, e-mails both ways, logged calls, trainings, tickets, posts...
    for kind in ("portal_login", "email_sent", "email_received", "call", "meeting", "training_started"):
        assert types[kind] > 0, kind
    assert types["portal_login"] > types["email_sent"] > types["support_ticket_opened"] > 0
    assert types["support_ticket_resolved"] <= types["support_ticket_opened"]
    assert types["content_post"] > 0 and all({"reach", "impressions"} <= set(p) for p in posts)
    opened = {p["ticket_id"] for t, p in tickets if t == "support_ticket_opened"}
    assert {p["ticket_id"] for t, p in tickets if t == "support_ticket_resolved"} <= opened
    # two years of history, nothing in the future
    assert span["last"] < NOW and span["first"] >= NOW - datetime.timedelta(days=731)
    assert span["last"] - span["first"] > datetime.timedelta(days=600)
    # deals: a stage history each, won, lost and open ones, amounts from their line items, co-sellers
    assert deals_without_history == 0
    assert stages["closed_won"] > 0 and stages["closed_lost"] > 0 and stages["registered"] > 0
    assert amounts == line_total
    assert co_sellers > 0 and clicks > 0 and conversions > 0


def test_rollups_cover_every_generated_event_and_equal_a_rebuild(tiny, workspace):
    cells = rollup_cells(workspace_id=workspace.pk)
    with unscoped():
        by_type = dict(Event.objects.values_list("type").annotate(n=Count("id")))
    rolled = Counter[str]()
    for (_, _, metric), value in cells.items():
        if metric.startswith("events."):
            rolled[metric.removeprefix("events.")] += int(value)
    assert dict(rolled) == by_type
    rollups_rebuild(workspace_id=workspace.pk)
    assert rollup_cells(workspace_id=workspace.pk) == cells


def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not(db, var_dir):
    first = load_and_digest(seed=7)
    assert load_and_digest(seed=7) == first
    assert load_and_digest(seed=8) != first


def test_the_command_loads_a_named_scale(db, var_dir, capsys, monkeypatch):
    monkeypatch.setitem(SCALES, "s", Scale("s", partners=8, deals=80, events=800))
    call_command("demo", "--scale", "s")
    out = capsys.readouterr().out
    assert "8 partners" in out and "800 events" in out and "80 deals" in out
    with unscoped():
        assert Event.objects.count() == 800


def test_the_command_refuses_a_partner_count_with_a_scale(db, var_dir):
    with pytest.raises(CommandError, match="drop --partners"):
        call_command("demo", "--scale", "s", "--partners", "50")
    with unscoped():
        assert not Partner.objects.exists()
