"""API input/output of staff users (``/api/v1/users``)."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict

StaffRole = Literal["admin", "manager", "finance", "analyst"]


class UserOut(Schema):
    id: uuid.UUID
    email: str
    name: str
    role: str
    owned_only: bool
    is_active: bool
    last_login: datetime.datetime | None = None


class UserPatch(Schema):
    """Change the role and/or switch access off (``false``) or back on (``true``)."""

    model_config = ConfigDict(extra="forbid")

    role: StaffRole | None = None
    is_active: bool | None = None
