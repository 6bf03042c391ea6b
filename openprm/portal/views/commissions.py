"""Commissions. The partner's balances by state, the upcoming payout (and why it may be carried forward),
the rate that applies to them now and what raises it, their statements (PDF, CSV) and payments, and every
commission with its explanation in words (commissions.selectors.portal). Partner admins keep the partner's
payout details (method, currency, account or e-mail, tax id) through the payouts service, shown masked.

No partner id is read from the URL: the scope alone decides whose rows these are; another partner's
statement answers 404 like a missing one. Only partner fields are rendered (docs/visibility.md): never a
ledger note, who approved an entry, an idempotency key or a plan's internal description."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from openprm.commissions.forms.payouts import DetailsForm
from openprm.commissions.models import Statement
from openprm.commissions.selectors import payouts as payout_selectors
from openprm.commissions.selectors import portal as commission_selectors
from openprm.commissions.selectors import statements as statement_selectors
from openprm.commissions.services import details as details_services
from openprm.core.http import actor_of, paginate, partner_view
from openprm.portal.views.common import _own_partner

STATE_LABELS = (
    ("pending", "Pending (in the holding period)"),
    ("approved", "Approved, to be paid"),
    ("paid", "Paid"),
    ("rejected", "Rejected"),
)
DOWNLOADS = ("pdf", "csv")


@partner_view
@require_GET
def commissions(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    partner = _own_partner(request)
    today = timezone.now().date()
    state = request.GET.get("state", "").strip()
    state = state if state in dict(STATE_LABELS) else ""
    entries = commission_selectors.entry_list(actor=actor, partner_id=partner.pk, state=state)
    page = paginate(request, entries, per_page=25)
    counts = commission_selectors.entry_counts(actor=actor, partner_id=partner.pk)
    return render(
        request,
        "portal/commissions.html",
        {
            "partner": partner,
            "today": today,
            "balances": commission_selectors.balances(actor=actor, partner_id=partner.pk),
            "upcoming": commission_selectors.upcoming_payouts(
                actor=actor, partner_id=partner.pk, today=today
            ),
            "rates": commission_selectors.rates_now(
                actor=actor,
                partner_id=partner.pk,
                today=today,
                in_force=commission_selectors.plan_in_force(actor=actor, partner_id=partner.pk, today=today),
            ),
            "statements": list(commission_selectors.statement_list(actor=actor, partner_id=partner.pk)[:24]),
            "payments": commission_selectors.payments(actor=actor, partner_id=partner.pk),
            "page": page,
            "lines": [commission_selectors.explain(e, today=today) for e in page],
            "state": state,
            "states": [(v, label, counts.get(v, 0)) for v, label in STATE_LABELS],
            "details": payout_selectors.payout_details_get(actor=actor, partner_id=partner.pk),
            "can_edit_details": details_services.can_edit_details(actor, partner.pk),
        },
    )


@partner_view
@require_GET
def commission_statement(request: HttpRequest, public_id: uuid.UUID, fmt: str) -> HttpResponse:
    """One of the partner's statements as PDF or CSV (another partner's answers 404)."""
    actor = actor_of(request)
    partner = _own_partner(request)
    if fmt not in DOWNLOADS:
        raise Http404
    own = commission_selectors.statement_list(actor=actor, partner_id=partner.pk)
    if not own.filter(public_id=public_id).exists():
        raise Http404
    try:
        rendered = statement_selectors.statement_render(actor=actor, public_id=public_id, fmt=fmt)
    except Statement.DoesNotExist:
        raise Http404 from None
    response = HttpResponse(rendered.content, content_type=rendered.mimetype)
    response["Content-Disposition"] = f'attachment; filename="{rendered.filename}"'
    return response


@partner_view
def payout_details(request: HttpRequest) -> HttpResponse:
    """The partner's payout details: partner admins see them (masked) and replace them; other partner
    users are told who keeps them (403)."""
    actor = actor_of(request)
    partner = _own_partner(request)
    if not details_services.can_edit_details(actor, partner.pk):
        raise PermissionDenied("Your partner's admins keep the payout details")
    current = payout_selectors.payout_details_get(actor=actor, partner_id=partner.pk)
    initial = (
        {
            "method": current.method,
            "currency": current.currency,
            "holder_name": current.holder_name,
            "self_billing": current.self_billing,
        }
        if current.exists
        else {"currency": commission_selectors.earning_currency(actor=actor, partner_id=partner.pk) or "USD"}
    )
    form = DetailsForm(request.POST or None, initial=initial, staff=False)
    form.fields["currency"].help_text = "The currency you want to be paid in (ISO code, e.g. EUR)"
    form.fields["email"].help_text = "For PayPal or Wise: the account's e-mail address"
    form.fields[
        "self_billing"
    ].help_text = "We issue the invoice for your commissions on your behalf, with your tax id (self-billing)"
    if request.method == "POST" and form.is_valid():
        try:
            details_services.payout_details_save(actor=actor, partner_id=partner.pk, data=form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Payout details saved. Only the masked form is ever shown again.")
            return redirect("portal:commissions")
    return render(
        request, "portal/payout_details.html", {"form": form, "current": current, "partner": partner}
    )
