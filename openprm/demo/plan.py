"""The demo's source of chance and the plan of one partner that every generator reads.

Everything the demo writes is drawn from one seeded ``random.Random`` (and seeded Faker instances), in a
fixed order, so the same seed and the same ``now`` give identical rows, public ids included. A generator
that draws in a different order changes every row after it: the order of calls in ``loader.demo_load`` is
part of the demo's content.
"""

from __future__ import annotations

import datetime
import math
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import TypeVar

from faker import Faker

from openprm.partners.models import Contact, Partner, PartnerStatus

D = datetime.timedelta
T = TypeVar("T")
FAKER_PROVIDERS = ["faker.providers.person", "faker.providers.company", "faker.providers.phone_number"]
NAME_POOL = 150  # first and last names sampled per locale; pairs drawn from the pools
HISTORY_DAYS = 730  # the activity window: 24 months
ENGAGEMENT = {  # how engaged a partner is, by its lifecycle status (1 = healthy)
    PartnerStatus.APPLICANT.value: 0.5,
    PartnerStatus.ONBOARDING.value: 1.8,
    PartnerStatus.ACTIVE.value: 1.0,
    PartnerStatus.AT_RISK.value: 0.2,
    PartnerStatus.INACTIVE.value: 0.06,
    PartnerStatus.CHURNED.value: 0.0,
}
DOWNTURNS = {PartnerStatus.AT_RISK.value, PartnerStatus.CHURNED.value}

Lifecycle = list[tuple[datetime.datetime, str]]  # (when, status), oldest first


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slug(text: str, sep: str = "-") -> str:
    return re.sub(r"[^a-z0-9]+", sep, ascii_fold(text).lower()).strip(sep)


class Dice:
    """The seeded random source, the load's ``now`` and the Faker instance of every locale."""

    def __init__(self, *, seed: int, now: datetime.datetime, locales: list[str]) -> None:
        self.rng = random.Random(seed)
        self.now = now.astimezone(datetime.UTC).replace(second=0, microsecond=0)
        self.today = now.date()
        self.fakers: dict[str, Faker] = {}
        for index, locale in enumerate(sorted(locales)):
            fake = Faker(locale, providers=FAKER_PROVIDERS)  # only what we use: much faster to load
            fake.seed_instance(seed * 1009 + index)
            self.fakers[locale] = fake
        self.name_pools: dict[str, tuple[list[str], list[str]]] = {}

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, weights: dict[T, int] | dict[T, float]) -> T:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def days(self, low: int, high: int) -> D:
        rng = self.rng
        return D(days=rng.randint(low, high), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))

    def mix(self, weights: dict[T, int], count: int) -> list[T]:
        """``count`` draws by weight that include every option at least once when count allows."""
        values = list(weights)[:count]
        values += self.rng.choices(list(weights), weights=list(weights.values()), k=count - len(values))
        self.rng.shuffle(values)
        return values

    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def person(self, locale: str) -> tuple[str, str]:
        """A (first, last) name typical of the locale, drawn from a pool sampled once from Faker (fast)."""
        pool = self.name_pools.get(locale)
        if pool is None:
            fake = self.fakers[locale]
            if locale == "ja_JP":
                first, last = fake.first_romanized_name, fake.last_romanized_name
            else:
                first, last = fake.first_name, fake.last_name
            pool = ([first() for _ in range(NAME_POOL)], [last() for _ in range(NAME_POOL)])
            self.name_pools[locale] = pool
        return self.rng.choice(pool[0]), self.rng.choice(pool[1])

    def week_start(self, moment: datetime.datetime) -> datetime.datetime:
        """Midnight of the Monday of ``moment``'s week: histories are generated week by week."""
        return (moment - D(days=moment.weekday())).replace(hour=0, minute=0, second=0)


@dataclass
class PartnerPlan:
    """One partner being generated, with what later rows need to know about it.

    ``partner`` is filled in before it is written (the partners' bulk service writes it) and carries its
    database id afterwards, so the contacts, events and deals planned around it point at the stored row.
    """

    partner: Partner
    type_key: str
    locale: str
    tier_rank: int | None
    events: Lifecycle
    activity: float  # interactions per month when healthy
    contacts: list[Contact] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)

    def history_start(self, now: datetime.datetime) -> datetime.datetime:
        """Where its activity starts: when it applied, or 24 months before ``now`` for older partners."""
        return max(self.events[0][0], now - D(days=HISTORY_DAYS))


def engagement(events: Lifecycle, at: datetime.datetime, passed: int) -> tuple[float, int]:
    """How engaged the partner is at ``at`` (1 = healthy): fades before a downturn, 0 after churn.

    ``passed`` counts the lifecycle events already behind us (weeks are walked in order); the updated
    count is returned with the level.
    """
    while passed < len(events) and events[passed][0] <= at:
        passed += 1
    level = 1.0
    if passed:
        status = events[passed - 1][1]
        recovered = status == PartnerStatus.AT_RISK and passed < len(events)
        level = 0.45 if recovered else ENGAGEMENT[status]
    if passed < len(events) and events[passed][1] in DOWNTURNS:
        months = (events[passed][0] - at).days / 30  # the slide in the months leading to the downturn
        if months < 6:
            level = min(level, 0.25 + 0.75 * months / 6)
    return level, passed
