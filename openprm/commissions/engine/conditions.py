"""A rule's conditions compiled once per version: a test of an event's fields that records, in words, each
condition that failed (``amount gte 900: was 391.1``; ``none of: ...`` for an ``any`` group).

Every condition of a group is tested, also after one failed, so the explanation names all that failed."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

# ("all"|"any", (children...)) or ("cond", field, op, value)
Cond = tuple[Any, ...]
# (the event's fields, the failures so far) → whether the condition holds
Check = Callable[[Mapping[str, Any], list[str]], bool]

_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _num(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return None


def holds(actual: Any, op: str, expected: Any) -> bool:
    """Whether ``actual`` (a field of the event) satisfies ``op`` against ``expected`` (the rule's value)."""
    if op in _ORDER:
        a = actual if isinstance(actual, Decimal) else _num(actual)
        b = expected if isinstance(expected, Decimal) else _num(expected)
        if a is None or b is None:
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    many = actual if isinstance(actual, list | tuple | set | frozenset) else None
    if op == "contains":
        return many is not None and any(_same(v, expected) for v in many)
    if op in ("in", "not_in"):
        values = expected if isinstance(expected, list | tuple | set | frozenset) else (expected,)
        hit = any(_same(a, b) for a in (many if many is not None else (actual,)) for b in values)
        return hit if op == "in" else not hit
    if many is None and (isinstance(actual, Decimal) or _is_number(expected)) and not _is_flag(actual):
        a, b = _num(actual), _num(expected)
        same = a is not None and a == b
    else:
        same = _same(actual, expected) if many is None else any(_same(v, expected) for v in many)
    return same if op == "eq" else not same


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A figure (``True`` is an int in Python, but a flag here, never the number 1)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _same(actual: Any, expected: Any) -> bool:
    """Equality of one value with another: flags (``customer.new``) as flags (``true`` is not ``1``),
    anything else as Python compares it (``1 == Decimal("1.0")``)."""
    if _is_flag(actual) or _is_flag(expected):
        return _is_flag(actual) and _is_flag(expected) and actual is expected
    return bool(actual == expected)


def show(value: Any) -> str:
    """A value for an explanation; a figure without exponent or trailing zeros (an amount converted at
    a 16-decimal exchange rate carries them), e.g. 7760 or 123.45."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return repr(value)


def _leaf(name: str, op: str, expected: Any) -> Check:
    said = f"{name} {op} {show(expected)}: was "
    compare = _ORDER.get(op)
    if compare is not None and isinstance(expected, Decimal):
        # an order against a figure (converted to a decimal at compile time): the common case, tested
        # without the dispatch of ``holds`` (same result, also the same error for a NaN)
        def ordered(fields: Mapping[str, Any], failed: list[str]) -> bool:
            actual = fields.get(name)
            a = actual if isinstance(actual, Decimal) else _num(actual)
            if a is not None and compare(a, expected):
                return True
            failed.append(said + show(actual))
            return False

        return ordered

    def leaf(fields: Mapping[str, Any], failed: list[str]) -> bool:
        actual = fields.get(name)
        if holds(actual, op, expected):
            return True
        failed.append(said + show(actual))
        return False

    return leaf


def compile_condition(cond: Cond) -> Check:
    if cond[0] == "cond":
        _, name, op, value = cond
        return _leaf(name, op, value)
    kind, children = cond
    checks = tuple(compile_condition(child) for child in children)
    if kind == "all":

        def every(fields: Mapping[str, Any], failed: list[str]) -> bool:
            ok = True
            for check in checks:
                ok = check(fields, failed) and ok
            return ok

        return every

    def some(fields: Mapping[str, Any], failed: list[str]) -> bool:
        sub: list[str] = []
        ok = any([check(fields, sub) for check in checks])
        if not ok:
            failed.append("none of: " + "; ".join(sub))
        return ok

    return some
