"""Writes for conversions: the vendor's reports of signups, purchases, recurring payments and refunds.

``conversion_record`` validates a report, replays it when its idempotency key was seen (409 on a
different body), attributes it (``activity.attribution``: click, link code, coupon, customer, refund),
applies the fraud rules and adds its rollup deltas in the same transaction. Flagged conversions stay
out of the rollups until staff accept them (``conversion_accept`` / ``conversion_reject``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import uuid
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from openprm.activity import attribution
from openprm.activity.models import Click, Conversion, Coupon, TrackingLink
from openprm.activity.rollups import conversion_deltas, rollups_add
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.domains import normalize_domain
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.core.tasks import enqueue_after_commit
from openprm.core.validation import clean_money, clean_text
from openprm.partners.models import Contact, Partner, Program

COMMISSIONS_JOB = "openprm.commissions.tasks.accrue_recent"  # a higher layer: named, not imported
COMMISSIONS_COALESCE = 5.0  # seconds: a burst of conversions makes one accrual run (it takes all changes)

EMAIL_HASH = re.compile(r"^[0-9a-f]{64}$")
FUTURE_TOLERANCE = datetime.timedelta(days=1)
PRIOR_LIMIT = 200  # the customer's earlier conversions considered for attribution


class Conflict(Exception):
    """An idempotency key reused for a different request (the API answers 409)."""


class ConversionInput(TypedDict, total=False):
    kind: str
    amount: Decimal | int | str
    currency: str
    occurred_at: datetime.datetime | None
    customer_external_id: str
    customer_email: str
    customer_email_hash: str
    click_id: str
    link_code: str
    coupon: str
    refund_of: str | uuid.UUID | None
    properties: dict[str, Any]


def _clean_occurred(errors: dict[str, str], value: Any, now: datetime.datetime) -> datetime.datetime:
    """When the conversion happened: left out is now; naive is UTC; at most a day ahead, not before 2000."""
    occurred = now if value is None else value
    if not isinstance(occurred, datetime.datetime):
        errors["occurred_at"] = "Use an ISO date-time."
        occurred = now
    elif timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred, datetime.UTC)
    if occurred > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = "Lies more than a day in the future."
    elif occurred.year < 2000:
        errors["occurred_at"] = "Lies before the year 2000."
    return occurred


def _clean_customer(errors: dict[str, str], data: ConversionInput, out: dict[str, Any]) -> None:
    """The customer's ids: an external id, and an e-mail address (kept only as its hash and its domain)
    or the hash alone."""
    out["customer_external_id"] = clean_text(
        errors, "customer_external_id", data.get("customer_external_id"), 200
    )
    email = clean_text(errors, "customer_email", data.get("customer_email"), 254)
    if email and "customer_email" not in errors and ("@" not in email or email.startswith("@")):
        errors["customer_email"] = "Not an e-mail address."
    hashed = clean_text(errors, "customer_email_hash", data.get("customer_email_hash"), 64).lower()
    if hashed and "customer_email_hash" not in errors and not EMAIL_HASH.match(hashed):
        errors["customer_email_hash"] = "A hex SHA-256 of the trimmed, lower-cased e-mail address."
    if email and hashed and attribution.email_hash(email) != hashed:
        errors["customer_email_hash"] = "Does not match customer_email."
    # Normalised like the partners' domains it is compared with (the self-referral rule).
    out["customer_email_domain"] = normalize_domain(email) if email else ""
    out["customer_email_hash"] = attribution.email_hash(email) if email else hashed


def _clean_refund_of(errors: dict[str, str], kind: str, refund_of: Any) -> uuid.UUID | None:
    """The refunded conversion's public id: required for a refund, refused for anything else."""
    parsed = None
    if refund_of:
        try:
            parsed = uuid.UUID(str(refund_of))
        except ValueError:
            errors["refund_of"] = "Not a conversion id."
    if kind == Conversion.Kind.REFUND and refund_of is None and "refund_of" not in errors:
        errors["refund_of"] = "A refund names the conversion it refunds."
    if kind != Conversion.Kind.REFUND and refund_of:
        errors["refund_of"] = "Only refunds refer to another conversion."
    return parsed


def _clean_conversion(
    data: ConversionInput, *, workspace_currency: str, now: datetime.datetime
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    kind = clean_text(errors, "kind", data.get("kind"), 20, required=True).lower()
    if "kind" not in errors and kind not in Conversion.Kind.values:
        errors["kind"] = f"Unknown kind '{kind}'. Known: {', '.join(Conversion.Kind.values)}."
    out["kind"] = kind
    amount = clean_money(errors, "amount", data.get("amount"), required=False)
    out["amount"] = Decimal("0.00") if amount is None else amount  # left out: a zero-amount event
    currency = clean_text(errors, "currency", data.get("currency") or workspace_currency, 3).upper()
    if "currency" not in errors and (len(currency) != 3 or not currency.isalpha() or not currency.isascii()):
        errors["currency"] = f"'{currency}' is not an ISO 4217 currency code."
    out["currency"] = currency
    out["occurred_given"] = data.get("occurred_at") is not None
    out["occurred_at"] = _clean_occurred(errors, data.get("occurred_at"), now)
    _clean_customer(errors, data, out)
    out["click_id"] = clean_text(errors, "click_id", data.get("click_id"), 32).lower()
    out["link_code"] = clean_text(errors, "link_code", data.get("link_code"), 64).lower()
    out["coupon"] = clean_text(errors, "coupon", data.get("coupon"), 64).upper()
    out["refund_of"] = _clean_refund_of(errors, kind, data.get("refund_of"))
    properties = data.get("properties") or {}
    if not isinstance(properties, dict) or len(json.dumps(properties, default=str)) > 20000:
        errors["properties"] = "Must be an object of at most 20,000 characters."
    out["properties"] = properties
    if errors:
        raise ValidationError(errors)
    return out


def _request_hash(values: dict[str, Any]) -> str:
    """What a retry must repeat: the request as sent (``occurred_at`` only when it was given)."""
    body = {
        key: values[key]
        for key in (
            "kind",
            "amount",
            "currency",
            "customer_external_id",
            "customer_email_hash",
            "click_id",
            "link_code",
            "coupon",
            "refund_of",
            "properties",
        )
    }
    body["occurred_at"] = values["occurred_at"] if values["occurred_given"] else None
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _by_key(workspace_id: int, key: str) -> Conversion | None:
    with unscoped():
        return Conversion.objects.filter(workspace_id=workspace_id, idempotency_key=key).first()


def _replay(existing: Conversion, request_hash: str) -> tuple[Conversion, bool]:
    if existing.request_hash != request_hash:
        raise Conflict("This idempotency key was used for a different conversion.")
    return existing, False


def _rules(workspace_id: int) -> dict[int | None, attribution.Rule]:
    rules: dict[int | None, attribution.Rule] = {}
    for program in Program.objects.filter(workspace_id=workspace_id).order_by("-is_default", "name"):
        rule = attribution.Rule(model=program.attribution_model, window_days=program.attribution_window_days)
        rules[program.pk] = rule
        rules.setdefault(None, rule)
    return rules


def _touches(workspace_id: int, clicks: list[Click], explicit_pk: int | None) -> dict[int, attribution.Touch]:
    link_programs = dict(
        TrackingLink.objects.filter(
            workspace_id=workspace_id, pk__in={c.link_id for c in clicks}
        ).values_list("pk", "program_id")
    )
    return {
        c.pk: attribution.Touch(
            click_pk=c.pk,
            partner_id=c.partner_id,
            program_id=link_programs.get(c.link_id),
            at=c.clicked_at,
            ip_hash=c.ip_hash,
            explicit=c.pk == explicit_pk,
        )
        for c in clicks
    }


def _references(workspace_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The click, link, coupon and refunded conversion the report names (an unknown one is a 422 on
    its field); the refunded conversion is locked, so two refunds of it are decided one after the other."""
    refs: dict[str, Any] = {"click": None, "link": None, "coupon": None, "refund_of": None}
    errors: dict[str, str] = {}
    if values["click_id"]:
        refs["click"] = Click.objects.filter(workspace_id=workspace_id, click_id=values["click_id"]).first()
        if refs["click"] is None:
            errors["click_id"] = "Unknown click id."
    if values["link_code"]:
        refs["link"] = TrackingLink.objects.filter(
            workspace_id=workspace_id, code=values["link_code"]
        ).first()
        if refs["link"] is None:
            errors["link_code"] = "Unknown tracking link."
    if values["coupon"]:
        refs["coupon"] = Coupon.objects.filter(workspace_id=workspace_id, code=values["coupon"]).first()
        if refs["coupon"] is None:
            errors["coupon"] = "Unknown coupon."
    if values["refund_of"] is not None:
        refs["refund_of"] = (
            Conversion.objects.filter(workspace_id=workspace_id, public_id=values["refund_of"])
            .select_for_update()
            .first()
        )
        if refs["refund_of"] is None:
            errors["refund_of"] = "Unknown conversion."
    if errors:
        raise ValidationError(errors)
    return refs


def _original(refunded: Conversion | None, values: dict[str, Any]) -> attribution.Original | None:
    """What a refund inherits from the conversion it refunds (None: not a refund)."""
    if refunded is None:
        return None
    _check_refund(refunded, values)
    return attribution.Original(
        partner_id=refunded.partner_id,
        program_id=refunded.program_id,
        click_pk=refunded.click_id,
        attributed_by=refunded.attributed_by,
        accepted=refunded.status == Conversion.Status.ACCEPTED,
    )


def _priors(workspace_id: int, values: dict[str, Any]) -> list[Conversion]:
    """The customer's earlier accepted, attributed conversions (by external id or e-mail hash), oldest
    first, with their clicks."""
    customer = Q(pk__in=[])
    if values["customer_external_id"]:
        customer |= Q(customer_external_id=values["customer_external_id"])
    if values["customer_email_hash"]:
        customer |= Q(customer_email_hash=values["customer_email_hash"])
    return list(
        Conversion.objects.filter(
            customer,
            workspace_id=workspace_id,
            status=Conversion.Status.ACCEPTED,
            partner__isnull=False,
            occurred_at__lte=values["occurred_at"],
        )
        .exclude(kind=Conversion.Kind.REFUND)
        .select_related("click")
        .order_by("occurred_at", "id")[:PRIOR_LIMIT]
    )


def _evidence(workspace_id: int, values: dict[str, Any]) -> tuple[attribution.Evidence, dict[str, Any]]:
    """The attribution inputs (and the rows they name; unknown references are a 422 on their field)."""
    refs = _references(workspace_id, values)
    original = _original(refs["refund_of"], values)
    priors_rows = _priors(workspace_id, values) if original is None else []
    clicks = [p.click for p in priors_rows if p.click is not None]
    if refs["click"] is not None:
        clicks.append(refs["click"])
    touches = _touches(workspace_id, clicks, refs["click"].pk if refs["click"] is not None else None)
    link, coupon = refs["link"], refs["coupon"]
    evidence = attribution.Evidence(
        occurred_at=values["occurred_at"],
        rules=_rules(workspace_id),
        explicit_click=touches[refs["click"].pk] if refs["click"] is not None else None,
        link=(link.partner_id, link.program_id, link.pk) if link is not None else None,
        coupon=(coupon.partner_id, coupon.program_id, coupon.pk) if coupon is not None else None,
        priors=[
            attribution.Prior(
                partner_id=p.partner_id,  # type: ignore[arg-type]  # filtered: not null
                program_id=p.program_id,
                occurred_at=p.occurred_at,
                touch=touches.get(p.click_id) if p.click_id is not None else None,
            )
            for p in priors_rows
        ],
        refund_of=original,
    )
    refs["touches"] = touches
    return evidence, refs


def _check_refund(original: Conversion, values: dict[str, Any]) -> None:
    if original.kind == Conversion.Kind.REFUND:
        raise ValidationError({"refund_of": "A refund cannot be refunded."})
    if values["currency"] != original.currency:
        raise ValidationError({"currency": f"The refunded conversion is in {original.currency}."})
    refunded = Conversion.objects.filter(refund_of=original).exclude(
        status=Conversion.Status.REJECTED
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    left = original.amount - refunded
    if values["amount"] > left:
        raise ValidationError({"amount": f"At most {left} {original.currency} is left to refund."})
    if not values["customer_external_id"] and not values["customer_email_hash"]:
        values["customer_external_id"] = original.customer_external_id
        values["customer_email_hash"] = original.customer_email_hash


def _inactive_code(decision: attribution.Decision, refs: dict[str, Any]) -> str:
    """The deactivated link or coupon a decision rests on, named for the flag ("" when none)."""
    link, coupon = refs["link"], refs["coupon"]
    if decision.attributed_by == attribution.BY_LINK and link is not None and not link.is_active:
        return f"tracking link {link.code}"
    if decision.attributed_by == attribution.BY_COUPON and coupon is not None and not coupon.is_active:
        return f"coupon {coupon.code}"
    return ""


def _fraud_facts(
    workspace_id: int,
    decision: attribution.Decision,
    values: dict[str, Any],
    refs: dict[str, Any],
) -> attribution.FraudFacts:
    if decision.partner_id is None or decision.attributed_by == attribution.BY_REFUND:
        return attribution.FraudFacts()
    partner = (
        Partner.objects.filter(workspace_id=workspace_id, pk=decision.partner_id).only("domains").first()
    )
    domains = frozenset(str(d).lower() for d in (partner.domains if partner else []) if d)
    contact_hashes = frozenset(
        attribution.email_hash(e)
        for e in Contact.objects.filter(workspace_id=workspace_id, partner_id=decision.partner_id)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    touches: dict[int, attribution.Touch] = refs["touches"]
    near = 0
    touch = touches.get(decision.click_pk) if decision.click_pk is not None else None
    if touch is not None and touch.ip_hash:
        window = attribution.CLICK_FLOOD_WINDOW
        near = Click.objects.filter(
            workspace_id=workspace_id,
            ip_hash=touch.ip_hash,
            clicked_at__gte=touch.at - window,
            clicked_at__lte=touch.at + window,
        ).count()
    return attribution.FraudFacts(
        customer_email_domain=values["customer_email_domain"],
        customer_email_hash=values["customer_email_hash"],
        partner_domains=domains,
        contact_email_hashes=contact_hashes,
        clicks_near_from_ip=near,
        partner_has_click=any(t.partner_id == decision.partner_id for t in touches.values()),
        inactive_code=_inactive_code(decision, refs),
    )


def _require_report(actor: Actor) -> None:
    if actor.is_partner_user:
        raise PermissionDenied("Conversions are reported by the vendor")
    actor.require(Perm.PARTNER_EDIT)


def conversion_record(
    *, actor: Actor, data: ConversionInput, idempotency_key: str | None, now: datetime.datetime | None = None
) -> tuple[Conversion, bool]:
    """Store a reported conversion, attributed and checked by the fraud rules; returns (row, created).

    The same idempotency key with the same request returns the stored conversion and stores nothing; with
    a different request it raises ``Conflict``."""
    _require_report(actor)
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError(
            {"idempotency_key": "Send an idempotency key (field or Idempotency-Key header)."}
        )
    if len(key) > 200 or "\x00" in key:
        raise ValidationError({"idempotency_key": "At most 200 characters, no NUL."})
    workspace_id = actor.workspace_id
    from openprm.core.models import Workspace

    currency = Workspace.objects.get(pk=workspace_id).currency
    values = _clean_conversion(data, workspace_currency=currency, now=now or timezone.now())
    request_hash = _request_hash(values)
    if (existing := _by_key(workspace_id, key)) is not None:
        return _replay(existing, request_hash)
    try:
        with transaction.atomic(), unscoped():  # the vendor's report spans every partner of the workspace
            evidence, refs = _evidence(workspace_id, values)
            decision = attribution.attribute(evidence)
            facts = _fraud_facts(workspace_id, decision, values, refs)
            flags = (*decision.flags, *attribution.fraud_flags(decision, facts))
            conversion = Conversion(
                workspace_id=workspace_id,
                partner_id=decision.partner_id,
                program_id=decision.program_id,
                kind=values["kind"],
                occurred_at=values["occurred_at"],
                amount=values["amount"],
                currency=values["currency"],
                customer_external_id=values["customer_external_id"],
                customer_email_hash=values["customer_email_hash"],
                click_id=decision.click_pk,
                link=refs["link"],
                coupon=refs["coupon"],
                refund_of=refs["refund_of"],
                attributed_by=decision.attributed_by,
                status=Conversion.Status.FLAGGED if flags else Conversion.Status.ACCEPTED,
                flags=[f.as_json() for f in flags],
                idempotency_key=key,
                request_hash=request_hash,
                properties=values["properties"],
            )
            conversion.save(force_insert=True)
            rollups_add(workspace_id=workspace_id, sums=conversion_deltas([_delta_row(conversion)]))
            if conversion.partner_id and conversion.status == Conversion.Status.ACCEPTED:
                enqueue_after_commit(
                    COMMISSIONS_JOB, workspace_id=workspace_id, coalesce=COMMISSIONS_COALESCE
                )  # commissions accrue
    except IntegrityError:
        existing = _by_key(workspace_id, key)  # a concurrent retry won the race
        if existing is None:
            raise
        return _replay(existing, request_hash)
    return conversion, True


def _delta_row(c: Conversion) -> tuple[int | None, str, datetime.datetime, Decimal, str]:
    return (c.partner_id, c.kind, c.occurred_at, c.amount, c.status)


def _set_status(
    *, actor: Actor, conversion: Conversion, status: str, allowed_from: set[str], note: str
) -> Conversion:
    if actor.is_partner_user:
        raise PermissionDenied("Only the vendor reviews conversions")
    actor.require(Perm.CONVERSION_REVIEW)
    note = note.replace("\x00", "").strip()[:500]
    with transaction.atomic(), unscoped():
        current = Conversion.objects.select_for_update().get(
            pk=conversion.pk, workspace_id=actor.workspace_id
        )
        if current.status == status:
            return current
        if current.status not in allowed_from:
            raise ValidationError(
                {"status": f"A {current.get_status_display().lower()} conversion cannot be changed so."}
            )
        before = snapshot(current, {"review_note": ""})
        rollups_add(workspace_id=current.workspace_id, sums=conversion_deltas([_delta_row(current)], sign=-1))
        current.status = status
        current.save(update_fields=["status", "updated_at"])
        rollups_add(workspace_id=current.workspace_id, sums=conversion_deltas([_delta_row(current)]))
        if current.partner_id:
            enqueue_after_commit(
                COMMISSIONS_JOB, workspace_id=current.workspace_id, coalesce=COMMISSIONS_COALESCE
            )  # accrue or reverse
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            instance=current,
            before=before,
            after=snapshot(current, {"review_note": note}),
            partner_id=current.partner_id,
        )
    return current


def conversion_accept(*, actor: Actor, conversion: Conversion, note: str = "") -> Conversion:
    """Staff: accept a flagged (or rejected) conversion; it counts from now on."""
    return _set_status(
        actor=actor,
        conversion=conversion,
        status=Conversion.Status.ACCEPTED,
        allowed_from={Conversion.Status.FLAGGED, Conversion.Status.REJECTED},
        note=note,
    )


def conversion_reject(*, actor: Actor, conversion: Conversion, note: str = "") -> Conversion:
    """Staff: reject a flagged (or accepted) conversion; it no longer counts."""
    return _set_status(
        actor=actor,
        conversion=conversion,
        status=Conversion.Status.REJECTED,
        allowed_from={Conversion.Status.FLAGGED, Conversion.Status.ACCEPTED},
        note=note,
    )
