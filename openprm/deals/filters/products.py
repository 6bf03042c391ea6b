"""The product catalog's filters, shared by the catalog page and ``GET /products``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ProductFilters:
    q: str = ""  # name (contains) or exact SKU
    active: bool | None = None  # None: active and inactive products

    @classmethod
    def from_mapping(cls, data: Any) -> ProductFilters:
        """The page's query string: ``q`` and ``show`` (``active``, ``inactive`` or empty for both)."""
        show = data.get("show", "")
        return cls(
            q=str(data.get("q", "")).replace("\x00", "").strip()[:200],
            active=True if show == "active" else False if show == "inactive" else None,
        )
