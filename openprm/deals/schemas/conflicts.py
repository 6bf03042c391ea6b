"""Schemas of the conflicts API (staff only). A side of a conflict outside what the caller may see (staff
restricted to the partners they own) is reported as existing, with every detail hidden."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from openprm.core.schemas import Input
from openprm.deals.models import Deal, DealConflict
from openprm.deals.schemas.deals import DealRefOut
from openprm.deals.schemas.fields import ConflictStatusIn, Note
from openprm.deals.selectors import deals_visible
from openprm.deals.services import Resolution

ResolutionIn = Literal["approve_this", "approve_other", "co_sell", "dismiss"]
assert set(ResolutionIn.__args__) == {  # type: ignore[attr-defined]
    Resolution.APPROVE_THIS,
    Resolution.APPROVE_OTHER,
    Resolution.CO_SELL,
    Resolution.DISMISS,
}


class ConflictQuery(Schema):
    status: ConflictStatusIn | None = Field(None, description="e.g. open; left out: every status")


class ConflictResolveIn(Input):
    resolution: ResolutionIn = Field(
        description=(
            "approve_this: approve this conflict's deal and reject the other; approve_other: the reverse; "
            "co_sell: keep both, the later partner co-sells the first-in deal; dismiss: not the same customer"
        )
    )
    reason: Note = Field("", description="Required when one registration is rejected; shown to that partner")


class DealConflictSideOut(Schema):
    """One side of a conflict. A side outside what the caller may see (staff restricted to the partners
    they own) says only that it exists: ``visible`` false and every other field null."""

    visible: bool = Field(True, description="False: a registration outside your partners (details hidden)")
    public_id: uuid.UUID | None
    partner: DealRefOut | None
    customer_name: str | None
    customer_domain: str | None
    amount: Decimal | None
    currency: str | None
    stage: str | None
    approval_status: str | None
    registered_at: datetime.datetime | None

    @staticmethod
    def resolve_visible(obj: Any) -> bool:
        return isinstance(obj, Deal)

    @staticmethod
    def resolve_stage(obj: Any) -> str | None:
        return obj.stage.key if isinstance(obj, Deal) else None


HIDDEN_SIDE: dict[str, Any] = dict.fromkeys(
    [
        *("public_id", "partner", "customer_name", "customer_domain", "amount", "currency"),
        *("stage", "approval_status", "registered_at"),
    ]
)


def _sides_hidden(obj: DealConflict, context: Any) -> bool:
    """Whether a side of the conflict is outside the caller's scope (worked out once per conflict)."""
    if not hasattr(obj, "_side_hidden"):
        actor = getattr((context or {}).get("request"), "actor", None)
        ids = {obj.deal_id, obj.other_id}
        visible = ids if actor is None else deals_visible(actor=actor, deal_ids=ids)
        obj._side_hidden = {pk: pk not in visible for pk in ids}  # type: ignore[attr-defined]
    return any(obj._side_hidden.values())  # type: ignore[attr-defined]


def _side(obj: DealConflict, deal: Deal, context: Any) -> Deal | dict[str, Any]:
    _sides_hidden(obj, context)
    return HIDDEN_SIDE if obj._side_hidden[deal.pk] else deal  # type: ignore[attr-defined]


class DealConflictOut(Schema):
    public_id: uuid.UUID
    deal: DealConflictSideOut = Field(description="The registration that was checked")
    other: DealConflictSideOut = Field(description="The other partner's registration it matched")
    first_in: uuid.UUID | None = Field(
        description="Public id of whichever of the two was registered first (null when one is hidden)"
    )
    score: float = Field(description="Match strength, 0-1")
    reasons: list[str] = Field(
        description="Why the two look like the same customer (empty when one side is hidden: they name it)"
    )
    status: str
    detected_at: datetime.datetime
    resolved_at: datetime.datetime | None
    resolved_by: str
    resolution_note: str

    @staticmethod
    def resolve_deal(obj: DealConflict, context: Any) -> Deal | dict[str, Any]:
        return _side(obj, obj.deal, context)

    @staticmethod
    def resolve_other(obj: DealConflict, context: Any) -> Deal | dict[str, Any]:
        return _side(obj, obj.other, context)

    @staticmethod
    def resolve_reasons(obj: DealConflict, context: Any) -> list[str]:
        return [] if _sides_hidden(obj, context) else list(obj.reasons)

    @staticmethod
    def resolve_first_in(obj: DealConflict, context: Any) -> uuid.UUID | None:
        return None if _sides_hidden(obj, context) else obj.first_in.public_id

    @staticmethod
    def resolve_resolved_by(obj: DealConflict) -> str:
        return obj.resolved_by_label
