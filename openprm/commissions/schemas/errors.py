"""Rules errors as the API and the forms show them: ``rules.RulesError``'s JSON paths become field errors
under ``rules`` (``rules.rules[0].reward.rate``), so a 422 names exactly what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError

from openprm.commissions.rules import RulesError


def rules_field(path: str) -> str:
    return "rules" if path in ("", "(root)") else f"rules.{path}"


@contextmanager
def rules_checked() -> Iterator[None]:
    """Turn a ``RulesError`` raised inside into a ValidationError keyed by each problem's path."""
    try:
        yield
    except RulesError as exc:
        found: dict[str, list[str]] = {}
        for error in exc.errors:
            found.setdefault(rules_field(error["path"]), []).append(error["message"])
        raise ValidationError(found) from None
