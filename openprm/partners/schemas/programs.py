"""Input/output schemas of the program API (programs and their tiers)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from openprm.core.schemas import Input, NoNul, Patch
from openprm.partners.models import Program, Tier
from openprm.partners.services.programs import PROGRAM_WINDOWS, ProgramInput

ProgramName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), NoNul]
TierName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), NoNul]
Description = Annotated[str, StringConstraints(max_length=5000), NoNul]


def _window(key: str, default: int | None) -> object:
    low, high, unit = PROGRAM_WINDOWS[key]
    return Field(default, ge=low, le=high, description=f"{unit.capitalize()}, {low}–{high}")


class ProgramCreate(Input):
    name: ProgramName
    description: Description = ""
    is_default: bool = Field(False, description="New partners are enrolled in the default program")
    approval_sla_days: int = _window("approval_sla_days", 2)  # type: ignore[assignment]
    protection_days: int = _window("protection_days", 90)  # type: ignore[assignment]
    attribution_model: Literal["first_click", "last_click"] = "last_click"
    attribution_window_days: int = _window("attribution_window_days", 30)  # type: ignore[assignment]
    active_window_days: int = _window("active_window_days", 90)  # type: ignore[assignment]

    def to_input(self) -> ProgramInput:
        return ProgramInput(**self.model_dump())  # type: ignore[typeddict-item]


class ProgramPatch(Patch):
    name: ProgramName | None = None
    description: Description | None = None
    is_default: bool | None = None
    approval_sla_days: int | None = _window("approval_sla_days", None)  # type: ignore[assignment]
    protection_days: int | None = _window("protection_days", None)  # type: ignore[assignment]
    attribution_model: Literal["first_click", "last_click"] | None = None
    attribution_window_days: int | None = _window("attribution_window_days", None)  # type: ignore[assignment]
    active_window_days: int | None = _window("active_window_days", None)  # type: ignore[assignment]

    def to_input(self) -> ProgramInput:
        return ProgramInput(**self.model_dump(exclude_unset=True))  # type: ignore[typeddict-item]


class TierOut(Schema):
    public_id: uuid.UUID
    name: str
    rank: int = Field(description="1 is the lowest tier")


class ProgramOut(Schema):
    public_id: uuid.UUID
    name: str
    description: str
    is_default: bool
    approval_sla_days: int
    protection_days: int
    attribution_model: str
    attribution_window_days: int
    active_window_days: int
    tiers: list[TierOut] = Field(description="Lowest first")
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_tiers(obj: Program) -> list[Tier]:
        return sorted(obj.tiers.all(), key=lambda t: t.rank)


class TierCreate(Input):
    name: TierName


class TierPatch(Patch):
    name: TierName | None = None
    move: Literal["up", "down"] | None = Field(
        None, description='"up": swap with the next higher tier; "down": with the next lower one'
    )
