"""Portal home figures, closed deals, registration errors and the menu's API links."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openprm.core import permissions
from openprm.core.permissions import Perm, Role
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import Deal
from openprm.deals.rollups import rollups_rebuild
from openprm.portal.selectors import portal_summary
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db
MAX_SUMMARY_QUERIES = 20  # the engine reading two periods (17 today), the decisions: never per deal


def _deal(world: Any, name: str, amount: str, *, partner: Any = None, currency: str = "USD") -> Deal:
    with scope(world.system.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=world.system,
            data={
                "partner_id": (partner or world.partner_a).pk,
                "customer_name": name,
                "customer_domain": f"{name.lower().replace(' ', '')}.example",
                "amount": amount,
                "currency": currency,
            },
        )
    return deal


def _approve(world: Any, deal: Deal) -> Deal:
    with scope(world.system.access_scope()):
        return deal_services.deal_approve(actor=world.system, deal=deal, note="ok")


def _close(world: Any, deal: Deal, key: str, *, at: datetime.datetime | None = None) -> Deal:
    with scope(world.system.access_scope()):
        deal_services.deal_move_stage(actor=world.system, deal=deal, stage_key=key, lost_reason="Budget cut")
    if at is not None:
        with unscoped():
            Deal.objects.filter(pk=deal.pk).update(closed_at=at)
        rollups_rebuild(workspace_id=world.workspace.pk)  # the rollups the figures read follow the redate
    with unscoped():
        return Deal.objects.select_related("stage").get(pk=deal.pk)


@pytest.fixture
def pipeline(world: Any) -> dict[str, Deal]:
    """Partner A: two open deals (one waiting, one approved), one won this year, one won 13 months ago,
    one lost, one rejected; partner B: an open deal that must not count."""
    now = timezone.now()
    deals = {
        "waiting": _deal(world, "Waiting Co", "100"),
        "open": _approve(world, _deal(world, "Open Co", "250.50")),
        "won": _approve(world, _deal(world, "Won Co", "1000")),
        "old_win": _approve(world, _deal(world, "Old Win Co", "5000")),
        "lost": _approve(world, _deal(world, "Lost Co", "700")),
        "rejected": _deal(world, "Rejected Co", "900"),
        "other": _deal(world, "Globex Deal", "99999", partner=world.partner_b),
    }
    with scope(world.system.access_scope()):
        deal_services.deal_reject(actor=world.system, deal=deals["rejected"], reason="Not a fit")
    year_start = timezone.localtime(now).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    deals["won"] = _close(
        world, deals["won"], "closed_won", at=max(year_start, now - datetime.timedelta(days=1))
    )
    deals["old_win"] = _close(world, deals["old_win"], "closed_won", at=now - datetime.timedelta(days=400))
    deals["lost"] = _close(world, deals["lost"], "closed_lost")
    return deals


def test_home_shows_open_deals_won_revenue_and_recent_decisions(world, pipeline, client_for):
    page = client_for(world.a_admin).get(reverse("portal:home"))
    assert page.status_code == 200
    html = page.content.decode()
    figures = html[html.index('id="figures"') : html.index('id="decisions"')]
    assert ">2<" in figures.replace(" ", "").replace("\n", "")  # two open deals (waiting + approved)
    assert "USD 351 in play" in figures  # 100 + 250.50, rounded for the tile
    assert "USD 1,000" in figures  # won this year and in 12 months; the 13-month-old win is not
    assert "5,000" not in figures and "6,000" not in figures and "99,999" not in figures
    decisions = html[html.index('id="decisions"') :]
    for name in ("Rejected Co", "Lost Co", "Won Co", "Open Co"):
        assert name in decisions
    assert "Waiting Co" not in decisions and "Globex" not in decisions


def test_summary_is_read_through_the_metric_engine(world, pipeline, django_assert_max_num_queries):
    actor = actor_for(world.a_admin)
    for n in range(20):  # more deals do not mean more queries
        _deal(world, f"Extra {n}", "10")
    with scope(actor.access_scope()), django_assert_max_num_queries(MAX_SUMMARY_QUERIES):
        summary = portal_summary(actor=actor, partner=world.partner_a)
        decisions = [d.customer_name for d in summary.decisions]
    main = summary.main
    assert main is not None and main.currency == "USD"
    assert (main.open_count, main.open_amount) == (22, Decimal("550.50"))  # 100 + 250.50 + 20 × 10
    assert (main.won_this_year, main.won_last_12_months) == (Decimal("1000.00"), Decimal("1000.00"))
    assert decisions[0] == "Rejected Co" and len(decisions) == 5


def test_rep_sees_the_partners_figures_and_only_their_own_decisions(world, pipeline):
    """The figures are the partner's (the metric engine's, as on the performance page a rep also sees);
    the recent decisions stay the rep's own registrations."""
    actor = actor_for(world.a_rep)
    with scope(actor.access_scope()):
        summary = portal_summary(actor=actor, partner=world.partner_a)
    assert summary.main is not None and summary.main.won_last_12_months == Decimal("1000.00")
    assert summary.decisions == []


def test_closed_deal_shows_its_outcome_and_cannot_be_moved(world, pipeline, client_for):
    lost = pipeline["lost"]
    client = client_for(world.a_admin)
    listing = client.get(reverse("portal:deals")).content.decode()
    row = listing[listing.index("Lost Co") :].split("</tr>", 1)[0]
    assert "Lost" in row and "Approved" not in row

    detail = client.get(reverse("portal:deal_detail", args=[lost.public_id])).content.decode()
    assert 'id="stage-closed"' in detail
    assert reverse("portal:deal_stage", args=[lost.public_id]) not in detail  # no stage form
    assert "Approved" not in detail.split('id="status"', 1)[1].split("</section>", 1)[0]

    response = client.post(reverse("portal:deal_stage", args=[lost.public_id]), {"stage": "qualified"})
    assert response.status_code == 302
    with unscoped():
        assert Deal.objects.select_related("stage").get(pk=lost.pk).stage.key == "closed_lost"
    follow = client.get(response.url).content.decode()
    assert "can no longer change" in follow


def test_open_approved_deal_still_moves(world, pipeline, client_for):
    deal = pipeline["open"]
    response = client_for(world.a_admin).post(
        reverse("portal:deal_stage", args=[deal.public_id]), {"stage": "qualified"}
    )
    assert response.status_code == 302
    with unscoped():
        assert Deal.objects.select_related("stage").get(pk=deal.pk).stage.key == "qualified"


def test_registration_flags_every_invalid_field_in_one_submit(world, client_for):
    response = client_for(world.a_rep).post(
        reverse("portal:deal_register"),
        {
            "customer_name": "",
            "customer_domain": "not a domain",
            "amount": "-5",
            "expected_close_date": (timezone.localdate() - datetime.timedelta(days=3)).isoformat(),
            "contact_email": "nobody-at-example",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {
        "customer_name",
        "customer_domain",
        "amount",
        "expected_close_date",
        "contact_email",
    }
    assert "not a valid domain" in " ".join(errors["customer_domain"])
    assert "in the past" in " ".join(errors["expected_close_date"])
    with unscoped():
        assert not Deal.objects.exists()


def test_registration_with_only_service_level_problems_shows_them_together(world, client_for):
    response = client_for(world.a_rep).post(
        reverse("portal:deal_register"),
        {
            "customer_name": "Initech",
            "customer_domain": "not a domain",
            "amount": "10",
            "expected_close_date": (timezone.localdate() - datetime.timedelta(days=3)).isoformat(),
        },
    )
    errors = response.context["form"].errors
    assert set(errors) == {"customer_domain", "expected_close_date"}


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_MANAGER, Role.PARTNER_REP])
def test_menu_offers_api_links_exactly_when_the_role_may_hold_tokens(world, client_for, monkeypatch, role):
    """The menu follows the permission table (whatever it says for a role, the menu agrees)."""
    from openprm.testing import make_user

    user = make_user(world.workspace, f"{role}@acme.test", role, partner=world.partner_a)
    for allowed in (True, False):
        perms = set(permissions.ROLE_PERMS[role])
        perms = perms | {Perm.API_TOKENS} if allowed else perms - {Perm.API_TOKENS}
        monkeypatch.setitem(permissions.ROLE_PERMS, role, frozenset(perms))
        html = client_for(user).get(reverse("portal:home")).content.decode()
        nav = html[html.index("<nav") : html.index("</nav>")]
        assert ("API tokens" in nav) is allowed and ("API docs" in nav) is allowed, (role, allowed)
    team_link = reverse("portal:team") in nav
    assert team_link is (role == Role.PARTNER_ADMIN)


def test_partner_api_refuses_to_move_a_closed_deal(world, pipeline, api_for):
    lost, won = pipeline["lost"], pipeline["won"]
    client = api_for(world.a_admin)
    for deal in (lost, won):
        response = client.post(
            f"/api/v1/deals/{deal.public_id}/stage", {"stage": "qualified"}, content_type="application/json"
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "stage" and "closed" in response.json()["message"]
    with unscoped():
        assert Deal.objects.select_related("stage").get(pk=lost.pk).stage.key == "closed_lost"
    staff = api_for(world.manager).post(  # staff may still reopen a deal closed by mistake
        f"/api/v1/deals/{lost.public_id}/stage", {"stage": "qualified"}, content_type="application/json"
    )
    assert staff.status_code == 200, staff.text
