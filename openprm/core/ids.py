from __future__ import annotations

import uuid
from typing import Any


def parse_uuid(value: Any) -> Any:
    """The UUID in ``value``, or None (a lookup on None matches nothing, so bad ids read as missing)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
