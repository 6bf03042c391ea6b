"""The schema of a plan version's rules JSON (pydantic), validated with errors that name the JSON path.

A version holds ``{"rules": [...], "overrides": {...}}``. A rule reads "when <event>, if <conditions>,
then <reward>"::

    {"key": "resale", "label": "10% up to $50k a quarter, then 15%", "priority": 10,
     "event": ["deal_won"],                              # or purchase, recurring_payment, signup, ...
     "conditions": {"all": [{"field": "amount", "op": "gte", "value": 10000},
                            {"any": [{"field": "partner.tier", "op": "in", "value": ["Gold"]}, ...]}]},
     "reward": {"type": "tiered", "period": "quarter", "mode": "marginal",
                "tiers": [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}]},
     "recurring": {"months": 12},                       # recurring payments: N months or {"lifetime": true}
     "caps": {"per_event": 1000, "per_period": 5000, "period": "month"},
     "valid_from": "2026-01-01", "valid_to": "2026-03-31",   # a SPIFF's date range
     "bonus": false}                                     # bonus rules always stack (selection ignores them)

Rewards: ``percent`` (rate, % of the amount), ``flat`` (amount), ``tiered`` (volume tiers per period,
marginal or retroactive), ``threshold`` (a flat bonus paid once per period when the partner's matched
volume or count reaches it). ``overrides``: ``{"levels": [5, 2]}`` — a sub-partner's parent earns 5% of
every commission of the child, the grandparent 2%.

Amounts are in the plan's currency (sources are converted at the event date's rate first); rates are
percentages, kept exactly as written (Decimal).
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

EVENTS = (
    "deal_won",
    "deal_registered",
    "deal_approved",
    "signup",
    "purchase",
    "recurring_payment",
    "lead_accepted",
    "target_reached",
    "custom",
)
# Fields a condition may test (``metadata.<key>`` reads the source's properties).
FIELDS = (
    "amount",
    "currency",
    "product",
    "program",
    "source",
    "partner.type",
    "partner.tier",
    "partner.region",
    "partner.country",
    "partner.tags",
    "partner.tenure_months",
    "partner.lifetime_amount",
    "customer.new",
    "customer.months_since_first",
)
# Fields whose value is a flag: a condition on one compares with ``true``/``false`` only (the engine
# never takes the string "true" or the number 1 for a flag, so such a condition would never match).
FLAG_FIELDS = ("customer.new",)
OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains")
Period = Literal["month", "quarter", "year"]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, le=100, max_digits=12, decimal_places=6)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    field: str
    op: Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains"] = "eq"
    value: Any

    @field_validator("value")
    @classmethod
    def _flag_value(cls, value: Any, info: ValidationInfo) -> Any:
        # a stored version is read as it was published (a legacy "true" never matched, and still does not)
        stored = bool(info.context and info.context.get("stored"))
        if info.data.get("field") in FLAG_FIELDS and not stored:
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, bool) for v in values):
                raise ValueError("must be true or false")
        return value

    @model_validator(mode="after")
    def _known_field(self) -> Condition:
        if self.field not in FIELDS and not self.field.startswith("metadata."):
            raise ValueError(f"unknown field {self.field!r}: one of {', '.join(FIELDS)} or metadata.<key>")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.op!r} needs a list of values")
        return self


def _node_kind(value: Any) -> str:
    return (
        "condition"
        if isinstance(value, Condition) or (isinstance(value, dict) and "field" in value)
        else "group"
    )


class Group(_Strict):
    all: list[Node] | None = None
    any: list[Node] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Group:
        if (self.all is None) == (self.any is None):
            raise ValueError('a condition group has exactly one of "all" or "any"')
        return self


Node = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated[Group, Tag("group")], Discriminator(_node_kind)
]
Group.model_rebuild()


class Percent(_Strict):
    type: Literal["percent"]
    rate: Rate


class Flat(_Strict):
    type: Literal["flat"]
    amount: Money


class Tier(_Strict):
    from_: Money = Field(alias="from")
    rate: Rate


class Tiered(_Strict):
    type: Literal["tiered"]
    period: Period = "month"
    mode: Literal["marginal", "retroactive"] = "marginal"
    tiers: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> Tiered:
        starts = [t.from_ for t in self.tiers]
        if starts[0] != 0:
            raise ValueError("the first tier starts from 0")
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("tiers start at strictly increasing amounts")
        return self


class Threshold(_Strict):
    type: Literal["threshold"]
    metric: Literal["amount", "count"] = "amount"
    threshold: Money
    period: Period = "month"
    amount: Money


class Recurring(_Strict):
    months: int | None = Field(default=None, ge=1, le=600)
    lifetime: bool = False

    @model_validator(mode="after")
    def _one(self) -> Recurring:
        if (self.months is None) == (not self.lifetime):
            raise ValueError('give "months" or "lifetime": true')
        return self


class Caps(_Strict):
    per_event: Money | None = None
    per_period: Money | None = None
    period: Period = "month"


class Rule(_Strict):
    key: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    label: str = Field(default="", max_length=200)
    priority: int = 100
    event: list[Literal[EVENTS]] = Field(min_length=1)  # type: ignore[valid-type]
    custom_event: str | None = Field(default=None, max_length=60)
    conditions: Group | None = None
    reward: Percent | Flat | Tiered | Threshold = Field(discriminator="type")
    recurring: Recurring | None = None
    caps: Caps | None = None
    valid_from: datetime.date | None = None
    valid_to: datetime.date | None = None
    bonus: bool = False

    @model_validator(mode="before")
    @classmethod
    def _event_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("event"), str):
            data = {**data, "event": [data["event"]]}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        if "custom" in self.event and not self.custom_event:
            raise ValueError('a "custom" event rule names its event type in "custom_event"')
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class Overrides(_Strict):
    levels: list[Rate] = Field(min_length=1, max_length=5)


class Rules(_Strict):
    rules: list[Rule] = Field(default_factory=list)
    overrides: Overrides | None = None

    @model_validator(mode="after")
    def _unique_keys(self) -> Rules:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.key in seen:
                raise ValueError(f"rule key {rule.key!r} is used twice")
            seen.add(rule.key)
        return self


class RulesError(ValueError):
    """Invalid rules: ``errors`` lists ``{"path": "rules[0].reward.rate", "message": ...}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("condition", "group", "percent", "flat", "tiered", "threshold") or "[" in str(part):
            continue  # union branch names pydantic adds to the location
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def parse_rules(data: Any, *, stored: bool = False) -> Rules:
    """Validate a rules document; raise :class:`RulesError` naming each problem's JSON path. ``stored``: a
    version read back (published, or shown): checks added since it was saved (a flag's value must be true
    or false) do not refuse it, so accrual and its pages go on; new input is checked in full."""
    if not isinstance(data, dict):
        raise RulesError([{"path": "(root)", "message": 'an object with "rules" is expected'}])
    try:
        return Rules.model_validate(data, context={"stored": stored})
    except ValidationError as exc:
        errors: list[dict[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for err in exc.errors(include_url=False):
            message = str(err["msg"]).removeprefix("Value error, ")
            item = (_path(tuple(err["loc"])), message)
            if item not in seen:
                seen.add(item)
                errors.append({"path": item[0], "message": item[1]})
        raise RulesError(errors) from None
