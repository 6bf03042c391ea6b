"""A partner's payout details: the method (bank transfer, PayPal, Wise), the currency they want, and the
sensitive fields — IBAN / account number, PayPal or Wise e-mail, tax id — encrypted at rest.

Encryption: the sensitive fields are one JSON object sealed with Fernet (AES-128-CBC + HMAC-SHA256) into
``PayoutDetails.secret``. The key is ``PRM_ENCRYPTION_KEY`` (Fernet keys, comma-separated: the first
encrypts, all decrypt, so a new key is rotated in by putting it first) or, when unset, a key derived
from ``SECRET_KEY`` with HKDF-SHA256 (which also always decrypts, so setting a key later loses nothing).
Nothing sensitive is stored in plain text: ``display`` holds the masked form shown to staff and partners
("DE•• •••• 3000", "j•••@example.com"), the audit trail records the masked form too, and the plain values
leave the database only into a payout run's export file (``sealed_for_export``). Each payout item keeps
a copy of the token as it was when the item was made (``PayoutItem.details_secret``): resealing covers
those copies too.

Who writes: staff with ``payout.manage`` for any partner they may see; a partner admin for their own
partner (the portal's page calls ``payout_details_save`` with the partner user as actor).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.commissions.models import PayoutDetails
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm, Role
from openprm.core.scoping import unscoped
from openprm.core.validation import clean_money, clean_text
from openprm.partners.models import Partner

HKDF_INFO = b"openprm payout details v1"
BULLET = "\u2022"
METHODS = tuple(PayoutDetails.Method.values)
# The sensitive fields of each method (sealed); ``tax_id`` is sealed for every method.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "bank": ("iban", "bic", "account_number", "routing_number"),
    "paypal": ("email",),
    "wise": ("email",),
}
IBAN_RE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
BIC_RE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- sealing ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _cipher(configured: str, secret_key: str, derived_ok: bool) -> MultiFernet:
    keys = [Fernet(k.strip().encode()) for k in configured.split(",") if k.strip()]
    if derived_ok or not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            secret_key.encode()
        )
        keys.append(Fernet(base64.urlsafe_b64encode(derived)))
    return MultiFernet(keys)


def cipher() -> MultiFernet:
    """``PRM_ENCRYPTION_KEY``'s keys (the first encrypts), then the key derived from ``SECRET_KEY`` —
    unless ``PRM_ENCRYPTION_DERIVED_KEY`` is off (after ``prm payout_details reseal``): then a
    ``SECRET_KEY`` leak no longer opens any payout details."""
    return _cipher(
        str(getattr(settings, "PRM_ENCRYPTION_KEY", "") or ""),
        str(settings.SECRET_KEY),
        bool(getattr(settings, "PRM_ENCRYPTION_DERIVED_KEY", True)),
    )


def seal(values: dict[str, str]) -> str:
    return cipher().encrypt(json.dumps(values, sort_keys=True).encode()).decode("ascii")


class UnreadableDetailsError(ValueError):
    """The stored details were sealed with a key this installation no longer has."""


def unseal(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = json.loads(cipher().decrypt(token.encode("ascii")))
    except InvalidToken:
        raise UnreadableDetailsError(
            "The payout details were encrypted with another key (PRM_ENCRYPTION_KEY or PRM_SECRET_KEY "
            "changed): enter them again."
        ) from None
    return {str(k): str(v) for k, v in data.items()}


def mask(field: str, value: str) -> str:
    """What staff and partners see: an IBAN's country and last four, an e-mail's first letter and
    domain, any other number's last four. A BIC is not secret (it names a bank) and is shown whole."""
    value = value.strip()
    if not value or field == "bic":
        return value
    if field == "email" and "@" in value:
        local, domain = value.rsplit("@", 1)
        return f"{local[:1]}{BULLET * 3}@{domain}"
    if field == "iban":
        return f"{value[:2]}{BULLET * 2} {BULLET * 4} {value[-4:]}"
    return f"{BULLET * 4} {value[-4:]}" if len(value) > 4 else BULLET * len(value)


def iban_ok(iban: str) -> bool:
    """ISO 13616: country and check digits moved to the end, letters as numbers, the whole mod 97 = 1."""
    if not IBAN_RE.match(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


# --- what callers see -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetailsView:
    """A partner's payout details as shown (masked): never a plain sensitive value."""

    exists: bool
    method: str = ""
    method_label: str = ""
    currency: str = ""
    holder_name: str = ""
    masked: dict[str, str] | None = None  # field → masked value
    display: str = ""
    has_tax_id: bool = False
    self_billing: bool = False
    min_payout: Decimal | None = None
    updated_at: Any = None


def details_view(details: PayoutDetails | None) -> DetailsView:
    if details is None:
        return DetailsView(exists=False)
    try:
        plain = unseal(details.secret)
    except UnreadableDetailsError:
        plain = {}
    masked = {k: mask(k, v) for k, v in plain.items() if v}
    return DetailsView(
        exists=True,
        method=details.method,
        method_label=details.get_method_display(),
        currency=details.currency,
        holder_name=details.holder_name,
        masked=masked,
        display=details.display,
        has_tax_id=bool(plain.get("tax_id")),
        self_billing=details.self_billing,
        min_payout=details.min_payout,
        updated_at=details.updated_at,
    )


def can_edit_details(actor: Actor, partner_id: int) -> bool:
    if actor.is_partner_user:
        return actor.partner_id == partner_id and actor.role == Role.PARTNER_ADMIN
    return actor.is_staff and actor.can(Perm.PAYOUT_MANAGE)


def _display(method: str, plain: dict[str, str]) -> str:
    if method == "bank":
        if plain.get("iban"):
            return f"IBAN {mask('iban', plain['iban'])}"
        return f"Account {mask('account_number', plain.get('account_number', ''))}"
    return f"{PayoutDetails.Method(method).label} {mask('email', plain.get('email', ''))}"


def clean_details(data: dict[str, Any], *, staff: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """(model values, plain sensitive values) from a form or API body; every problem named by field."""
    errors: dict[str, str] = {}
    method = clean_text(errors, "method", data.get("method"), 10, required=True).lower()
    if "method" not in errors and method not in METHODS:
        errors["method"] = f"Choose one of: {', '.join(METHODS)}."
    currency = clean_text(errors, "currency", data.get("currency"), 3, required=True).upper()
    if "currency" not in errors and (len(currency) != 3 or not currency.isalpha()):
        errors["currency"] = f"'{currency}' is not an ISO 4217 currency code (e.g. EUR)."
    holder = clean_text(errors, "holder_name", data.get("holder_name"), 200, required=method == "bank")
    plain: dict[str, str] = {}
    if method == "bank":
        iban = re.sub(r"\s+", "", clean_text(errors, "iban", data.get("iban"), 42)).upper()
        account = re.sub(r"[\s-]+", "", clean_text(errors, "account_number", data.get("account_number"), 34))
        routing = re.sub(r"[\s-]+", "", clean_text(errors, "routing_number", data.get("routing_number"), 20))
        bic = re.sub(r"\s+", "", clean_text(errors, "bic", data.get("bic"), 11)).upper()
        if iban and not iban_ok(iban):
            errors["iban"] = "Not a valid IBAN (check the country code, the check digits and the length)."
        if not iban and not account and "iban" not in errors:
            errors["iban"] = "Give an IBAN, or an account number."
        if bic and not BIC_RE.match(bic):
            errors["bic"] = "Not a valid BIC/SWIFT code (8 or 11 letters and digits)."
        plain.update(iban=iban, account_number=account, routing_number=routing, bic=bic)
    elif method in ("paypal", "wise"):
        email = clean_text(errors, "email", data.get("email"), 254, required=True).lower()
        if "email" not in errors and not EMAIL_RE.match(email):
            errors["email"] = "Not an e-mail address."
        plain["email"] = email
    plain["tax_id"] = clean_text(errors, "tax_id", data.get("tax_id"), 60)
    values: dict[str, Any] = {
        "method": method,
        "currency": currency,
        "holder_name": holder,
        "self_billing": bool(data.get("self_billing")),
    }
    if staff and "min_payout" in data:
        values["min_payout"] = clean_money(errors, "min_payout", data.get("min_payout"), required=False)
    if errors:
        raise ValidationError(errors)
    return values, {k: v for k, v in plain.items() if v}


def _audit_view(details: PayoutDetails) -> dict[str, Any]:
    """The audited form: the masked values, never the token."""
    data = snapshot(details)
    data.pop("secret", None)
    data["tax_id"] = mask("tax_id", details.tax_id) if details.tax_id else ""
    return data


def _in_payment(partner_id: int) -> str:
    """What blocks a change of the partner's details: a pending item in an exported or failed run (it
    pays the details sealed into it, so a change saved now would not reach that payment: the partner
    waits for it). "" when nothing does. A failed item does not block: its details are meant to be
    fixed before the retry, which seals them again."""
    from openprm.commissions.models import PayoutItem, PayoutRun

    with unscoped():
        item = (
            PayoutItem.objects.filter(
                partner_id=partner_id,
                status=PayoutItem.Status.PENDING,
                run__status__in=(PayoutRun.Status.EXPORTED, PayoutRun.Status.FAILED),
            )
            .select_related("run")
            .first()
        )
    if item is None:
        return ""
    return (
        f"A payout of {item.amount} {item.currency} to these details is in progress (run of "
        f"{item.run.cutoff:%Y-%m-%d}, {item.run.get_status_display().lower()}): the details can be "
        "changed once finance has marked it paid or failed."
    )


def _notify_change(actor: Actor, details: PayoutDetails, created: bool) -> None:
    """Tell the partner's other admins and finance (finance and admin staff) that the details changed
    — the masked form only — so a change nobody asked for is seen."""
    from openprm.accounts.models import Membership
    from openprm.notifications.services import notify

    with unscoped():
        partner_admins = set(
            Membership.objects.filter(
                workspace_id=details.workspace_id,
                partner_id=details.partner_id,
                role=Role.PARTNER_ADMIN,
                is_active=True,
            ).values_list("user_id", flat=True)
        )
        finance = set(
            Membership.objects.filter(
                workspace_id=details.workspace_id,
                partner__isnull=True,
                role__in=(Role.FINANCE, Role.ADMIN),
                is_active=True,
            ).values_list("user_id", flat=True)
        )
        partner_name = Partner.objects.filter(pk=details.partner_id).values_list("name", flat=True).first()
    mine = {actor.user_id} if actor.user_id else set()
    verb = "added" if created else "changed"
    title = f"Payout details {verb}: {partner_name or 'partner'}"
    body = (
        f"The payout details of {partner_name} were {verb} by {actor.label}: {details.display} "
        f"({details.currency}). If nobody asked for this change, tell finance at once."
    )
    kind = "commissions.payout_details"
    if partner_admins - mine:
        notify(
            workspace_id=details.workspace_id,
            kind=kind,
            severity="warning",
            title=title,
            body=body,
            link="/portal/commissions/",
            users=sorted(partner_admins - mine),
            partner_id=details.partner_id,
        )
    if finance - mine:
        notify(
            workspace_id=details.workspace_id,
            kind=kind,
            severity="warning",
            title=title,
            body=body,
            link="/commissions/payout-details/",
            users=sorted(finance - mine),
        )


@transaction.atomic
def payout_details_save(*, actor: Actor, partner_id: int, data: dict[str, Any]) -> PayoutDetails:
    """Create or replace a partner's payout details (all fields at once: a blank sensitive field is
    cleared, not kept). Audited with the masked values."""
    if not can_edit_details(actor, partner_id):
        raise PermissionDenied("Only finance staff and the partner's admins change payout details")
    values, plain = clean_details(data, staff=actor.is_staff)
    current = PayoutDetails.objects.select_for_update().filter(partner_id=partner_id).first()
    blocked = _in_payment(partner_id)
    if blocked:
        raise ValidationError({"details": blocked})  # not one field: shown above the form
    before = _audit_view(current) if current is not None else None
    details = current or PayoutDetails(workspace_id=actor.workspace_id, partner_id=partner_id)
    for key, value in values.items():
        setattr(details, key, value)
    details.secret = seal(plain)
    details.display = _display(details.method, plain)
    # tax_id column: only its masked form (the plain value is inside the sealed secret)
    details.tax_id = mask("tax_id", plain["tax_id"]) if plain.get("tax_id") else ""
    details.updated_by_id = actor.user_id
    details.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE if before is not None else AuditEntry.Action.CREATE,
        instance=details,
        before=before,
        after=_audit_view(details),
        partner_id=partner_id,
    )
    transaction.on_commit(lambda: _notify_change(actor, details, before is None))
    return details


def payout_details_of(*, partner_id: int) -> PayoutDetails | None:
    """The partner's details row (scoped by the active scope: a partner user only reaches their own)."""
    return PayoutDetails.objects.filter(partner_id=partner_id).first()


def details_for_export(details: PayoutDetails) -> dict[str, str]:
    """The plain sensitive values, for a payout run's export file only."""
    return unseal(details.secret)


def sealed_for_export(token: str) -> dict[str, str]:
    """The plain sensitive values of a payout item's sealed copy, for its run's export file only."""
    return unseal(token)


def payment_fields(token: str) -> dict[str, str]:
    """The sealed fields a payment is made with (the tax id left out); {} when unreadable."""
    try:
        plain = unseal(token)
    except UnreadableDetailsError:
        return {}
    plain.pop("tax_id", None)
    return plain


def details_reseal(*, workspace_id: int | None = None) -> int:
    """Seal every payout details token again with the first key (``PRM_ENCRYPTION_KEY``'s first), and
    every payout item's copy of one, so older keys — the one derived from ``SECRET_KEY`` included — can
    then be retired. Only the tokens change (same plain values); idempotent. Returns the number of
    details rows resealed."""
    from openprm.commissions.models import PayoutItem

    primary = cipher()
    done = 0
    with unscoped():
        rows = PayoutDetails.objects.exclude(secret="")
        items = PayoutItem.objects.exclude(details_secret="")
        if workspace_id is not None:
            rows = rows.filter(workspace_id=workspace_id)
            items = items.filter(workspace_id=workspace_id)
        for pk in rows.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                row = PayoutDetails.objects.select_for_update().get(pk=pk)
                token = primary.rotate(row.secret.encode("ascii")).decode("ascii")
                PayoutDetails.objects.filter(pk=pk).update(secret=token)
                done += 1
        for pk in items.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                item = PayoutItem.objects.select_for_update().get(pk=pk)
                token = primary.rotate(item.details_secret.encode("ascii")).decode("ascii")
                PayoutItem.objects.filter(pk=pk).update(details_secret=token)
    return done
