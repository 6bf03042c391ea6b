"""Deal pages for staff (/deals/) and partners (/portal/deals/): roles, isolation, validation, flows."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.deals import services
from openprm.deals.models import ApprovalStatus, ConflictStatus, Deal, DealConflict, DealCoSeller, Product
from openprm.partners import services as partner_services
from openprm.testing import actor_for, make_user

pytestmark = pytest.mark.django_db

NEXT_MONTH = timezone.localdate() + datetime.timedelta(days=30)


def register(user, customer_name, customer_domain="", amount="10000", **data):
    actor = actor_for(user)
    payload = {"customer_name": customer_name, "customer_domain": customer_domain, "amount": amount, **data}
    with scope(actor.access_scope()):
        deal, _ = services.deal_register(actor=actor, data=payload)
    return deal


def as_system(world):
    return scope(world.system.access_scope())


def reload(deal):
    with unscoped():
        return Deal.objects.select_related("stage").get(pk=deal.pk)


@pytest.fixture
def deals(world):
    """A's admin registers ACME Inc. first; A's rep a deal of their own; then B registers Acme Corp."""
    a_acme = register(world.a_admin, "ACME Inc.", "www.acme.example", "50000", expected_close_date=NEXT_MONTH)
    a_rep = register(world.a_rep, "Hooli", "hooli.example", "7000")
    b_acme = register(world.b_admin, "Acme Corp", "acme.example", "40000", expected_close_date=NEXT_MONTH)
    with unscoped():
        conflict = DealConflict.objects.get(deal=b_acme, other=a_acme)
    return {"a_acme": a_acme, "a_rep": a_rep, "b_acme": b_acme, "conflict": conflict}


def staff_get_urls(deal):
    return [
        reverse("deals:detail", args=[deal.public_id]),
        reverse("deals:history", args=[deal.public_id]),
    ]


def staff_post_urls(deal):
    return [
        reverse("deals:approve", args=[deal.public_id]),
        reverse("deals:reject", args=[deal.public_id]),
        reverse("deals:request_info", args=[deal.public_id]),
        reverse("deals:stage", args=[deal.public_id]),
    ]


def portal_get_urls(deal):
    return [
        reverse("portal:deal_detail", args=[deal.public_id]),
        reverse("portal:deal_submitted", args=[deal.public_id]),
        reverse("portal:deal_edit", args=[deal.public_id]),
    ]


def portal_post_urls(deal):
    return [
        reverse("portal:deal_edit", args=[deal.public_id]),
        reverse("portal:deal_stage", args=[deal.public_id]),
    ]


POST_DATA = {
    "note": "ok",
    "reason": "Taken",
    "message": "Who is the buyer?",
    "stage": "closed_won",
    "resolution": "approve_this",
    "customer_name": "Hijacked",
    "customer_domain": "hijack.example",
    "amount": "1",
    "expected_close_date": "2030-01-01",
    "source": "sourced",
}


# --- pages render for the right roles -----------------------------------------------------------------------


def test_staff_pages_render_for_every_staff_role(world, deals, client_for):
    deal = deals["b_acme"]
    for user in (world.admin, world.manager, world.finance, world.analyst):
        client = client_for(user)
        for url in [
            reverse("deals:list"),
            reverse("deals:list") + "?view=board",
            reverse("deals:review"),
            reverse("deals:partner_panel", args=[world.partner_b.public_id]),
            *staff_get_urls(deal),
        ]:
            response = client.get(url)
            assert response.status_code == 200, (user.email, url)
        listing = client.get(reverse("deals:list")).text
        assert "ACME Inc." in listing and "Acme Corp" in listing and "Hooli" in listing
        assert 'id="pipeline-summary"' in listing


def test_only_editors_see_the_decision_and_move_controls(world, deals, client_for):
    url = reverse("deals:detail", args=[deals["b_acme"].public_id])
    manager_page = client_for(world.manager).get(url).text
    assert 'id="reject-form"' in manager_page and "Approve this &amp; reject other" in manager_page
    analyst_page = client_for(world.analyst).get(url).text
    assert 'id="reject-form"' not in analyst_page and "Approve this &amp; reject other" not in analyst_page
    assert "Change stage" not in analyst_page


def test_portal_deal_pages_render_for_partner_users(world, deals, client_for):
    client = client_for(world.b_admin)
    deal = deals["b_acme"]
    for url in [
        reverse("portal:deals"),
        reverse("portal:deal_register"),
        reverse("portal:deal_customers") + "?customer_name=ac",
        reverse("portal:notifications"),
        reverse("portal:notification_count"),
        *portal_get_urls(deal),
    ]:
        assert client.get(url).status_code == 200, url


def test_navigation_links(world, client_for):
    staff = client_for(world.manager).get(reverse("deals:list")).text
    assert 'href="/deals/"' in staff and 'href="/deals/review/"' in staff
    portal = client_for(world.a_rep).get(reverse("portal:home")).text
    assert 'href="/portal/deals/"' in portal and 'href="/portal/deals/new/"' in portal
    assert reverse("portal:notification_count") in portal


def test_anonymous_is_sent_to_login(deals, client):
    for url in [reverse("deals:list"), reverse("portal:deals"), *portal_get_urls(deals["b_acme"])]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


# --- isolation ----------------------------------------------------------------------------------------------


def test_partner_users_get_404_on_every_staff_deal_page(world, deals, client_for):
    conflict_url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    for user in (world.b_admin, world.a_admin, world.a_rep):
        client = client_for(user)
        for url in [reverse("deals:list"), reverse("deals:review")]:
            assert client.get(url).status_code == 404, url
        assert client.get(reverse("deals:partner_panel", args=[world.partner_a.public_id])).status_code == 404
        for deal in (deals["a_acme"], deals["b_acme"]):  # another partner's deal and their own
            for url in staff_get_urls(deal):
                assert client.get(url).status_code == 404, (user.email, url)
            for url in staff_post_urls(deal):
                assert client.post(url, POST_DATA).status_code == 404, (user.email, url)
        data = {**POST_DATA, "deal": deals["b_acme"].public_id}
        assert client.post(conflict_url, data).status_code == 404
    assert reload(deals["a_acme"]).approval_status == ApprovalStatus.SUBMITTED
    assert reload(deals["b_acme"]).approval_status == ApprovalStatus.SUBMITTED
    with unscoped():
        assert DealConflict.objects.get(pk=deals["conflict"].pk).status == ConflictStatus.OPEN


def test_other_partner_gets_404_for_every_portal_deal_page_and_action(world, deals, client_for):
    client = client_for(world.b_admin)
    for deal in (deals["a_acme"], deals["a_rep"]):
        for url in portal_get_urls(deal):
            assert client.get(url).status_code == 404, url
        for url in portal_post_urls(deal):
            assert client.post(url, POST_DATA).status_code == 404, url
    listing = client.get(reverse("portal:deals")).text
    assert "Acme Corp" in listing and "ACME Inc." not in listing and "Hooli" not in listing
    a_acme = reload(deals["a_acme"])
    assert a_acme.customer_name == "ACME Inc." and a_acme.stage.key == "registered"


def test_rep_gets_404_for_a_deal_registered_by_their_admin(world, deals, client_for):
    rep = client_for(world.a_rep)
    for url in portal_get_urls(deals["a_acme"]):
        assert rep.get(url).status_code == 404, url
    for url in portal_post_urls(deals["a_acme"]):
        assert rep.post(url, POST_DATA).status_code == 404, url
    listing = rep.get(reverse("portal:deals")).text
    assert "Hooli" in listing and "ACME Inc." not in listing
    assert reload(deals["a_acme"]).customer_name == "ACME Inc."
    # ...while the partner admin sees every deal of the partner, the rep's included.
    admin = client_for(world.a_admin)
    assert admin.get(reverse("portal:deal_detail", args=[deals["a_rep"].public_id])).status_code == 200
    admin_listing = admin.get(reverse("portal:deals")).text
    assert "Hooli" in admin_listing and "ACME Inc." in admin_listing and "Acme Corp" not in admin_listing


def test_staff_get_404_in_the_portal_deal_pages(world, deals, client_for):
    client = client_for(world.admin)
    for url in [reverse("portal:deals"), reverse("portal:deal_register"), reverse("portal:notifications")]:
        assert client.get(url).status_code == 404, url
    for url in portal_get_urls(deals["b_acme"]):
        assert client.get(url).status_code == 404, url


def test_staff_restricted_to_own_partners_gets_404_for_other_deals(world, deals, client_for):
    make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with as_system(world):
        partner_services.partner_update(
            actor=world.system, partner=world.partner_b, data={"owner_email": "own@vendor.test"}
        )
    with unscoped():
        from openprm.accounts.models import User

        client = client_for(User.objects.get(email="own@vendor.test"))
    listing = client.get(reverse("deals:list")).text
    assert "Acme Corp" in listing and "ACME Inc." not in listing and "Hooli" not in listing
    board = client.get(reverse("deals:list"), {"view": "board"}).text
    assert "Acme Corp" in board and "ACME Inc." not in board
    for url in staff_get_urls(deals["a_acme"]):
        assert client.get(url).status_code == 404, url
    for url in staff_post_urls(deals["a_acme"]):
        assert client.post(url, POST_DATA).status_code == 404, url
    assert client.get(reverse("deals:partner_panel", args=[world.partner_a.public_id])).status_code == 404
    conflict_url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    assert client.post(conflict_url, {**POST_DATA, "deal": deals["a_acme"].public_id}).status_code == 404
    assert client.get(reverse("deals:detail", args=[deals["b_acme"].public_id])).status_code == 200
    review = client.get(reverse("deals:review")).text
    assert "ACME Inc." not in review
    assert reload(deals["a_acme"]).approval_status == ApprovalStatus.SUBMITTED


# --- roles --------------------------------------------------------------------------------------------------


def test_analyst_and_finance_can_view_but_not_decide_or_move(world, deals, client_for):
    conflict_url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    for user in (world.analyst, world.finance):
        client = client_for(user)
        assert client.get(reverse("deals:detail", args=[deals["b_acme"].public_id])).status_code == 200
        for url in staff_post_urls(deals["b_acme"]):
            assert client.post(url, POST_DATA).status_code == 403, (user.email, url)
        assert client.post(reverse("deals:reject", args=[deals["b_acme"].public_id]), {}).status_code == 403
        response = client.post(conflict_url, {**POST_DATA, "deal": deals["b_acme"].public_id})
        assert response.status_code == 403
    b_acme = reload(deals["b_acme"])
    assert b_acme.approval_status == ApprovalStatus.SUBMITTED and b_acme.stage.key == "registered"
    with unscoped():
        assert DealConflict.objects.get(pk=deals["conflict"].pk).status == ConflictStatus.OPEN


# --- staff decisions ----------------------------------------------------------------------------------------


def test_reject_without_reason_shows_the_message_then_rejects_with_one(world, deals, client_for):
    client = client_for(world.manager)
    url = reverse("deals:reject", args=[deals["a_rep"].public_id])
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200
    assert "Give the partner a reason for the rejection." in response.text
    assert reload(deals["a_rep"]).approval_status == ApprovalStatus.SUBMITTED

    response = client.post(url, {"reason": "Existing direct opportunity"})
    assert response.status_code == 302
    deal = reload(deals["a_rep"])
    assert (
        deal.approval_status == ApprovalStatus.REJECTED
        and deal.decision_note == "Existing direct opportunity"
    )
    page = client.get(reverse("deals:detail", args=[deal.public_id])).text
    assert "Existing direct opportunity" in page and 'class="audit-entry"' in page
    assert "approval_status" in page  # the audit history shows the decision
    partner_page = client_for(world.a_rep).get(reverse("portal:deal_detail", args=[deal.public_id])).text
    assert "Rejected" in partner_page and "Existing direct opportunity" in partner_page


def test_approve_shows_protection_and_notifies_the_partner(world, deals, client_for):
    response = client_for(world.manager).post(reverse("deals:approve", args=[deals["a_rep"].public_id]), {})
    assert response.status_code == 302
    deal = reload(deals["a_rep"])
    assert deal.approval_status == ApprovalStatus.APPROVED and deal.protection_expires_at is not None
    rep = client_for(world.a_rep)
    count = rep.get(reverse("portal:notification_count")).text
    assert re.search(r">\s*1\s*<", count)
    page = rep.get(reverse("portal:notifications")).text
    assert "Deal approved: Hooli" in page and "new" in page
    assert rep.get(reverse("portal:notification_count")).text.strip() == ""  # shown = read
    with unscoped():
        assert not Notification.objects.filter(user=world.a_rep, read_at__isnull=True).exists()
        assert Notification.objects.filter(user=world.b_admin).count() == 0


def test_request_info_then_partner_answers_and_resubmits(world, deals, client_for):
    staff = client_for(world.manager)
    url = reverse("deals:request_info", args=[deals["b_acme"].public_id])
    assert "Say what information you need." in staff.post(url, {"message": ""}).text
    assert staff.post(url, {"message": "Which product line?"}).status_code == 302
    assert reload(deals["b_acme"]).approval_status == ApprovalStatus.MORE_INFO

    partner = client_for(world.b_admin)
    page = partner.get(reverse("portal:deal_detail", args=[deals["b_acme"].public_id])).text
    assert "Which product line?" in page and "Answer and resubmit" in page
    edit_url = reverse("portal:deal_edit", args=[deals["b_acme"].public_id])
    assert "Which product line?" in partner.get(edit_url).text
    response = partner.post(
        edit_url,
        {
            "customer_name": "Acme Corp",
            "customer_domain": "acme.example",
            "amount": "45000",
            "expected_close_date": NEXT_MONTH.isoformat(),
            "source": "sourced",
            "description": "The analytics line, 50 seats.",
        },
    )
    assert response.status_code == 302
    deal = reload(deals["b_acme"])
    assert deal.approval_status == ApprovalStatus.SUBMITTED
    assert deal.amount == Decimal("45000") and deal.description == "The analytics line, 50 seats."


# --- conflicts ----------------------------------------------------------------------------------------------


def test_conflict_box_explains_the_match(world, deals, client_for):
    page = client_for(world.manager).get(reverse("deals:detail", args=[deals["b_acme"].public_id])).text
    conflict = deals["conflict"]
    assert f'id="conflict-{conflict.public_id}"' in page
    assert "Acme Resellers" in page and "ACME Inc." in page
    assert f"{round(conflict.score * 100)}%" in page
    assert "identical domain" in page
    first_in = timezone.localtime(deals["a_acme"].registered_at).strftime("%Y-%m-%d %H:%M:%S")
    assert f"First in: <strong>Acme Resellers</strong>, {first_in}" in page
    # The first-in deal's page shows the same conflict, from its side.
    other = client_for(world.manager).get(reverse("deals:detail", args=[deals["a_acme"].public_id])).text
    assert "Globex Referrals" in other and "First in: <strong>this registration</strong>" in other


def test_resolving_a_conflict_needs_a_reason_then_approves_this_rejects_other(world, deals, client_for):
    client = client_for(world.manager)
    url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    data = {"deal": deals["b_acme"].public_id, "resolution": "approve_this"}
    response = client.post(url, {**data, "reason": ""})
    assert response.status_code == 200 and "Give the rejected partner a reason." in response.text
    assert client.post(url, {**data, "reason": "Globex brought the customer to us"}).status_code == 302
    b_acme, a_acme = reload(deals["b_acme"]), reload(deals["a_acme"])
    assert b_acme.approval_status == ApprovalStatus.APPROVED
    assert a_acme.approval_status == ApprovalStatus.REJECTED
    assert a_acme.decision_note == "Globex brought the customer to us"
    with unscoped():
        conflict = DealConflict.objects.get(pk=deals["conflict"].pk)
    assert conflict.status == ConflictStatus.RESOLVED and conflict.resolved_by_label == "manager@vendor.test"
    again = client.post(url, {**data, "reason": "again"})  # already resolved: told so, nothing changes
    assert again.status_code == 200 and "already resolved" in again.text


def test_approve_this_from_the_other_side_approves_the_page_deal(world, deals, client_for):
    url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    data = {"deal": deals["a_acme"].public_id, "resolution": "approve_this", "reason": "Acme was first"}
    assert client_for(world.manager).post(url, data).status_code == 302
    assert reload(deals["a_acme"]).approval_status == ApprovalStatus.APPROVED
    assert reload(deals["b_acme"]).approval_status == ApprovalStatus.REJECTED


def test_co_sell_and_not_a_conflict(world, deals, client_for):
    client = client_for(world.manager)
    url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    assert client.post(url, {"deal": deals["b_acme"].public_id, "resolution": "co_sell"}).status_code == 302
    with unscoped():
        assert DealConflict.objects.get(pk=deals["conflict"].pk).status == ConflictStatus.CO_SELL
        co_seller = DealCoSeller.objects.get(deal=deals["a_acme"])
    assert co_seller.partner_id == world.partner_b.pk
    assert "Globex Referrals" in client.get(reverse("deals:detail", args=[deals["a_acme"].public_id])).text

    third = register(world.a_admin, "Acme Corporation", "acme.example")
    with unscoped():
        conflict = DealConflict.objects.filter(deal=third).first()
    assert conflict is not None
    url = reverse("deals:conflict_resolve", args=[conflict.public_id])
    assert client.post(url, {"deal": third.public_id, "resolution": "dismiss"}).status_code == 302
    with unscoped():
        assert DealConflict.objects.get(pk=conflict.pk).status == ConflictStatus.DISMISSED
    assert reload(third).approval_status == ApprovalStatus.SUBMITTED


def test_conflict_of_another_deal_cannot_be_resolved_from_an_unrelated_deal_page(world, deals, client_for):
    url = reverse("deals:conflict_resolve", args=[deals["conflict"].public_id])
    data = {"deal": deals["a_rep"].public_id, "resolution": "dismiss"}
    assert client_for(world.manager).post(url, data).status_code == 404


def test_partner_pages_never_show_conflict_details(world, deals, client_for):
    client = client_for(world.b_admin)
    for url in [
        reverse("portal:deals"),
        *portal_get_urls(deals["b_acme"]),
        reverse("portal:deal_customers") + "?customer_name=acme",
    ]:
        text = client.get(url).text
        assert "Acme Resellers" not in text and "ACME Inc." not in text, url
        assert "conflict" not in text.lower() and "www.acme.example" not in text, url


# --- stages -------------------------------------------------------------------------------------------------


def test_staff_stage_change_requires_a_lost_reason(world, deals, client_for):
    client = client_for(world.manager)
    url = reverse("deals:stage", args=[deals["a_rep"].public_id])
    response = client.post(url, {"stage": "closed_lost"})
    assert response.status_code == 200 and "Say why the deal was lost." in response.text
    assert reload(deals["a_rep"]).stage.key == "registered"
    assert client.post(url, {"stage": "qualified"}).status_code == 302
    assert client.post(url, {"stage": "closed_lost", "lost_reason": "Budget cut"}).status_code == 302
    deal = reload(deals["a_rep"])
    assert deal.stage.key == "closed_lost" and deal.lost_reason == "Budget cut" and deal.closed_at
    page = client.get(reverse("deals:detail", args=[deal.public_id])).text
    history = page[page.index('id="stage-history"') :]
    assert history.index("Registered") < history.index("Qualified") < history.index("Closed lost")
    assert "Budget cut" in history


def test_board_card_moves_with_htmx_and_keeps_the_filters(world, deals, client_for):
    client = client_for(world.manager)
    board = client.get(reverse("deals:list"), {"view": "board"}).text
    for stage in ("Registered", "Qualified", "Proposal sent", "Negotiating", "Closed won", "Closed lost"):
        assert f"<span>{stage}</span>" in board
    response = client.post(
        reverse("deals:stage", args=[deals["a_rep"].public_id]),
        {
            "stage": "proposal_sent",
            "from": "board",
            "view": "board",
            "partner": str(world.partner_a.public_id),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    column = response.text[response.text.index('data-stage="proposal_sent"') :]
    column = column[: column.index("</section>")]
    assert "Hooli" in column
    assert "Acme Corp" not in response.text  # the partner filter came along
    assert reload(deals["a_rep"]).stage.key == "proposal_sent"
    # Closing as lost from a card without a reason shows the error on the card and changes nothing.
    response = client.post(
        reverse("deals:stage", args=[deals["a_rep"].public_id]),
        {"stage": "closed_lost", "from": "board", "view": "board"},
        headers={"HX-Request": "true"},
    )
    assert "Say why the deal was lost." in response.text
    assert reload(deals["a_rep"]).stage.key == "proposal_sent"


def test_partner_moves_stage_only_after_approval_with_lost_reason(world, deals, client_for):
    partner = client_for(world.a_rep)
    url = reverse("portal:deal_stage", args=[deals["a_rep"].public_id])
    detail = reverse("portal:deal_detail", args=[deals["a_rep"].public_id])
    assert "once the registration is approved" in partner.get(detail).text
    response = partner.post(url, {"stage": "qualified"})
    assert response.status_code == 200 and "must be approved before it moves on" in response.text
    assert reload(deals["a_rep"]).stage.key == "registered"

    client_for(world.manager).post(reverse("deals:approve", args=[deals["a_rep"].public_id]), {})
    response = partner.post(url, {"stage": "closed_lost"})
    assert response.status_code == 200 and "Say why the deal was lost." in response.text
    assert partner.post(url, {"stage": "closed_won"}).status_code == 302
    assert reload(deals["a_rep"]).stage.key == "closed_won"
    assert "Closed won" in partner.get(detail).text


# --- registration -------------------------------------------------------------------------------------------


def test_registration_form_validation_messages(world, client_for):
    client = client_for(world.a_rep)
    response = client.post(reverse("portal:deal_register"), {"source": "sourced"})
    assert response.status_code == 200
    for field in ("customer_name", "customer_domain", "amount", "expected_close_date"):
        row = response.text[response.text.index(f'id="row-{field}"') :]
        assert "This field is required." in row[: row.index("</div>") + 200], field
    response = client.post(
        reverse("portal:deal_register"),
        {
            "customer_name": "Initech",
            "customer_domain": "not a domain",
            "amount": "-5",
            "expected_close_date": "2030-01-01",
            "contact_email": "nope",
            "source": "sourced",
        },
    )
    assert "Ensure this value is greater than or equal to 0." in response.text
    assert "Enter a valid email address." in response.text
    assert 'value="Initech"' in response.text  # what was typed is kept
    response = client.post(
        reverse("portal:deal_register"),
        {
            "customer_name": "Initech",
            "customer_domain": "not a domain",
            "amount": "5",
            "expected_close_date": "2030-01-01",
            "source": "sourced",
        },
    )
    assert "is not a valid domain name" in response.text  # the service's check, on the field
    with unscoped():
        assert Deal.objects.count() == 0


def test_registration_has_at_most_six_required_fields(world, client_for):
    from openprm.deals.forms import RegistrationForm

    form = RegistrationForm(products=[])
    assert sum(1 for f in form.fields.values() if f.required) <= 6


def test_registration_submits_once_and_confirms_the_decision_due_date(world, client_for):
    with unscoped():
        Product.objects.create(workspace=world.workspace, name="Analytics Suite", list_price=Decimal("100"))
    client = client_for(world.a_rep)
    form_page = client.get(reverse("portal:deal_register")).text
    assert "Analytics Suite" in form_page
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', form_page).group(1)
    data = {
        "idempotency_key": key,
        "customer_name": "Initech",
        "customer_domain": "https://www.initech.example/about",
        "amount": "12500.50",
        "expected_close_date": NEXT_MONTH.isoformat(),
        "product": "Analytics Suite",
        "source": "sourced",
    }
    response = client.post(reverse("portal:deal_register"), data)
    assert response.status_code == 302
    again = client.post(reverse("portal:deal_register"), data)  # a double submit
    assert again.url == response.url
    with unscoped():
        deal = Deal.objects.prefetch_related("line_items").get()
    assert deal.partner_id == world.partner_a.pk and deal.registered_by_id == world.a_rep.pk
    assert deal.customer_domain == "initech.example" and deal.amount == Decimal("12500.50")
    assert [li.product_name for li in deal.line_items.all()] == ["Analytics Suite"]
    confirmation = client.get(response.url).text
    due = timezone.localtime(deal.approval_due_at).date()
    assert f"Submitted — decision due by {due:%a}, {due.day} {due:%b %Y}" in confirmation


def test_customer_typeahead_suggests_only_own_customers(world, deals, client_for):
    own = client_for(world.b_admin).get(reverse("portal:deal_customers"), {"customer_name": "acm"}).text
    assert '<datalist id="customer-suggestions">' in own
    assert '<option value="Acme Corp">' in own and "ACME Inc." not in own
    rep = client_for(world.a_rep).get(reverse("portal:deal_customers"), {"customer_name": "ac"}).text
    assert "ACME Inc." not in rep  # registered by the rep's admin, not the rep
    admin = client_for(world.a_admin).get(reverse("portal:deal_customers"), {"customer_name": "ac"}).text
    assert "ACME Inc." in admin and "Acme Corp" not in admin


# --- list, review, partner panel ----------------------------------------------------------------------------


def test_list_filters_sort_and_htmx_partial(world, deals, client_for):
    client = client_for(world.manager)
    url = reverse("deals:list")
    by_partner = client.get(url, {"partner": str(world.partner_b.public_id)}).text
    table = by_partner[by_partner.index('id="deal-table"') :]
    assert "Acme Corp" in table and "ACME Inc." not in table
    by_type = client.get(url, {"type": "referral"}).text
    table = by_type[by_type.index('id="deal-table"') :]
    assert "Acme Corp" in table and "Hooli" not in table
    amount = client.get(url, {"amount_min": "30000", "amount_max": "45000"}).text
    table = amount[amount.index('id="deal-table"') :]
    assert "Acme Corp" in table and "ACME Inc." not in table and "Hooli" not in table
    month = client.get(url, {"close_month": NEXT_MONTH.strftime("%Y-%m")}).text
    table = month[month.index('id="deal-table"') :]
    assert "Acme Corp" in table and "ACME Inc." in table and "Hooli" not in table
    partial = client.get(url, {"q": "hooli"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "Hooli" in partial.text and "Acme Corp" not in partial.text
    desc = client.get(url, {"sort": "-amount"}).text
    table = desc[desc.index('id="deal-table"') :]
    assert table.index("ACME Inc.") < table.index("Acme Corp") < table.index("Hooli")
    with unscoped():
        Deal.objects.filter(pk=deals["a_rep"].pk).update(
            stage_changed_at=timezone.now() - datetime.timedelta(days=40)
        )
    stalled = client.get(url, {"stalled": "1"}).text
    table = stalled[stalled.index('id="deal-table"') :]
    assert "Hooli" in table and "Acme Corp" not in table and "stalled" in table


def test_pipeline_review_sections(world, deals, client_for):
    with unscoped():
        Deal.objects.filter(pk=deals["a_rep"].pk).update(
            stage_changed_at=timezone.now() - datetime.timedelta(days=40),
            approval_due_at=timezone.now() - datetime.timedelta(hours=1),
            expected_close_date=timezone.localdate() - datetime.timedelta(days=3),
        )
    page = client_for(world.analyst).get(reverse("deals:review")).text

    def section(key):
        start = page.index(f'id="review-{key}"')
        return page[start : page.index("</section>", start)]

    assert "Hooli" in section("stalled") and "Acme Corp" not in section("stalled")
    assert "Hooli" in section("overdue_close")
    assert "Hooli" in section("approval_overdue") and "OVERDUE" in section("approval_overdue")
    assert "Acme Corp" not in section("approval_overdue")
    if NEXT_MONTH.month == timezone.localdate().month:  # pragma: no cover - only on some days
        assert "Acme Corp" in section("closing_this_month")
    detail = client_for(world.manager).get(reverse("deals:detail", args=[deals["a_rep"].public_id])).text
    approval = detail[detail.index('id="approval"') :]
    assert "OVERDUE" in approval[: approval.index("</section>")]


def test_partner_panel_shows_the_partners_deal_metrics(world, deals, client_for):
    manager = client_for(world.manager)
    manager.post(reverse("deals:approve", args=[deals["b_acme"].public_id]), {})
    manager.post(reverse("deals:stage", args=[deals["b_acme"].public_id]), {"stage": "closed_won"})
    detail = manager.get(reverse("partners:detail", args=[world.partner_b.public_id])).text
    assert reverse("deals:partner_panel", args=[world.partner_b.public_id]) in detail
    panel = manager.get(reverse("deals:partner_panel", args=[world.partner_b.public_id])).text
    assert re.search(r'id="metric-won-revenue">USD 40,000.00<', panel)
    assert 'id="metric-win-rate">100%<' in panel
    assert "Acme Corp" in panel and "ACME Inc." not in panel
    panel_a = manager.get(reverse("deals:partner_panel", args=[world.partner_a.public_id])).text
    assert 'id="metric-win-rate">—<' in panel_a
    assert re.search(r'id="metric-pipeline">USD 57,000.00<', panel_a)


# --- query counts -------------------------------------------------------------------------------------------


def _page_queries(client, url, params=None, headers=None):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}, headers=headers or {}).status_code == 200
    return len(queries)


def test_list_and_board_query_counts_do_not_grow_with_deals(world, client_for, django_assert_max_num_queries):
    staff, partner = client_for(world.manager), client_for(world.a_admin)
    pages = [
        (staff, reverse("deals:list"), {}, {}, 18),
        (staff, reverse("deals:list"), {"view": "board"}, {}, 23),
        (staff, reverse("deals:list"), {"view": "board"}, {"HX-Request": "true"}, 12),
        (staff, reverse("deals:list"), {"stalled": "1", "sort": "-amount"}, {"HX-Request": "true"}, 7),
        (staff, reverse("deals:review"), {}, {}, 14),
        (partner, reverse("portal:deals"), {}, {}, 7),
    ]
    first = register(world.a_admin, "First customer", "first.example")
    with unscoped():  # stalled, so that every list below has a row to show
        Deal.objects.filter(pk=first.pk).update(stage_changed_at=timezone.now() - datetime.timedelta(days=60))
    few = [_page_queries(client, url, params, headers) for client, url, params, headers, _ in pages]
    for i in range(30):
        register(
            world.a_admin if i % 2 else world.b_admin, f"Customer {i:02d}", f"c{i}.example", str(1000 + i)
        )
    with unscoped():
        Deal.objects.filter(customer_name__endswith="5").update(
            owner=world.manager, stage_changed_at=timezone.now() - datetime.timedelta(days=60)
        )
    many = []
    for client, url, params, headers, limit in pages:
        with django_assert_max_num_queries(limit):
            many.append(_page_queries(client, url, params, headers))
    assert many == few  # one query per list, never one per deal
    board = staff.get(reverse("deals:list"), {"view": "board"}).text
    assert "Customer 29" in board and "Customer 00" not in board  # a page of cards per column
    more = re.search(r'hx-get="([^"]*column=registered[^"]*)"', board)
    assert more is not None
    rest = staff.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"}).text
    assert "Customer 00" in rest and "Customer 29" not in rest and "<html" not in rest
