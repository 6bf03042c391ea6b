"""Partner users never see the vendor's internal fields (docs/visibility.md).

The walk is generated, so that a new endpoint or page is covered without touching this file: every GET
operation of the OpenAPI schema (with a partner admin's token) and every URL of the URLconf (with a
partner admin's session), filled with the ids of seeded objects. The seeded data carries a unique marker
string in every internal field; any marker, and any key from the staff-only list, in any answer fails.
"""

from __future__ import annotations

import datetime
import inspect
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from openprm.accounts.models import Membership, Notification
from openprm.activity.models import Click, Conversion, Coupon, Event, TrackingLink
from openprm.activity.services import interactions as interaction_services
from openprm.alerts import services as alert_services
from openprm.alerts.models import Alert
from openprm.core.scoping import scope, unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.deals import services as deal_services
from openprm.deals.models import Deal, DealConflict, Product
from openprm.finance.models import CompanyRevenue, FxRate, Invoice, PartnerCost, SellThroughLine
from openprm.notifications.models import WebhookEndpoint
from openprm.partners import services as partner_services
from openprm.partners.models import CustomFieldDefinition, PartnerStatus
from openprm.reports.tests.conftest import make_definition
from openprm.scorecards.models import Target, TierCriterion

pytestmark = pytest.mark.django_db

# Strings that only internal fields hold: none may reach a partner user.
MARKERS = {
    "partner notes": "INTERNAL-NOTE-7f3a",
    "partner tag": "INTERNAL-TAG-91be",
    "custom field value": "INTERNAL-CF-44d0",
    "custom field label": "INTERNAL-CFLABEL-0c2e",
    "lifecycle status label": "At risk",
    "lifecycle status value": '"at_risk"',
    "internal interaction note": "INTERNAL-INTERACTION-5e61",
    "deal idempotency key": "INTERNAL-IDEM-2b7e",
    "deal owner (vendor side)": "admin@vendor.test",
    "other partner in a conflict": "Globex",
    "other partner's deal": "OTHER-CONTACT-5d1c",
    "approval override reason": "INTERNAL-OVERRIDE-19d4",
    "conversion fraud flag": "INTERNAL-FLAG-a9f0",
    "conversion idempotency key": "INTERNAL-CONVKEY-3c77",
    "conversion properties": "INTERNAL-CONVPROP-61aa",
    "customer e-mail hash": "feedface" * 8,
    "visitor ip hash": "deadbeef" * 8,
    "visitor user agent": "INTERNAL-UA-7721",
    "partnership cost note": "INTERNAL-COST-8e21",
    "invoice note": "INTERNAL-INVOICE-4b90",
    "customer account note": "INTERNAL-ACCOUNT-0d3f",
    "target notes": "INTERNAL-TARGET-77c1",
    "commission ledger note": "INTERNAL-LEDGER-4d2f",
    "commission idempotency key": "INTERNAL-LEDGERKEY-81c3",
    "commission plan description": "INTERNAL-PLANDESC-6b1a",
    "payout run error": "INTERNAL-PAYOUTERR-2c4e",
    "payout account (plain)": "DE89370400440532013000",
    "payout tax id (plain)": "DE271828182",
    "other partner's commission": "OTHER-RULE-9f0e",
}

# JSON keys of internal fields (docs/visibility.md): their presence alone fails, whatever the value.
STAFF_ONLY_KEYS = {
    "notes",
    "tags",
    "custom_fields",
    "status_changed_at",
    "last_contact_on",
    "last_contact_at",
    "idempotency_key",
    "customer_key",
    "customer_domain_root",
    "request_hash",
    "conflicts_open",
    "flags",
    "customer_email_hash",
    "ip_hash",
    "user_agent",
    "score",
    "reasons",
}

# Keys that name something else where a partner may read it: a customer's CSAT answer ("score"), the
# partner's own scorecard and tier progress (metric "score", why a tier is recommended: "reasons").
PARTNER_KEYS_BY_PATH = {
    "/api/v1/customers/csat": {"score"},
    "/api/v1/scorecards/partners/": {"score", "reasons"},
}

# The API schema documents every field, staff ones included: only markers count there.
SCHEMA_PATHS = {"/api/v1/openapi.json", "/api/v1/docs"}


@pytest.fixture
def seeded(world: Any, settings: Any) -> dict[str, Any]:
    """Partner A (the walker's) with every internal field holding a marker, a conflicting deal of
    partner B, a tracking link with a flagged conversion, and a decision notification."""
    system = world.system
    with scope(system.access_scope()):
        CustomFieldDefinition.objects.create(
            workspace=world.workspace, key="risk_memo", label=MARKERS["custom field label"], field_type="text"
        )
        partner_services.partner_update(
            actor=system,
            partner=world.partner_a,
            data={
                "notes": MARKERS["partner notes"],
                "tags": [MARKERS["partner tag"]],
                "custom_fields": {"risk_memo": MARKERS["custom field value"]},
                "status": PartnerStatus.AT_RISK,
                "owner_email": "manager@vendor.test",
            },
        )
        contact = partner_services.contact_create(
            actor=system, partner=world.partner_a, data={"name": "Ann Acme", "email": "ann@acme.example"}
        )
        agreement = partner_services.agreement_create(
            actor=system, partner=world.partner_a, data={"title": "Reseller agreement", "status": "active"}
        )
        for kind, body in (("note", MARKERS["internal interaction note"]), ("call", "Quarterly call")):
            interaction_services.interaction_create(
                actor=system,
                partner=world.partner_a,
                data={
                    "kind": kind,
                    "occurred_at": timezone.now(),
                    "subject": f"{kind} subject",
                    "body": body,
                },
            )
        other, _ = deal_services.deal_register(
            actor=system,
            data={
                "partner_id": world.partner_b.pk,
                "customer_name": "Initech GmbH",
                "customer_domain": "initech.example",
                "contact_name": MARKERS["other partner's deal"],
                "amount": "7654321",
            },
        )
    from openprm.testing import actor_for

    partner_admin = actor_for(world.a_admin)
    with scope(partner_admin.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=partner_admin,
            data={"customer_name": "Initech GmbH", "customer_domain": "initech.example", "amount": "1200"},
        )
    with unscoped():
        Deal.objects.filter(pk=deal.pk).update(
            idempotency_key=MARKERS["deal idempotency key"],
            owner=world.admin,
        )
        conflict = DealConflict.objects.filter(deal=deal).first() or DealConflict.objects.get(other=deal)
    with scope(system.access_scope()):
        override = {"override_conflicts": True, "override_reason": MARKERS["approval override reason"]}
        if "override_conflicts" not in inspect.signature(deal_services.deal_approve).parameters:
            override = {}  # approvals that ignore conflicts (before the conflict rule)
        deal_services.deal_approve(
            actor=system, deal=Deal.objects.get(pk=deal.pk), note="Welcome aboard", **override
        )
    with unscoped():
        link = TrackingLink.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            code="acme-spring",
            destination="https://x.test/",
        )
        coupon = Coupon.objects.create(workspace=world.workspace, partner=world.partner_a, code="ACME10")
        product = Product.objects.create(workspace=world.workspace, name="Seats", list_price=Decimal("120"))
        click = Click.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            link=link,
            click_id="c" * 32,
            clicked_at=timezone.now(),
            ip_hash=MARKERS["visitor ip hash"],
            user_agent=MARKERS["visitor user agent"],
        )
        conversion = Conversion.objects.create(
            workspace=world.workspace,
            partner=world.partner_a,
            kind=Conversion.Kind.values[0],
            occurred_at=timezone.now(),
            amount=Decimal("49.00"),
            click=click,
            link=link,
            attributed_by="click",
            status=Conversion.Status.FLAGGED,
            flags=[{"rule": "ip_burst", "detail": MARKERS["conversion fraud flag"]}],
            idempotency_key=MARKERS["conversion idempotency key"],
            customer_email_hash=MARKERS["customer e-mail hash"],
            properties={"order": MARKERS["conversion properties"]},
        )
        Notification.objects.create(
            workspace=world.workspace, user=world.a_admin, partner=world.partner_a, title="Hello", body="Hi"
        )
        endpoint = WebhookEndpoint.objects.create(
            workspace=world.workspace, name="Ops", url="https://hooks.example.com/x", secret="whsec_internal"
        )
        interactions = [
            interaction_services.public_id_of(e)
            for e in Event.objects.filter(partner=world.partner_a, source=Event.Source.UI)
        ]
        program = world.partner_a.enrolments.first().program
        team = [m.public_id for m in Membership.objects.filter(partner=world.partner_a)]
        finance, customers, scorecards = _seed_figures(world, program)
    alerting = _seed_alerts(world)
    commissions = _seed_commissions(world)
    report = make_definition(world, partner_recipients=True)  # staff only: a partner user gets 403/404
    return {
        "partners": [world.partner_a.public_id],
        "contacts": [contact.public_id],
        "agreements": [agreement.public_id],
        "interactions": interactions,
        "deals": [deal.public_id, other.public_id],
        "conflicts": [conflict.public_id],
        "links": [link.public_id],
        "coupons": [coupon.public_id],
        "products": [product.public_id],
        "conversions": [conversion.public_id],
        "programs": [program.public_id],
        "code": ["acme-spring"],
        "team": team,
        "webhook-endpoints": [endpoint.public_id],  # admins only: a partner user gets 403/404
        **finance,
        **customers,
        **scorecards,
        **alerting,  # staff only: a partner user gets 403/404
        **commissions,
        "reports": [report.public_id],
        "uidb64": ["MQ"],  # password reset / invitation links: any value (the page refuses it)
        "token": ["set-password"],
    }


def _seed_commissions(world: Any) -> dict[str, list[Any]]:
    """A plan with a published version, partner A's commissions (one with a ledger note), a paid payout
    with a failed attempt's error, A's payout details (IBAN and tax id sealed) and statements of A and
    B; B's commission under a rule named only for it."""
    from openprm.commissions.models import (
        LedgerEntry,
        PayoutItem,
        PayoutRun,
        Plan,
        PlanVersion,
        Statement,
    )
    from openprm.commissions.services.details import payout_details_save

    ws, a, b, now = world.workspace, world.partner_a, world.partner_b, timezone.now()
    today = now.date()
    with unscoped():
        plan = Plan.objects.create(
            workspace=ws, name="Resale", description=MARKERS["commission plan description"], min_payout=10
        )
        version = PlanVersion.objects.create(
            workspace=ws,
            plan=plan,
            number=1,
            status="published",
            effective_from=today - datetime.timedelta(days=90),
            rules={
                "rules": [{"key": "resale", "event": ["deal_won"], "reward": {"type": "percent", "rate": 10}}]
            },
        )
        run = PayoutRun.objects.create(
            workspace=ws, currency="USD", cutoff=today, status="paid", last_error=MARKERS["payout run error"]
        )
        item = PayoutItem.objects.create(
            workspace=ws,
            run=run,
            partner=a,
            amount=Decimal("12.00"),
            currency="USD",
            status="paid",
            paid_at=now,
        )
        entries = []
        for partner, rule, note, key in (
            (a, "resale", MARKERS["commission ledger note"], MARKERS["commission idempotency key"]),
            (b, MARKERS["other partner's commission"], "", "other-key"),
        ):
            entries.append(
                LedgerEntry.objects.create(
                    workspace=ws,
                    partner=partner,
                    kind="accrual",
                    state="approved",
                    source_kind="deal",
                    source_id=1,
                    source_event="deal_won",
                    idempotency_key=key,
                    plan=plan,
                    plan_version=version,
                    rule_key=rule,
                    occurred_at=now,
                    period=today.replace(day=1),
                    base_amount=Decimal("120.00"),
                    base_currency="USD",
                    amount=Decimal("12.00"),
                    currency="USD",
                    rate=Decimal(10),
                    note=note,
                    created_by=world.admin,
                    approved_by=world.admin,
                    approved_at=now,
                )
            )
        statements = [
            Statement.objects.create(
                workspace=ws,
                partner=partner,
                period_start=today.replace(day=1),
                period_end=today,
                currency="USD",
                earned=Decimal("12.00"),
                payout_item=item if partner == a else None,
            )
            for partner in (a, b)
        ]
    with scope(world.system.access_scope()):
        payout_details_save(
            actor=world.system,
            partner_id=a.pk,
            data={
                "method": "bank",
                "currency": "USD",
                "holder_name": "Acme Resellers GmbH",
                "iban": MARKERS["payout account (plain)"],
                "tax_id": MARKERS["payout tax id (plain)"],
            },
        )
    return {
        "statements": [s.public_id for s in statements],
        "entries": [e.public_id for e in entries],
        "ledger": [e.public_id for e in entries],
        "payouts": [run.public_id],
        "plans": [plan.public_id],
        "versions": [version.public_id],
        "payout-details": [a.public_id, b.public_id],
        "fmt": ["pdf", "csv"],
    }


def _seed_alerts(world: Any) -> dict[str, list[Any]]:
    """An alert rule, an alert of it on partner A and a silence (the alerts pages and API are staff only)."""
    system = world.system
    with scope(system.access_scope()):
        rule = alert_services.rule_create(
            actor=system,
            data={
                "name": "Quiet partners",
                "conditions": {"items": [{"kind": "inactivity", "metric": "last_contact", "days": 30}]},
                "tell_partner": True,
            },
        )
        silence = alert_services.silence_create(
            actor=system,
            rule=rule,
            partner=None,
            starts_at=timezone.now(),
            ends_at=timezone.now() + datetime.timedelta(days=1),
            reason="seeded",
        )
    with unscoped():
        alert = Alert.objects.create(
            workspace=world.workspace,
            rule=rule,
            key=f"{world.partner_a.pk}:",
            partner=world.partner_a,
            state="firing",
            started_at=timezone.now(),
            last_evaluated_at=timezone.now(),
        )
    return {"rules": [rule.public_id], "alerts": [alert.public_id], "silences": [silence.public_id]}


def _seed_figures(world: Any, program: Any) -> tuple[dict[str, list[Any]], ...]:
    """Partner A's financial inputs, customer account and target, each internal note holding a marker."""
    ws, a, today = world.workspace, world.partner_a, timezone.now().date()
    month = today.replace(day=1)
    cost = PartnerCost.objects.create(
        workspace=ws,
        partner=a,
        period=month,
        category="fees",
        amount=Decimal("100"),
        note=MARKERS["partnership cost note"],
    )
    invoice = Invoice.objects.create(
        workspace=ws,
        partner=a,
        number="INV-1",
        issued_on=today,
        due_on=today,
        amount=Decimal("10"),
        currency="USD",
        note=MARKERS["invoice note"],
    )
    line = SellThroughLine.objects.create(
        workspace=ws, partner=a, period=month, sku="SKU-1", units_sold=3, unit_price=Decimal("9")
    )
    revenue = CompanyRevenue.objects.create(workspace=ws, period=month, amount=Decimal("1000"))
    fx_rate = FxRate.objects.create(
        workspace=ws, day=month, base="EUR", quote="USD", rate=Decimal("1.0823"), source="manual"
    )
    account = CustomerAccount.objects.create(
        workspace=ws, partner=a, name="Initrode", started_on=today, note=MARKERS["customer account note"]
    )
    change = AccountChange.objects.create(
        workspace=ws, partner=a, account=account, kind="renewal", occurred_on=today, amount=Decimal("5")
    )
    answer = CsatResponse.objects.create(
        workspace=ws, partner=a, account=account, channel="partner", score=4, answered_on=today
    )
    usage = UsageRecord.objects.create(
        workspace=ws, partner=a, account=account, month=month, features_used=2, features_available=5
    )
    target = Target.objects.create(
        workspace=ws,
        metric="won_revenue",
        period=f"{today:%Y-%m}",
        grain="month",
        partner=a,
        value=Decimal("1000"),
        notes=MARKERS["target notes"],
    )
    tier = program.tiers.order_by("rank").first()
    criterion = TierCriterion.objects.create(workspace=ws, tier=tier, metric="won_revenue", minimum=1)
    finance = {
        "costs": [cost.public_id],
        "invoices": [invoice.public_id],
        "sellthrough": [line.public_id],
        "company-revenue": [revenue.public_id],
        "fx-rates": [fx_rate.public_id],
    }
    customers = {
        "accounts": [account.public_id],
        "changes": [change.public_id],
        "csat": [answer.public_id],
        "usage": [usage.public_id],
    }
    scorecards = {"targets": [target.public_id], "tier-criteria": [criterion.public_id]}
    return finance, customers, scorecards


def _leaks(text: str, path: str) -> list[str]:
    found = [f"{path}: {what} ({marker!r})" for what, marker in MARKERS.items() if marker in text]
    if path in SCHEMA_PATHS:  # the schema lists every status value; only the seeded strings count there
        return [f for f in found if "INTERNAL-" in f]
    try:
        data = json.loads(text)
    except ValueError:
        return found
    allowed = set().union(*(keys for prefix, keys in PARTNER_KEYS_BY_PATH.items() if path.startswith(prefix)))
    internal = (_keys(data) & STAFF_ONLY_KEYS) - allowed
    return found + [f"{path}: staff-only key {key!r}" for key in sorted(internal)]


def _keys(data: Any) -> set[str]:
    if isinstance(data, dict):
        return set(data).union(*(_keys(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_keys(v) for v in data))
    return set()


def _fill(
    template: str, ids: dict[str, list[Any]], param: re.Pattern[str], fallback: list[Any] | None = None
) -> Iterator[str]:
    """Every way to fill the template's parameters: each from the ids of the collection named by the
    path segment before it (``/deals/{deal_id}`` → the seeded deals), else the fallback."""
    match = param.search(template)
    if match is None:
        yield template
        return
    before = template[: match.start()].rstrip("/").rsplit("/", 1)[-1]
    name = match.group("name")
    values = ids.get(before) or ids.get(name) or fallback
    assert values, f"{template}: no seeded ids for the parameter {name!r}; add them to the walker"
    for value in values:
        filled = template[: match.start()] + str(value) + template[match.end() :]
        yield from _fill(filled, ids, param, fallback)


def test_api_walk_shows_partner_users_no_internal_field(world, seeded, api_for):
    client = api_for(world.a_admin)
    schema = client.get("/api/v1/openapi.json").json()
    walked, leaks = [], []
    for template, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        for path in _fill(template, seeded, re.compile(r"\{(?P<name>\w+)\}")):
            response = client.get(path)
            assert response.status_code < 500, f"{path}: {response.status_code}"
            walked.append((path, response.status_code))
            leaks += _leaks(response.content.decode(errors="replace"), path)  # PDFs too
    for path in SCHEMA_PATHS:
        leaks += _leaks(client.get(path).text, path)
    assert not leaks, "\n".join(leaks)
    ok = {p for p, status in walked if status == 200}
    assert f"/api/v1/partners/{world.partner_a.public_id}" in ok  # the walk really saw the partner
    assert f"/api/v1/deals/{seeded['deals'][0]}" in ok
    assert f"/api/v1/conversions/{seeded['conversions'][0]}" in ok


def test_partner_writes_answer_with_partner_safe_output(world, seeded, api_for):
    """What a write returns is as partner-safe as what a read returns."""
    client = api_for(world.a_admin)
    created = client.post(
        "/api/v1/deals",
        {"customer_name": "Initech GmbH", "customer_domain": "initech.example", "amount": "10"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.text
    contact = client.patch(
        f"/api/v1/contacts/{seeded['contacts'][0]}", {"title": "CTO"}, content_type="application/json"
    )
    assert contact.status_code == 200, contact.text
    leaks = _leaks(created.text, "POST /deals") + _leaks(contact.text, "PATCH /contacts")
    assert not leaks, "\n".join(leaks)


def _url_templates(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, str]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace != "api":  # the API is walked through its schema above
                yield from _url_templates(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name or ""


def test_page_walk_shows_partner_users_no_internal_field(world, seeded, client_for):
    """Every page of the URLconf (the portal and any staff page) as a partner admin."""
    client = client_for(world.a_admin)
    param = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")
    walked, leaks = [], []
    for template, name in _url_templates(get_resolver()):
        if name == "logout" or template.startswith(("^", "static/", "media/")):
            continue
        # Staff pages whose ids the walker does not know get the partner's id: they must 404 anyway.
        for path in _fill(template, seeded, param, fallback=seeded["partners"]):
            response = client.get("/" + path)
            assert response.status_code < 500, f"/{path}: {response.status_code}"
            walked.append(("/" + path, response.status_code))
            leaks += _leaks(response.content.decode(errors="replace"), "/" + path)
    leaks += [f"mail to {m.to}: {w}" for m in mail.outbox for w in _leaks(m.body + m.subject, "mail")]
    assert not leaks, "\n".join(leaks)
    ok = {p for p, status in walked if status == 200}
    assert {
        "/portal/",
        "/portal/deals/",
        f"/portal/deals/{seeded['deals'][0]}/",
        "/portal/conversions/",
        "/portal/commissions/",
        f"/portal/commissions/statements/{seeded['statements'][0]}.pdf",
        f"/portal/commissions/statements/{seeded['statements'][0]}.csv",
        "/portal/commissions/payout-details/",
    } <= ok
    assert f"/portal/commissions/statements/{seeded['statements'][1]}.csv" not in ok  # partner B's
