from __future__ import annotations

import datetime
import hashlib
import stat
from collections import Counter

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from openprm.accounts.models import Membership, User
from openprm.activity.catalog import BUILTIN_TYPES
from openprm.activity.models import Coupon, Event, PartnerDay, RollupDirty, TrackingLink
from openprm.activity.rollups import rollup_cells
from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.deals.models import Product
from openprm.demo.loader import demo_load
from openprm.demo.people import logins_read
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    Partner,
    PartnerProgram,
    PartnerStatus,
    PartnerType,
    StatusChange,
    TierChange,
)
from openprm.reports.models import ReportDefinition

NOW = datetime.datetime(2025, 6, 16, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def fingerprint() -> str:
    """A digest of every row the demo writes (not database ids, timestamps of the load or passwords)."""
    with unscoped():
        tables = [
            Partner.objects.order_by("public_id").values_list(
                "public_id",
                "external_id",
                "name",
                "legal_name",
                "type__key",
                "status",
                "status_changed_at",
                "country",
                "region",
                "domains",
                "website",
                "owner__email",
                "start_date",
                "notes",
            ),
            Contact.objects.order_by("public_id").values_list(
                "public_id",
                "partner__public_id",
                "name",
                "email",
                "phone",
                "title",
                "role",
                "is_primary",
                "user__email",
            ),
            Agreement.objects.order_by("public_id").values_list(
                "public_id",
                "partner__public_id",
                "kind",
                "title",
                "status",
                "start_date",
                "end_date",
                "auto_renew",
                "renewal_notice_days",
                "terms_summary",
            ),
            PartnerProgram.objects.order_by("public_id").values_list(
                "public_id", "partner__public_id", "program__name", "tier__name", "joined_on"
            ),
            StatusChange.objects.order_by("partner__public_id", "changed_at", "id").values_list(
                "partner__public_id", "from_status", "to_status", "changed_at", "actor_label"
            ),
            Partner.tags.through.objects.order_by("partner__public_id", "tag__name").values_list(
                "partner__public_id", "tag__name"
            ),
            Event.objects.order_by("event_id").values_list(
                "event_id",
                "partner__public_id",
                "type",
                "direction",
                "occurred_at",
                "properties",
                "value",
                "actor_contact__public_id",
                "actor_user__email",
            ),
            Membership.objects.order_by("user__email").values_list(
                "user__email", "role", "partner__public_id", "owned_only"
            ),
        ]
        return hashlib.sha256(repr([list(rows) for rows in tables]).encode()).hexdigest()


def load_and_fingerprint(seed: int, partners: int = 25) -> str:
    """Load into the (otherwise empty) test database, digest it, then roll the load back."""
    with transaction.atomic():
        demo_load(partners=partners, seed=seed, now=NOW)
        digest = fingerprint()
        transaction.set_rollback(True)
    with unscoped():
        assert not Partner.objects.exists()
    return digest


def test_same_seed_gives_the_same_data_and_another_seed_does_not(db, var_dir):
    first = load_and_fingerprint(seed=7)
    assert load_and_fingerprint(seed=7) == first
    assert load_and_fingerprint(seed=8) != first


@pytest.fixture
def demo(db, var_dir):
    return demo_load(partners=60, seed=42, now=NOW)


def test_demo_is_a_realistic_program(demo):
    assert demo.partners == 60
    with unscoped():
        partners = list(Partner.objects.select_related("type", "owner"))
        assert {p.type.key for p in partners} == {key for key, _ in PartnerType.DEFAULTS}
        statuses = Counter(p.status for p in partners)
        assert set(statuses) == set(PartnerStatus.values)
        assert statuses[PartnerStatus.ACTIVE] > len(partners) / 3
        assert {p.region for p in partners} == {"EMEA", "NA", "LATAM", "APAC"}
        assert all(p.country and p.domains and p.website.startswith("https://") for p in partners)
        assert len({p.name for p in partners}) == len(partners)
        owned = [p for p in partners if p.owner is not None]
        assert len(owned) > len(partners) * 0.8
        managers = set(Membership.objects.filter(role=Role.MANAGER).values_list("user_id", flat=True))
        assert {p.owner_id for p in owned} == managers

        # Two programs with tiers; applicants are not enrolled yet.
        enrolments = Counter(PartnerProgram.objects.values_list("program__name", "tier__name"))
        assert {program for program, _ in enrolments} == {"Partner Program", "Referral Program"}
        assert {tier for program, tier in enrolments if program == "Partner Program"} == {
            "Bronze",
            "Silver",
            "Gold",
            "Platinum",
        }
        applicants = [p for p in partners if p.status == PartnerStatus.APPLICANT]
        assert not PartnerProgram.objects.filter(partner__in=applicants).exists()

        # 1 to 5 contacts each, exactly one primary.
        contacts = Counter(Contact.objects.values_list("partner_id", flat=True))
        primaries = Counter(Contact.objects.filter(is_primary=True).values_list("partner_id", flat=True))
        assert all(1 <= contacts[p.pk] <= 5 and primaries[p.pk] == 1 for p in partners)

        # Dated lifecycle history that ends in the partner's current status.
        for p in partners:
            history = list(StatusChange.objects.filter(partner=p).order_by("changed_at"))
            assert history[-1].to_status == p.status and history[-1].changed_at == p.status_changed_at
            assert [h.from_status for h in history[1:]] == [h.to_status for h in history[:-1]]
            assert history[-1].changed_at <= NOW

        # Agreements: mostly active, some expiring within 60 days, and the other statuses present.
        agreements = list(Agreement.objects.all())
        by_status = Counter(a.status for a in agreements)
        assert by_status[AgreementStatus.ACTIVE] > len(agreements) / 2
        assert {
            AgreementStatus.EXPIRED,
            AgreementStatus.DRAFT,
            AgreementStatus.PENDING_SIGNATURE,
            AgreementStatus.TERMINATED,
        } <= set(by_status)
        expiring = [a for a in agreements if a.expiring_within(60, today=NOW.date()) and not a.auto_renew]
        assert expiring

        # 24 months of logged interactions of every kind (events now), e-mails both ways.
        interactions = Event.objects.filter(source="ui")
        times = list(interactions.values_list("occurred_at", flat=True))
        assert len(times) > 60 * 10
        assert max(times) <= NOW and min(times) >= NOW - datetime.timedelta(days=731)
        assert max(times) - min(times) > datetime.timedelta(days=700)
        kinds = set(interactions.values_list("type", "direction"))
        assert {
            ("email_received", "inbound"),
            ("email_sent", "outbound"),
            ("call", "outbound"),
            ("meeting", "outbound"),
            ("note", ""),
        } <= kinds
        assert all(
            set(p) == {"subject", "body"} for p in interactions.values_list("properties", flat=True)[:200]
        )

        # Engagement histories: every built-in type, tickets and deliverables that pair, content by creators.
        assert set(BUILTIN_TYPES) <= set(Event.objects.values_list("type", flat=True).distinct())
        creators = set(
            Event.objects.filter(type="content_post").values_list("partner__type__key", flat=True).distinct()
        )
        assert creators <= {"influencer", "affiliate"} and creators
        post = Event.objects.filter(type="content_post").first()
        assert post is not None and {"reach", "impressions", "engagements", "followers"} <= set(
            post.properties
        )
        assert Event.objects.filter(type="support_ticket_opened", properties__has_key="ticket_id").exists()
        assert Event.objects.filter(
            type="campaign_deliverable_due", properties__has_key="deliverable_id"
        ).exists()

        # The rollups are built, paired metrics included.
        metrics = {metric for _, _, metric in rollup_cells(workspace_id=Partner.objects.first().workspace_id)}
        assert {"contact", "reply.partner.count", "reply.vendor.count", "ticket.resolved.count"} <= metrics
        assert {"deliverable.on_time", "deliverable.late", "content.followers"} <= metrics
        assert demo.rollup_cells == PartnerDay.objects.count() > 0
        assert not RollupDirty.objects.exists()

        # Tier history: every tiered enrolment joined on its join date; some were promoted since.
        tiered = PartnerProgram.objects.filter(tier__isnull=False)
        joins = TierChange.objects.filter(from_rank__isnull=True)
        assert joins.count() == tiered.count() and not joins.exclude(changed_on__lte=NOW.date()).exists()
        # Scheduled reports set up as a team would, the partner-facing one prepared but disabled.
        reports = {r.name: r for r in ReportDefinition.objects.all()}
        assert len(reports) == 3 and not reports["Quarterly business review (partners)"].enabled
        assert all(r.next_run_at for r in reports.values())
        moves = list(TierChange.objects.filter(from_rank__isnull=False))
        assert moves and all(m.to_rank == m.from_rank + 1 and m.changed_on <= NOW.date() for m in moves)


def test_demo_writes_through_the_owning_apps_services(db, var_dir):
    """Partners come from the partners' bulk service and logins from the accounts service, as an import
    or an admin would make them: one "create" audit entry each, by the demo."""
    loaded_at = timezone.now()
    demo = demo_load(partners=20, seed=42, now=NOW)
    with unscoped():
        created = AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, actor_label="demo")
        by_type = Counter(created.values_list("object_type", flat=True))
        assert by_type["partners.partner"] == demo.partners
        assert by_type["accounts.membership"] == len(demo.logins)
        # tracking links and coupons from activity's services, the vendor's site allowed by an admin's change
        assert by_type["activity.trackinglink"] == TrackingLink.objects.count() > 0
        assert by_type["activity.coupon"] == Coupon.objects.count()
        assert AuditEntry.objects.filter(object_type="core.workspace", actor_label="demo").count() == 1
        assert by_type["deals.product"] == Product.objects.count() == 6  # the catalog, from its service
        partner = Partner.objects.order_by("pk").first()
        assert partner is not None
        entry = created.get(object_id=partner.public_id)
        assert entry.changes["status"]["after"] == partner.status and entry.partner_id == partner.pk
        # ...while the partner keeps its dated past (the bulk service records a creation "now")
        assert StatusChange.objects.filter(partner=partner).order_by("changed_at").first().changed_at < NOW
        # Engagement events arrive through the ingestion API's path: received when the demo stored them.
        ingested = Event.objects.exclude(source=Event.Source.UI)
        assert ingested.exists() and not ingested.filter(received_at__lt=loaded_at).exists()


def recent_per_partner(status: str, days: int = 90) -> float:
    with unscoped():
        ids = list(Partner.objects.filter(status=status).values_list("id", flat=True))
        since = NOW - datetime.timedelta(days=days)
        return Event.objects.filter(partner_id__in=ids, occurred_at__gte=since).count() / len(ids)


def test_engagement_follows_the_lifecycle(demo):
    """Healthy partners are in regular touch; at-risk ones taper off; churned ones stop."""
    active = recent_per_partner(PartnerStatus.ACTIVE)
    assert active > 3
    assert recent_per_partner(PartnerStatus.AT_RISK) < active / 2
    with unscoped():
        for partner in Partner.objects.filter(status=PartnerStatus.CHURNED):
            after = Event.objects.filter(partner=partner, occurred_at__gt=partner.status_changed_at)
            assert not after.exists()
            last = Event.objects.filter(partner=partner).order_by("-occurred_at", "-id").first()
            assert last is None or last.type == "note"


def test_logins_are_saved_privately_and_work(demo, var_dir):
    path = var_dir / "demo_logins.txt"
    assert demo.logins_path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logins = logins_read(path)
    assert Counter(login.role for login in logins) >= Counter(
        {
            Role.ADMIN: 1,
            Role.MANAGER: 2,
            Role.FINANCE: 1,
            Role.ANALYST: 1,
            Role.PARTNER_ADMIN: 2,
            Role.PARTNER_REP: 2,
        }
    )
    assert len({login.password for login in logins}) == len(logins)
    request = RequestFactory().post("/login/")
    for login in logins:
        user = authenticate(request, username=login.email, password=login.password)
        assert user is not None and user.email == login.email
        with unscoped():
            membership = Membership.objects.select_related("partner").get(user=user)
        assert membership.role == login.role
        if login.partner:
            assert membership.partner is not None and membership.partner.name == login.partner
            with unscoped():
                assert Contact.objects.filter(user=user, partner=membership.partner).exists()
        else:
            assert membership.partner is None
    assert authenticate(request, username=logins[0].email, password="wrong password") is None
    with unscoped():
        owned_only = Membership.objects.filter(role=Role.MANAGER, owned_only=True)
        assert owned_only.count() == 1


def test_demo_password_hashes_are_upgraded_at_first_login(db, var_dir, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    login = demo_load(partners=3, seed=5, now=NOW).logins[0]
    user = User.objects.get(email=login.email)
    light = user.password
    assert light.startswith("pbkdf2_sha256$") and int(light.split("$")[1]) < 1_000_000
    assert authenticate(RequestFactory().post("/login/"), username=login.email, password=login.password)
    user.refresh_from_db()
    assert int(user.password.split("$")[1]) == PBKDF2PasswordHasher.iterations
    assert user.check_password(login.password)


def test_command_loads_once_and_if_empty_keeps_the_data(db, var_dir, capsys):
    call_command("demo", "--partners", "12", "--seed", "3")
    out = capsys.readouterr().out
    assert "12 partners" in out and "demo_logins.txt" in out
    with unscoped():
        before = (Partner.objects.count(), Event.objects.count(), User.objects.count())
    call_command("demo", "--if-empty")
    assert "already has 12 partners" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already has 12 partners"):
        call_command("demo", "--partners", "12")
    with unscoped():
        assert (Partner.objects.count(), Event.objects.count(), User.objects.count()) == before


def test_show_logins(db, var_dir, capsys):
    call_command("demo", "--show-logins")
    out = capsys.readouterr().out
    assert "No demo logins saved" in out and "prm createuser" in out
    with unscoped():
        assert not Partner.objects.exists()  # showing never loads

    result = demo_load(partners=8, seed=1, now=NOW)
    call_command("demo", "--show-logins")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/" in out
    for login in result.logins:
        assert login.email in out and login.password in out
    assert "Partner admin" in out and "Analyst" in out


def test_command_rejects_a_silly_size(db, var_dir):
    with pytest.raises(CommandError, match="--partners"):
        call_command("demo", "--partners", "0")


def test_show_logins_names_the_address_prm_serve_binds(db, var_dir, capsys, settings):
    demo_load(partners=3, seed=1, now=NOW)
    settings.PRM_BIND = "127.0.0.1:8123"
    call_command("demo", "--show-logins")
    assert "sign in at http://127.0.0.1:8123/" in capsys.readouterr().out
    call_command("demo", "--show-logins", "--bind", "0.0.0.0:9000")
    out = capsys.readouterr().out
    assert "sign in at http://127.0.0.1:9000/" in out and "8000" not in out


def test_demo_pipeline_is_recent_with_a_believable_stalled_share(db, var_dir):
    from openprm.deals.models import ApprovalStatus, Deal, Outcome

    demo_load(partners=120, seed=7, now=NOW)
    with unscoped():
        in_pipeline = list(
            Deal.objects.filter(stage__outcome=Outcome.OPEN, approval_status=ApprovalStatus.APPROVED)
            .select_related("stage")
            .only("registered_at", "stage_changed_at", "stage__stall_days")
        )
        total = Deal.objects.count()
        expired = Deal.objects.filter(approval_status=ApprovalStatus.EXPIRED).count()
    assert len(in_pipeline) >= 40
    assert len(in_pipeline) < total * 0.25  # most registrations of two years have closed
    oldest = max((NOW - d.registered_at).days for d in in_pipeline)
    assert oldest <= 180, oldest  # nothing sits in the pipeline for two years
    stalled = [d for d in in_pipeline if (NOW - d.stage_changed_at).days > (d.stage.stall_days or 10**6)]
    share = len(stalled) / len(in_pipeline)
    assert 0.03 <= share <= 0.3, share
    # approved registrations that never progressed have expired, and none would expire at the next run
    assert expired > 0
    with unscoped():
        assert not Deal.objects.filter(
            approval_status=ApprovalStatus.APPROVED, protection_expires_at__lt=NOW, stage__order=1
        ).exists()


def test_demo_deal_amounts_equal_their_line_items(db, var_dir):
    from openprm.deals.models import Deal

    demo_load(partners=20, seed=3, now=NOW)
    with unscoped():
        deals = list(Deal.objects.prefetch_related("line_items"))
    assert len(deals) > 20
    mismatched = [
        d.customer_name
        for d in deals
        if sum((li.quantity * li.unit_price for li in d.line_items.all()), 0) != d.amount
    ]
    assert mismatched == []  # no deal page warns about its own demo line items
