"""Partner-facing pages. Everything here runs inside the partner user's scope: only their own partner."""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from openprm.accounts import selectors as account_selectors
from openprm.accounts import services as account_services
from openprm.accounts.forms import PartnerUserForm, add_service_errors
from openprm.accounts.models import Membership, Notification
from openprm.activity.forms import LinkForm
from openprm.activity.models import Conversion, TrackingLink
from openprm.activity.selectors import referrals as referral_selectors
from openprm.activity.services import referrals as referral_services
from openprm.core.http import actor_of, paginate, partner_view
from openprm.core.permissions import Perm, Role
from openprm.customers import selectors as customer_selectors
from openprm.customers.filters import STATUSES as ACCOUNT_STATUSES
from openprm.customers.filters import AccountFilters, RecordFilters
from openprm.dashboards import selectors as dashboard_selectors
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.filters import presets as dashboard_presets
from openprm.dashboards.filters import today as dashboard_today
from openprm.dashboards.selectors import Panel
from openprm.dashboards.tables import FORMATS as TABLE_FORMATS
from openprm.dashboards.tables import to_csv, to_xlsx
from openprm.deals import matching
from openprm.deals import selectors as deal_selectors
from openprm.deals import services as deal_services
from openprm.deals.forms import RegistrationForm, StageForm, registration_initial
from openprm.deals.models import ApprovalStatus, Deal, DealStageChange, Outcome
from openprm.deals.selectors import DealFilters
from openprm.finance import selectors as finance_selectors
from openprm.finance.filters import INVOICE_STATUSES, FinanceFilters
from openprm.finance.services import INVOICES
from openprm.metrics.periods import Period
from openprm.partners import selectors, services
from openprm.partners.forms import ContactForm
from openprm.partners.models import Contact, Partner
from openprm.portal import selectors as portal_selectors
from openprm.scorecards import selectors as scorecard_selectors


def _own_partner(request: HttpRequest) -> Partner:
    actor = actor_of(request)
    if actor.partner_id is None:
        raise Http404
    partner = selectors.partner_list(actor=actor).filter(pk=actor.partner_id).first()
    if partner is None:
        raise Http404
    return partner


@partner_view
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    partner = _own_partner(request)
    return render(
        request,
        "portal/home.html",
        {
            "partner": partner,
            "contacts": selectors.contact_list(actor=actor, partner=partner),
            "agreements": selectors.agreement_list(actor=actor, partner=partner),
            "can_edit_contacts": actor.can(Perm.CONTACT_EDIT_OWN),
            "summary": portal_selectors.portal_summary(actor=actor),
            "scorecard": scorecard_selectors.scorecard(
                actor=actor, partner=partner, period=Period.quarter_of(dashboard_today())
            ),
        },
    )


@partner_view
def contact_form(request: HttpRequest, public_id: str | None = None) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.CONTACT_EDIT_OWN)
    partner = _own_partner(request)
    contact = None
    if public_id is not None:
        try:
            contact = selectors.contact_get(actor=actor, public_id=public_id)
        except Contact.DoesNotExist:
            raise Http404 from None
    initial = {f: getattr(contact, f) for f in ContactForm.Meta.fields} if contact else None
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                services.contact_create(actor=actor, partner=partner, data=form.cleaned_data)
            else:
                services.contact_update(actor=actor, contact=contact, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Contact saved.")
            return redirect("portal:home")
    return render(request, "portal/contact_form.html", {"form": form, "contact": contact})


@partner_view
def team(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PORTAL_TEAM)
    form = PartnerUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = account_services.user_invite(
                actor=actor,
                partner_id=actor.partner_id,
                base_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invited {membership.user.email}; they were e-mailed a link.")
            return redirect("portal:team")
    memberships = account_selectors.membership_list(actor=actor, partner_id=actor.partner_id)
    roles = [(r.value, r.label) for r in (Role.PARTNER_ADMIN, Role.PARTNER_MANAGER, Role.PARTNER_REP)]
    return render(request, "portal/team.html", {"form": form, "memberships": memberships, "roles": roles})


@partner_view
@require_POST
def team_member(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PORTAL_TEAM)
    try:
        membership = account_selectors.membership_get(actor=actor, public_id=public_id)
    except (Membership.DoesNotExist, ValidationError):
        raise Http404 from None
    role = request.POST.get("role") or None
    active = request.POST.get("is_active")
    try:
        account_services.membership_update(
            actor=actor,
            membership=membership,
            role=role,
            is_active=None if active is None else active == "1",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Updated {membership.user.email}.")
    return redirect("portal:team")


# --- deals ----------------------------------------------------------------------------------------------
# Partner users see their own partner's deals (reps: only those they registered) and never anything of a
# conflict: no other partner's deal, name or score reaches these pages.


def _deal_or_404(request: HttpRequest, public_id: Any) -> Deal:
    try:
        return deal_selectors.deal_get(actor=actor_of(request), public_id=public_id)
    except Deal.DoesNotExist:
        raise Http404 from None


@partner_view
def deal_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    filters = DealFilters.from_mapping(request.GET)
    page = paginate(request, deal_selectors.deal_list(actor=actor, filters=filters), per_page=25)
    return render(
        request,
        "portal/deals.html",
        {"page": page, "filters": filters, "approvals": ApprovalStatus.choices},
    )


def _idempotency_key(request: HttpRequest) -> str:
    """One key per form shown: a double submit or a retried POST registers the deal once."""
    raw = (request.POST.get("idempotency_key") or "").strip()
    try:
        return uuid.UUID(raw).hex
    except ValueError:
        return uuid.uuid4().hex


def _registration_checks(form: RegistrationForm, *, registering: bool) -> bool:
    """The rules the registration service applies beyond the form's own (a real domain name; a close
    date not in the past), checked on the same submit so that every invalid field is flagged at once
    rather than one per submit. True when the form is valid."""
    valid = form.is_valid()
    data = form.cleaned_data
    raw = data.get("customer_domain")
    if raw and not matching.normalize_domain(raw):
        form.add_error("customer_domain", f"'{raw}' is not a valid domain name.")
    close = data.get("expected_close_date")
    if registering and close is not None and close < timezone.localdate():
        form.add_error("expected_close_date", "The expected close date is in the past.")
    return valid and not form.errors


@partner_view
def deal_register(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    products = list(deal_selectors.products(actor=actor))
    form = RegistrationForm(request.POST or None, products=products)
    key = _idempotency_key(request)
    if request.method == "POST" and _registration_checks(form, registering=True):
        try:
            deal, _ = deal_services.deal_register(actor=actor, data=form.to_input(), idempotency_key=key)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("portal:deal_submitted", public_id=deal.public_id)
    return render(request, "portal/deal_form.html", {"form": form, "idempotency_key": key, "deal": None})


@partner_view
@require_GET
def deal_customers(request: HttpRequest) -> HttpResponse:
    """Typeahead for the customer field: the partner's own earlier customers as <datalist> options."""
    query = request.GET.get("customer_name") or request.GET.get("q") or ""
    names = deal_selectors.customer_suggestions(actor=actor_of(request), q=query)
    return render(request, "portal/_customer_options.html", {"names": names})


@partner_view
def deal_submitted(request: HttpRequest, public_id: str) -> HttpResponse:
    return render(request, "portal/deal_submitted.html", {"deal": _deal_or_404(request, public_id)})


def _stage_rows(deal: Deal) -> list[tuple[DealStageChange, datetime.datetime | None, float | None]]:
    """(change, left at, days in the stage); a closing stage has no time in stage (the deal is over)."""
    changes = list(deal_selectors.stage_changes(deal=deal).order_by("changed_at", "id"))
    now = timezone.now()
    rows: list[tuple[DealStageChange, datetime.datetime | None, float | None]] = []
    for index, change in enumerate(changes):
        left_at = changes[index + 1].changed_at if index + 1 < len(changes) else None
        if left_at is None and change.to_stage.outcome != Outcome.OPEN:
            rows.append((change, None, None))
            continue
        rows.append(
            (change, left_at, max(0.0, ((left_at or now) - change.changed_at).total_seconds() / 86400))
        )
    return rows


def _deal_page(request: HttpRequest, deal: Deal, stage_form: StageForm | None = None) -> HttpResponse:
    stages = deal_services.program_stages(program=deal.program)
    return render(
        request,
        "portal/deal_detail.html",
        {
            "deal": deal,
            "stage_rows": _stage_rows(deal),
            "stage_form": stage_form or StageForm(initial={"stage": deal.stage.key}, stages=stages),
            "can_move": _movable(deal),
            "can_edit_deal": deal.approval_status in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO),
        },
    )


@partner_view
def deal_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return _deal_page(request, _deal_or_404(request, public_id))


@partner_view
def deal_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Edit a registration awaiting a decision; answering a request for information resubmits it."""
    actor = actor_of(request)
    deal = _deal_or_404(request, public_id)
    if deal.approval_status not in (ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO):
        messages.error(request, "A decided registration can no longer be edited.")
        return redirect("portal:deal_detail", public_id=deal.public_id)
    products = list(deal_selectors.products(actor=actor))
    form = RegistrationForm(request.POST or None, products=products, initial=registration_initial(deal))
    if request.method == "POST" and _registration_checks(form, registering=False):
        answering = deal.approval_status == ApprovalStatus.MORE_INFO
        try:
            deal_services.deal_update(actor=actor, deal=deal, data=form.to_input())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Resubmitted for a decision." if answering else "Registration updated.")
            return redirect("portal:deal_detail", public_id=deal.public_id)
    return render(request, "portal/deal_form.html", {"form": form, "deal": deal})


def _movable(deal: Deal) -> bool:
    """Partner users move approved deals that are still open; a closed deal's outcome is final here
    (the vendor reopens it if it was closed by mistake)."""
    return deal.approval_status == ApprovalStatus.APPROVED and deal.stage.outcome == Outcome.OPEN


@partner_view
@require_POST
def deal_stage(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    deal = _deal_or_404(request, public_id)
    form = StageForm(request.POST, stages=deal_services.program_stages(program=deal.program))
    if deal.stage.outcome != Outcome.OPEN:
        messages.error(request, f"This deal is closed ({deal.stage.name}): its stage can no longer change.")
        return redirect("portal:deal_detail", public_id=deal.public_id)
    if form.is_valid():
        try:
            deal_services.deal_move_stage(
                actor=actor,
                deal=deal,
                stage_key=form.cleaned_data["stage"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Moved to {deal.stage.name}.")
            return redirect("portal:deal_detail", public_id=deal.public_id)
    return _deal_page(request, deal, stage_form=form)


# --- referral tracking ------------------------------------------------------------------------------------
# The partner's own tracking links (any partner user may create one) and the conversions attributed to
# their partner; the scoped managers keep other partners' rows out (404 / absent).


@partner_view
def link_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = LinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link = referral_services.link_create(actor=actor, data=form.to_input())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created {request.build_absolute_uri('/r/' + link.code)}")
            return redirect("portal:links")
    page = paginate(request, referral_selectors.link_list(actor=actor), per_page=25)
    links = list(page.object_list)
    return render(
        request,
        "portal/links.html",
        {
            "form": form,
            "page": page,
            "links": links,
            "base_url": request.build_absolute_uri("/r/"),
            "clicks": referral_selectors.link_click_counts(actor=actor, links=links),
            "conversions": referral_selectors.link_conversion_counts(actor=actor, links=links),
            "coupons": referral_selectors.coupon_list(actor=actor).filter(is_active=True)[:50],
            "allowed_hosts": referral_selectors.tracking_hosts_for(
                workspace_id=actor.workspace_id, program=None
            ),
        },
    )


@partner_view
@require_POST
def link_set_active(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Deactivate (``active=0``: the link answers 404 from then on) or reactivate one of the partner's
    own links; other partners' links are 404 (the scoped selector does not find them)."""
    actor = actor_of(request)
    value = request.POST.get("active")
    if value not in ("0", "1"):
        raise Http404
    try:
        link = referral_selectors.link_get(actor=actor, public_id=public_id)
    except TrackingLink.DoesNotExist:
        raise Http404 from None
    referral_services.link_update(actor=actor, link=link, data={"is_active": value == "1"})
    messages.success(request, f"{'Reactivated' if value == '1' else 'Deactivated'} /r/{link.code}.")
    return redirect("portal:links")


@partner_view
def conversion_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    filters = referral_selectors.ReferralFilters.from_mapping(request.GET)
    filters.partner = ""  # always their own partner (the scope), whatever the URL says
    page = paginate(request, referral_selectors.conversion_list(actor=actor, filters=filters), per_page=25)
    return render(
        request,
        "portal/conversions.html",
        {
            "page": page,
            "filters": filters,
            # A fraud flag is the vendor's: partners see such conversions as "In review".
            "statuses": [
                (v, "In review" if v == Conversion.Status.FLAGGED else label)
                for v, label in Conversion.Status.choices
            ],
            "kinds": Conversion.Kind.choices,
        },
    )


# --- notifications ----------------------------------------------------------------------------------------
# The user's own in-app notifications (created by services, e.g. a deal decision). Read here directly:
# they belong to the user, not to a partner-scoped model.


def _notifications(request: HttpRequest) -> Any:
    actor = actor_of(request)
    return Notification.objects.filter(workspace_id=actor.workspace_id, user_id=actor.user_id or 0)


@partner_view
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; showing them marks the shown ones read."""
    page = paginate(request, _notifications(request), per_page=25)
    items = list(page.object_list)
    unread = [n.pk for n in items if n.read_at is None]
    if unread:
        _notifications(request).filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "portal/notifications.html", {"page": page, "items": items, "unread": set(unread)})


@partner_view
@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    """The unread count shown next to "Notifications" in the menu (loaded by HTMX)."""
    count = _notifications(request).filter(read_at__isnull=True).count()
    return render(request, "portal/_notification_count.html", {"count": count})


# --- performance ------------------------------------------------------------------------------------------
# The partner's scorecard, targets and pace, tier progress, trends and rank band (portal.selectors), with
# the staff partner dashboard's monthly charts (dashboards.selectors.PARTNER panels, drawn by
# dashboards.js from their JSON data requests). Only the period is read from the URL: there is no partner
# id or filter to change, so a partner user reaches nothing but their own partner's figures.

PERFORMANCE_CHARTS = (("revenue", "wide"), ("win_rate", ""), ("engagement", ""))


def _performance_filters(request: HttpRequest) -> DashboardFilters:
    """The period asked for (this quarter by default) as the dashboards' filters, nothing else."""
    default = Period.quarter_of(dashboard_today()).key
    return DashboardFilters.from_mapping({"period": request.GET.get("period", "").strip() or default})


def _performance_panel(request: HttpRequest, key: str) -> tuple[Panel, DashboardFilters]:
    if key not in dict(PERFORMANCE_CHARTS):
        raise Http404
    f = _performance_filters(request)
    return dashboard_selectors.PARTNER[key](actor_of(request), f, _own_partner(request)), f


def _invalid_period(f: DashboardFilters) -> JsonResponse:
    field, message = next(iter(f.errors.items()))
    return JsonResponse({"code": "invalid_period", "message": message, "field": field}, status=422)


@partner_view
def performance(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    partner = _own_partner(request)
    f = _performance_filters(request)
    if f.errors:
        messages.error(
            request, f"That period cannot be read ({next(iter(f.errors.values()))}): showing this quarter."
        )
        f = DashboardFilters.from_mapping({"period": Period.quarter_of(dashboard_today()).key})
    period = f.period_value
    query = urlencode({"period": period.key})
    charts = [
        {
            "key": key,
            "size": size,
            "url": f"{reverse('portal:performance_data', args=[key])}?{query}",
            "exports": [
                (fmt.upper(), f"{reverse('portal:performance_export', args=[key, fmt])}?{query}")
                for fmt in TABLE_FORMATS
            ],
        }
        for key, size in PERFORMANCE_CHARTS
    ]
    offered = dashboard_presets(dashboard_today())
    return render(
        request,
        "portal/performance.html",
        {
            "perf": portal_selectors.performance(actor=actor, partner=partner, period=period),
            "period": period,
            "presets": offered,
            "other_period": None if period.key in dict(offered) else period,
            "charts": charts,
        },
    )


@partner_view
@require_GET
def performance_data(request: HttpRequest, key: str) -> HttpResponse:
    """A chart's ECharts option (the dashboards' JSON) for the partner's own figures."""
    f = _performance_filters(request)
    if f.errors:
        return _invalid_period(f)
    panel, _ = _performance_panel(request, key)
    if panel.chart is None:
        raise Http404
    return JsonResponse(panel.chart.as_json())


@partner_view
@require_GET
def performance_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    """A chart's figures as CSV or XLSX (the dashboards' table writers)."""
    if fmt not in TABLE_FORMATS:
        raise Http404
    f = _performance_filters(request)
    if f.errors:
        return _invalid_period(f)
    panel, f = _performance_panel(request, key)
    if panel.table is None:
        raise Http404
    period = f.period_value
    described = [("Period", f"{period.label} ({period.start} to {period.end})")]
    body = to_csv(panel.table, described) if fmt == "csv" else to_xlsx(panel.table, described)
    response = HttpResponse(body, content_type=TABLE_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="performance-{key}-{period.key}.{fmt}"'
    return response


# --- customers and invoices -------------------------------------------------------------------------------
# The partner's own customer accounts (renewals, CSAT) and the invoices the vendor sent it, read through the
# customers and finance selectors inside the partner user's scope. No partner id is read from the URL (a
# ``partner`` parameter is dropped): the scope alone decides whose rows these are, and another partner's
# account answers 404 like a missing one. The templates show partner fields only (docs/visibility.md):
# never an account's or an invoice's internal note.

PORTAL_ACCOUNT_SORTS = (
    ("name", "Name"),
    ("-started", "Newest customers"),
    ("started", "Oldest customers"),
    ("-arr", "Largest ARR"),
)
INVOICE_STATUS_LABELS = {
    "paid": "Paid",
    "unpaid": "Unpaid",
    "overdue": "Overdue",
    "late": "Paid late",
    "disputed": "Disputed",
    "corrected": "Corrected",
}


@partner_view
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """The partner's customer accounts with their last renewal and CSAT (search, status, sort; 25 a page)."""
    actor = actor_of(request)
    filters = AccountFilters.from_mapping(request.GET)
    filters.partner = ""  # always their own partner (the scope), whatever the URL says
    if filters.sort not in dict(PORTAL_ACCOUNT_SORTS):
        filters.sort = "name"
    accounts = customer_selectors.account_summaries(actor=actor, filters=filters)
    return render(
        request,
        "portal/customers.html",
        {
            "page": paginate(request, accounts, per_page=25),
            "filters": filters,
            "statuses": [(s, s.title()) for s in ACCOUNT_STATUSES],
            "sorts": PORTAL_ACCOUNT_SORTS,
        },
    )


@partner_view
@require_GET
def customer_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One of the partner's accounts: its details, renewals and other changes, CSAT answers."""
    actor = actor_of(request)
    account = customer_selectors.account_summaries(actor=actor).filter(public_id=public_id).first()
    if account is None:
        raise Http404
    records = RecordFilters(account=str(account.public_id))
    return render(
        request,
        "portal/customer_detail.html",
        {
            "account": account,
            "changes": list(customer_selectors.change_list(actor=actor, filters=records)[:100]),
            "answers": list(customer_selectors.csat_list(actor=actor, filters=records)[:100]),
        },
    )


@partner_view
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    """The invoices the vendor sent the partner: status and issue months as filters, totals per currency."""
    actor = actor_of(request)
    filters = FinanceFilters.from_mapping(request.GET)
    filters.partner = ""  # always their own partner (the scope), whatever the URL says
    invoices = finance_selectors.record_list(actor=actor, kind=INVOICES, filters=filters)
    today = timezone.now().date()
    return render(
        request,
        "portal/invoices.html",
        {
            "page": paginate(request, invoices, per_page=25),
            "filters": filters,
            "statuses": [(s, INVOICE_STATUS_LABELS[s]) for s in INVOICE_STATUSES],
            "totals": finance_selectors.invoice_totals_by_currency(invoices, today=today),
            "today": today,
        },
    )
