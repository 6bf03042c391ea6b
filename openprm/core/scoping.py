"""The one access-scoping mechanism.

Every request and job runs inside an :class:`AccessScope` (a workspace plus, for partner users, their
partner; optionally, for staff restricted to their own book, the partners they own). Tenant-owned models
use :class:`ScopedManager`, whose querysets are filtered by the active scope and which *raise* when no
scope is active. Code that must cross scopes says so with ``with unscoped():`` — grep for it in review.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models


class ScopeError(RuntimeError):
    """A tenant-owned model was queried outside any access scope."""


@dataclass(frozen=True)
class AccessScope:
    workspace_id: int
    partner_id: int | None = None  # set for partner users: only this partner's rows
    owner_id: int | None = None  # set for staff restricted to the partners they own
    user_id: int | None = None
    rep_user_id: int | None = None  # set for partner reps: only rows they own (models with SCOPE_REP_PATH)

    def filter_kwargs(self, partner_path: str | None, rep_path: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"workspace_id": self.workspace_id}
        if rep_path is not None and self.rep_user_id is not None:
            kwargs[f"{rep_path}_id"] = self.rep_user_id
        if partner_path is None:
            return kwargs
        prefix = f"{partner_path}__" if partner_path else ""
        if self.partner_id is not None:
            kwargs[f"{prefix}id"] = self.partner_id
        if self.owner_id is not None:
            kwargs[f"{prefix}owner_id"] = self.owner_id
        return kwargs


_BYPASS = object()
_current: ContextVar[AccessScope | object | None] = ContextVar("openprm_scope", default=None)


def current_scope() -> AccessScope:
    scope = _current.get()
    if not isinstance(scope, AccessScope):
        raise ScopeError("No access scope is active")
    return scope


def active_scope_or_none() -> AccessScope | None:
    scope = _current.get()
    return scope if isinstance(scope, AccessScope) else None


@contextmanager
def scope(access: AccessScope) -> Iterator[AccessScope]:
    token = _current.set(access)
    try:
        yield access
    finally:
        _current.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Explicit, greppable bypass of scoping (migrations of data, CLI admin tasks, demo loader)."""
    token = _current.set(_BYPASS)
    try:
        yield
    finally:
        _current.reset(token)


def set_scope(access: AccessScope | None) -> None:
    """Activate a scope for the rest of the current request (the middleware resets it afterwards)."""
    _current.set(access)


M = TypeVar("M", bound=models.Model)


class ScopedManager(models.Manager[M]):
    """Default manager of every tenant-owned model.

    The model's ``SCOPE_PARTNER_PATH`` is the lookup path from it to its Partner: "partner" (the default),
    "" for Partner itself, None for workspace-wide rows every member of the workspace may read. A model
    with ``SCOPE_REP_PATH`` (e.g. "registered_by") is further limited, for partner reps, to the rows that
    path points at them. ``SCOPE_STAFF_ONLY = True`` hides a model's rows from partner users altogether
    (internal indexes that describe every partner's customers). These live on the model because Django
    builds related managers by subclassing this class.
    """

    def get_queryset(self) -> models.QuerySet[M]:
        queryset = super().get_queryset()
        active = _current.get()
        if active is _BYPASS:
            return queryset
        if not isinstance(active, AccessScope):
            raise ScopeError(f"{self.model.__name__} queried outside an access scope")
        partner_path = getattr(self.model, "SCOPE_PARTNER_PATH", "partner")
        rep_path = getattr(self.model, "SCOPE_REP_PATH", None)
        if active.partner_id is not None and getattr(self.model, "SCOPE_STAFF_ONLY", False):
            return queryset.none()
        return queryset.filter(**active.filter_kwargs(partner_path, rep_path))
