"""Demo partners: who they are (type, region, name, domain), their lifecycle, contacts, agreements,
enrolments and tags — planned from the demo's dice, then written.

A partner's lifecycle is built backwards from its current status (an at-risk partner was active before,
a churned one went through at-risk first...), and everything else is dated from it: the start date, the
agreements' terms, the enrolments, the status history.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.demo.plan import D, Dice, Lifecycle, PartnerPlan, ascii_fold, slug
from openprm.demo.rows import insert_objects, update_objects
from openprm.demo.words import (
    AGREEMENT_TERMS,
    BRAND_STEMS,
    BRAND_TAILS,
    COUNTRIES,
    DOMAIN_STOPWORDS,
    LEGAL_SUFFIX,
    REGION_WEIGHTS,
    TAGS,
    TYPE_ACTIVITY,
    TYPE_SUFFIXES,
)
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    Partner,
    PartnerProgram,
    PartnerStatus,
    PartnerType,
    Program,
    StatusChange,
    Tier,
    TierChange,
)
from openprm.partners.services import (
    DEFAULT_PROGRAM,
    PartnerInput,
    PartnerLookups,
    partner_clean,
    program_create,
    tier_create,
)
from openprm.partners.services.bulk import PartnerBulkWriter

WRITE_BATCH = 1000
REFERRAL_PROGRAM = "Referral Program"
REFERRAL_TIERS = ["Registered", "Preferred", "Elite"]
REFERRAL_TYPES = ("referral", "affiliate", "influencer")  # partners who get tracking links and coupons
STATUS_WEIGHTS = {
    PartnerStatus.ACTIVE: 60,
    PartnerStatus.AT_RISK: 9,
    PartnerStatus.ONBOARDING: 8,
    PartnerStatus.APPLICANT: 6,
    PartnerStatus.INACTIVE: 8,
    PartnerStatus.CHURNED: 9,
}
CONTACT_TITLES = {
    Contact.Role.EXECUTIVE: ["CEO", "Managing Director", "Founder", "VP Partnerships", "COO"],
    Contact.Role.SALES: ["Account Executive", "Head of Sales", "Sales Manager", "Channel Sales Lead"],
    Contact.Role.MARKETING: ["Marketing Manager", "Head of Marketing", "Demand Generation Lead"],
    Contact.Role.TECHNICAL: ["Solutions Architect", "CTO", "Pre-sales Engineer", "Technical Lead"],
    Contact.Role.FINANCE: ["Finance Manager", "Controller", "Accounts Payable"],
    Contact.Role.OPERATIONS: ["Operations Manager", "Partner Operations", "Office Manager"],
    Contact.Role.OTHER: ["Consultant", "Project Manager"],
}
AGREEMENT_KIND = {
    "reseller": Agreement.Kind.RESELLER,
    "distributor": Agreement.Kind.RESELLER,
    "referral": Agreement.Kind.REFERRAL,
    "affiliate": Agreement.Kind.AFFILIATE,
    "influencer": Agreement.Kind.AFFILIATE,
    "service": Agreement.Kind.MSA,
}
DAYS_SINCE_DOWNTURN = {  # how long ago an at-risk / inactive / churned partner got there (days)
    PartnerStatus.AT_RISK.value: (7, 120),
    PartnerStatus.INACTIVE.value: (30, 300),
    PartnerStatus.CHURNED.value: (20, 500),
}


@dataclass
class PartnerExtras:
    """What is planned around a partner once all partners are planned (drawn in this order)."""

    enrolments: list[PartnerProgram]
    history: list[StatusChange]
    tags: list[str]
    agreements: list[Agreement]


@dataclass
class Programs:
    """The default program and the demo's referral program, each with its tiers by rank."""

    default: Program
    default_tiers: list[Tier]
    referral: Program
    referral_tiers: list[Tier]


class PartnerPlanner:
    """Plans partners one at a time; remembers the names and domains taken so far (they are unique)."""

    def __init__(
        self,
        dice: Dice,
        *,
        workspace: Workspace,
        types: dict[str, PartnerType],
        owner_by_region: dict[str, int],
    ) -> None:
        self.dice = dice
        self.workspace = workspace
        self.types = types
        self.owner_by_region = owner_by_region
        self.names: set[str] = set()
        self.domains: set[str] = set()
        english = dice.fakers["en_US"]
        self.customer_pool = sorted({english.company() for _ in range(400)})  # the customers partners mention

    def lifecycle(self, status: str) -> Lifecycle:
        """Dated status history ending in ``status`` (built backwards from the latest change)."""
        dice, now, S = self.dice, self.dice.now, PartnerStatus
        if status == S.APPLICANT:
            return [(now - dice.days(1, 40), S.APPLICANT)]
        if status == S.ONBOARDING:
            start = now - dice.days(10, 100)
            return [(start - dice.days(5, 40), S.APPLICANT), (start, S.ONBOARDING)]
        tail: Lifecycle = []
        if status == S.ACTIVE:
            active_at = now - dice.days(80, 2000)
            if dice.rng.random() < 0.15 and (now - active_at).days > 400:  # a past wobble, recovered
                dip = active_at + dice.days(120, (now - active_at).days - 200)
                tail = [(dip, S.AT_RISK), (dip + dice.days(40, 120), S.ACTIVE)]
        else:
            last = now - dice.days(*DAYS_SINCE_DOWNTURN[status])
            tail = [(last, status)]
            if status == S.CHURNED and dice.rng.random() < 0.4:
                tail.insert(0, (last - dice.days(30, 120), S.INACTIVE))
            if status != S.AT_RISK:
                tail.insert(0, (tail[0][0] - dice.days(45, 150), S.AT_RISK))
            active_at = tail[0][0] - dice.days(150, 1200)
        start = active_at - dice.days(20, 90)
        return [(start - dice.days(5, 45), S.APPLICANT), (start, S.ONBOARDING), (active_at, S.ACTIVE), *tail]

    def company_name(self, type_key: str, locale: str) -> tuple[str, str]:
        """(display name, legal name) — unique within the demo."""
        rng, fake = self.dice.rng, self.dice.fakers[locale]
        country_suffix = ""
        for _ in range(8):
            if type_key == "influencer":
                first, last = self.dice.person(locale)
                name = rng.choice([f"{first} {last}", f"{first} {last} Media", f"{ascii_fold(first)}Talks"])
                legal = ""
            elif locale != "ja_JP" and rng.random() < 0.4:
                legal = fake.company()
                name = legal
            else:
                stem = rng.choice(BRAND_STEMS) + rng.choice(BRAND_TAILS)
                name = f"{stem} {rng.choice(TYPE_SUFFIXES[type_key])}"
                legal = ""
            name = name + country_suffix
            if name not in self.names:
                self.names.add(name)
                return name, legal
            country_suffix = f" {rng.choice(['Group', 'International', 'One', 'Plus', '360'])}"
        name = f"{name} {len(self.names)}"
        self.names.add(name)
        return name, ""

    def domain_for(self, name: str) -> str:
        words = [w for w in slug(name).split("-") if w not in DOMAIN_STOPWORDS]
        base = "-".join(words[:2]) or "partner"
        domain, n = f"{base}.example", 2
        while domain in self.domains:
            domain, n = f"{base}{n}.example", n + 1
        self.domains.add(domain)
        return domain

    def plan(self, *, index: int, type_key: str, status: str) -> PartnerPlan:
        dice, rng = self.dice, self.dice.rng
        region = dice.pick(REGION_WEIGHTS)
        options = COUNTRIES[region]
        country, locale, _ = rng.choices(options, weights=[w for _, _, w in options])[0]
        name, legal = self.company_name(type_key, locale)
        if not legal and type_key != "influencer":
            legal = f"{name} {LEGAL_SUFFIX[country]}"
        domain = self.domain_for(name)
        events = self.lifecycle(status)
        start = next((at for at, s in events if s == PartnerStatus.ONBOARDING), None)
        owner = self._owner(region, status)
        tier_rank = self._tier_rank(status)
        partner = Partner(
            public_id=dice.uid(),
            workspace=self.workspace,
            external_id=f"PRT-{10000 + index}",
            name=name,
            legal_name=legal,
            type=self.types[type_key],
            status=status,
            status_changed_at=events[-1][0],
            country=country,
            region=region,
            domains=[domain],
            website=f"https://www.{domain}",
            owner_id=owner,
            start_date=start.date() if start else None,
            notes=rng.choice(
                [
                    "",
                    "",
                    f"Focus on {rng.choice(TAGS[6:12])} customers in {country}.",
                    f"Introduced by {' '.join(dice.person(locale))} at a partner event.",
                ]
            ),
        )
        activity = {None: 1.0, 1: 2.0, 2: 3.0, 3: 4.5, 4: 6.5}[tier_rank] * TYPE_ACTIVITY[type_key]
        activity *= rng.lognormvariate(0, 0.3)
        plan = PartnerPlan(
            partner=partner,
            type_key=type_key,
            locale=locale,
            tier_rank=tier_rank,
            events=events,
            activity=activity,
            customers=rng.sample(self.customer_pool, 6),
        )
        plan.contacts = self.contacts(plan, domain)
        return plan

    def _owner(self, region: str, status: str) -> int | None:
        """The region's manager owns nearly every partner; half the applicants are not assigned yet."""
        unowned = 0.5 if status == PartnerStatus.APPLICANT else 0.05
        return self.owner_by_region[region] if self.dice.rng.random() > unowned else None

    def _tier_rank(self, status: str) -> int | None:
        """Applicants have no tier, newcomers the lowest; active partners reach the higher ones."""
        if status == PartnerStatus.APPLICANT:
            return None
        weights = [45, 30, 17, 8] if status == PartnerStatus.ACTIVE else [60, 27, 10, 3]
        return 1 if status == PartnerStatus.ONBOARDING else self.dice.rng.choices([1, 2, 3, 4], weights)[0]

    def contacts(self, plan: PartnerPlan, domain: str) -> list[Contact]:
        dice, rng = self.dice, self.dice.rng
        fake = dice.fakers[plan.locale]
        contacts: list[Contact] = []
        used: set[str] = set()
        roles = [Contact.Role.EXECUTIVE, *rng.sample(list(CONTACT_TITLES)[1:], 4)]
        for position in range(rng.choices([1, 2, 3, 4, 5], [15, 30, 28, 17, 10])[0]):
            first, last = dice.person(plan.locale)
            local = f"{slug(first, '')}.{slug(last, '')}".strip(".") or f"contact{position}"
            while local in used:
                local += str(position)
            used.add(local)
            role = roles[position]
            contacts.append(
                Contact(
                    public_id=dice.uid(),
                    workspace=self.workspace,
                    partner=plan.partner,
                    name=f"{first} {last}",
                    email=f"{local}@{domain}",
                    phone=fake.phone_number()[:40],
                    title=rng.choice(CONTACT_TITLES[role]),
                    role=role,
                    is_primary=position == 0,
                )
            )
        return contacts

    def enrolments(self, plan: PartnerPlan, programs: Programs) -> list[PartnerProgram]:
        """The default program at the partner's tier; referral-type partners (and a few others) also
        join the referral program. Applicants are not enrolled yet."""
        dice, rng, p = self.dice, self.dice.rng, plan.partner
        if plan.tier_rank is None:
            return []
        tiers = programs.default_tiers
        out = [
            PartnerProgram(
                public_id=dice.uid(),
                workspace=self.workspace,
                partner=p,
                program=programs.default,
                tier=tiers[min(plan.tier_rank, len(tiers)) - 1] if tiers else None,
                joined_on=p.start_date or dice.today,
            )
        ]
        if plan.type_key in REFERRAL_TYPES or rng.random() < 0.12:
            rank = rng.choices([1, 2, 3], [55, 32, 13])[0]
            joined = min(dice.today, (p.start_date or dice.today) + D(days=rng.randint(0, 200)))
            out.append(
                PartnerProgram(
                    public_id=dice.uid(),
                    workspace=self.workspace,
                    partner=p,
                    program=programs.referral,
                    tier=programs.referral_tiers[min(rank, len(programs.referral_tiers)) - 1],
                    joined_on=joined,
                )
            )
        return out

    def history(
        self, plan: PartnerPlan, *, owner_labels: dict[int, str], fallback: str
    ) -> list[StatusChange]:
        """The lifecycle as status-change rows: the application came in by form, staff moved it on."""
        p, out, previous = plan.partner, [], ""
        for at, status in plan.events:
            label = (
                "application form"
                if status == PartnerStatus.APPLICANT
                else owner_labels.get(p.owner_id or 0, fallback)
            )
            out.append(
                StatusChange(
                    workspace=self.workspace,
                    partner=p,
                    from_status=previous,
                    to_status=status,
                    changed_at=at,
                    actor_label=label,
                )
            )
            previous = status
        return out

    def tags(self, plan: PartnerPlan) -> list[str]:
        """A few tags; partners sliding away are often on the watchlist."""
        rng = self.dice.rng
        names = rng.sample(TAGS[:-1], rng.choices([0, 1, 2, 3], [25, 35, 28, 12])[0])
        if plan.partner.status in (PartnerStatus.AT_RISK, PartnerStatus.INACTIVE) and rng.random() < 0.6:
            names.append("watchlist")
        return names

    def agreements(self, plan: PartnerPlan) -> list[Agreement]:
        """The agreements on file, consistent with the lifecycle: drafts for newcomers, current terms for
        active partners (some expiring soon), expired or terminated ones for partners who left; an NDA
        for a third of them."""
        rng, today, p, A = self.dice.rng, self.dice.today, plan.partner, AgreementStatus
        kind = AGREEMENT_KIND.get(plan.type_key, Agreement.Kind.PARTNER)
        if p.status == PartnerStatus.APPLICANT:
            return [self._agreement(p, kind, A.DRAFT, None, None)] if rng.random() < 0.3 else []
        start = p.start_date or today
        if p.status == PartnerStatus.ONBOARDING:
            status = rng.choices([A.PENDING_SIGNATURE, A.DRAFT, A.ACTIVE], [50, 30, 20])[0]
            return [self._agreement(p, kind, status, start, start + D(days=365))]
        out = self._terms(plan, kind, start)
        if rng.random() < 0.35:
            out.append(
                self._agreement(p, Agreement.Kind.NDA, A.ACTIVE, start - D(days=rng.randint(5, 30)), None)
            )
        return out

    def _terms(self, plan: PartnerPlan, kind: str, start: datetime.date) -> list[Agreement]:
        """A partner's terms after onboarding: running (and the previous term, on file, now and then), or
        ended with the partnership."""
        rng, today, p, A = self.dice.rng, self.dice.today, plan.partner, AgreementStatus
        term = rng.choice([365, 730, 1095])
        if p.status in (PartnerStatus.ACTIVE, PartnerStatus.AT_RISK):
            left = rng.randint(1, 60) if rng.random() < 0.13 else rng.randint(61, term)
            end = today + D(days=left)
            current_start = max(start, end - D(days=term))
            out = []
            if current_start > start + D(days=60) and rng.random() < 0.3:
                out.append(self._agreement(p, kind, A.EXPIRED, start, current_start - D(days=1)))
            auto = left > 60 and rng.random() < 0.4
            return [*out, self._agreement(p, kind, A.ACTIVE, current_start, end, auto=auto)]
        last_change = plan.events[-1][0].date()
        end = max(start + D(days=90), last_change - D(days=rng.randint(0, 60)))
        if p.status == PartnerStatus.CHURNED and rng.random() < 0.7:
            return [self._agreement(p, kind, A.TERMINATED, start, last_change)]
        if p.status == PartnerStatus.INACTIVE and rng.random() < 0.3:
            end = today + D(days=rng.randint(61, 300))
            return [self._agreement(p, kind, A.ACTIVE, start, end, auto=True)]
        return [self._agreement(p, kind, A.EXPIRED, start, end)]

    def _agreement(
        self,
        partner: Partner,
        kind: str,
        status: str,
        start: datetime.date | None,
        end: datetime.date | None,
        auto: bool = False,
    ) -> Agreement:
        rng, year = self.dice.rng, (start or self.dice.today).year
        return Agreement(
            public_id=self.dice.uid(),
            workspace=self.workspace,
            partner=partner,
            kind=kind,
            status=status,
            title=f"{Agreement.Kind(kind).label} {year} – {partner.name}"[:200],
            start_date=start,
            end_date=end,
            auto_renew=auto,
            renewal_notice_days=rng.choice([30, 60, 90]),
            terms_summary=rng.choice(AGREEMENT_TERMS),
        )


def programs_ensure(*, actor: Actor) -> Programs:
    """The default program and the demo's referral program with its tiers (created through the partners'
    services when missing: audited like an admin's)."""
    default = Program.objects.filter(is_default=True).first()
    if default is None:
        default = Program.objects.filter(name=DEFAULT_PROGRAM).first() or program_create(
            actor=actor, data={"name": DEFAULT_PROGRAM}
        )
    referral = Program.objects.filter(name=REFERRAL_PROGRAM).first()
    if referral is None:
        description = "Commission-only program for referral partners, affiliates and creators."
        referral = program_create(actor=actor, data={"name": REFERRAL_PROGRAM, "description": description})
    names = set(Tier.objects.filter(program=referral).values_list("name", flat=True))
    for name in REFERRAL_TIERS:
        if name not in names:
            tier_create(actor=actor, program=referral, name=name)
    return Programs(
        default=default,
        default_tiers=list(Tier.objects.filter(program=default).order_by("rank")),
        referral=referral,
        referral_tiers=list(Tier.objects.filter(program=referral).order_by("rank")),
    )


def _partner_input(plan: PartnerPlan, extras: PartnerExtras, owner_emails: dict[int, str]) -> PartnerInput:
    """The planned partner as the input a person or an import would give the partners' services."""
    p = plan.partner
    return {
        "external_id": p.external_id,
        "name": p.name,
        "legal_name": p.legal_name,
        "type": plan.type_key,
        "status": p.status,
        "country": str(p.country),
        "region": p.region,
        "domains": list(p.domains),
        "website": p.website,
        "owner_email": owner_emails.get(p.owner_id) if p.owner_id else None,
        "tags": extras.tags,
        "start_date": p.start_date,
        "notes": p.notes,
        "tiers": {e.program.name: e.tier.name if e.tier else None for e in extras.enrolments},
    }


def partners_write(
    *,
    actor: Actor,
    plans: Sequence[PartnerPlan],
    extras: Sequence[PartnerExtras],
    owner_emails: dict[int, str],
    today: datetime.date,
) -> None:
    """Write the planned partners through the partners' bulk service (``PartnerBulkWriter``): cleaned by
    ``partner_clean`` like any input, stored with their tags, enrolments and a "create" audit entry each.

    Two things the bulk service cannot express are then set directly (``_backdate``): the partner's
    public id and status date are passed through as extra model values; the enrolments' join dates and
    ids, the dated status history and the tier history replace what the service wrote "now"."""
    lookups = PartnerLookups.load(actor)
    writer = PartnerBulkWriter(actor=actor, lookups=lookups)
    batch = []
    for plan, extra in zip(plans, extras, strict=True):
        cleaned = partner_clean(
            data=_partner_input(plan, extra, owner_emails), lookups=lookups, creating=True
        )
        cleaned.update(public_id=plan.partner.public_id, status_changed_at=plan.partner.status_changed_at)
        batch.append(cleaned)
    for start in range(0, len(batch), WRITE_BATCH):
        writer.create(batch[start : start + WRITE_BATCH])
    for start in range(0, len(plans), WRITE_BATCH):
        chunk = plans[start : start + WRITE_BATCH]
        stored = Partner.objects.filter(public_id__in=[plan.partner.public_id for plan in chunk])
        ids = dict(stored.values_list("public_id", "pk"))
        for plan in chunk:
            plan.partner.pk = ids[plan.partner.public_id]
            plan.partner._state.adding = False
    _backdate(plans, extras, today)


def _backdate(plans: Sequence[PartnerPlan], extras: Sequence[PartnerExtras], today: datetime.date) -> None:
    """Give the partners their past: the bulk service records a creation "now" (one status change from
    nothing, enrolments joined today with fresh ids); the demo's partners have years of lifecycle."""
    enrolments = [e for extra in extras for e in extra.enrolments]
    update_objects(PartnerProgram, enrolments, ["public_id", "joined_on"], keys=["partner", "program"])
    ids = [plan.partner.pk for plan in plans]
    for start in range(0, len(ids), WRITE_BATCH):
        StatusChange.objects.filter(partner_id__in=ids[start : start + WRITE_BATCH]).delete()
    insert_objects(StatusChange, [change for extra in extras for change in extra.history])
    for start in range(0, len(ids), WRITE_BATCH):
        TierChange.objects.filter(partner_id__in=ids[start : start + WRITE_BATCH]).delete()
    insert_objects(TierChange, _tier_history(enrolments, today))


PROMOTED = 0.35  # share of the partners above the lowest tier that joined one tier lower


def _tier_history(enrolments: Sequence[PartnerProgram], today: datetime.date) -> list[TierChange]:
    """Each tiered enrolment's dated history: joined at its tier on its join date or, for about a third
    of those above the lowest tier that joined long enough ago, one tier lower and promoted since."""
    rng = random.Random(len(enrolments))
    ranks = {
        (t.program_id, t.rank): t
        for t in Tier.objects.filter(program_id__in={e.program_id for e in enrolments})
    }
    rows: list[TierChange] = []

    def change(e: PartnerProgram, old: Tier | None, new: Tier, on: datetime.date) -> TierChange:
        return TierChange(
            workspace_id=e.workspace_id,
            partner_id=e.partner.pk,
            program_id=e.program_id,
            from_tier=old,
            to_tier=new,
            from_name=old.name if old else "",
            to_name=new.name,
            from_rank=old.rank if old else None,
            to_rank=new.rank,
            changed_on=on,
            actor_label="demo",
        )

    for e in sorted(enrolments, key=lambda e: (e.partner.pk, e.program_id)):
        if e.tier is None:
            continue
        lower = ranks.get((e.program_id, e.tier.rank - 1))
        age = (today - e.joined_on).days
        if lower is not None and age > 60 and rng.random() < PROMOTED:
            rows.append(change(e, None, lower, e.joined_on))
            rows.append(
                change(e, lower, e.tier, e.joined_on + datetime.timedelta(days=rng.randint(30, age - 1)))
            )
        else:
            rows.append(change(e, None, e.tier, e.joined_on))
    return rows


def contacts_write(plans: Sequence[PartnerPlan]) -> int:
    """The partners' contacts (the portal users' linked). Written directly: the partners app has no bulk
    path for contacts (``contact_create`` is one at a time and draws its own public id)."""
    contacts = [contact for plan in plans for contact in plan.contacts]
    Contact.objects.bulk_create(contacts, batch_size=WRITE_BATCH)
    return len(contacts)


def agreements_write(extras: Sequence[PartnerExtras]) -> int:
    """The agreements on file. Written directly: the partners app has no bulk path for agreements
    (``agreement_create`` is one at a time and draws its own public id)."""
    agreements = [agreement for extra in extras for agreement in extra.agreements]
    insert_objects(Agreement, agreements)
    return len(agreements)
