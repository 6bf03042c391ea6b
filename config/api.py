"""The one NinjaAPI: /api/v1/. Errors are JSON with a stable `code` (and the offending `field`)."""

from __future__ import annotations

import json
import logging
import operator
import re
import threading
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser

from openprm.accounts.auth import MemberSessionAuth, TokenAuth
from openprm.core.middleware import CODES

logger = logging.getLogger(__name__)

# Error answers every operation documents (the body is always ErrorOut); others stay as declared.
DOCUMENTED_ERRORS = {
    400: "Malformed request (e.g. invalid JSON)",
    401: "Missing, invalid, expired or revoked token",
    403: "Your role may not do this",
    404: "Not found, or outside what you may see (the same answer)",
    422: "Validation error: `field` names the offending input, `errors` lists every problem",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation documents the JSON errors it can answer, once each (not the whole 4xx range)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorOut" not in components:
        return schema
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            kept: dict[str, Any] = {}
            for code, response in responses.items():
                ref = response.get("content", {}).get("application/json", {}).get("schema")
                fan_out = str(code).startswith("4") and int(code) not in (*DOCUMENTED_ERRORS, 409, 413)
                if fan_out and ref == ERROR_REF:
                    continue  # the rest of ninja's codes_4xx range: never answered
                kept[str(code)] = response
            for code, description in DOCUMENTED_ERRORS.items():
                entry = kept.setdefault(str(code), {"content": {"application/json": {"schema": ERROR_REF}}})
                entry["description"] = entry.get("description") or description
                if code == 422:
                    entry["description"] = description
            operation["responses"] = dict(sorted(kept.items()))
    return schema


MAX_BODY_DEPTH = 100  # objects and lists inside one another in a request body (as Ruby's JSON default)
TOO_DEEP = f"nested more than {MAX_BODY_DEPTH} levels deep"

# a string runs to its closing quote, or to the end when it has none (so that each quote is read once: a
# pattern that failed on an unclosed string would try again from every later quote, quadratic in the body)
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)')
_BRACKETS = b"[]{}"
_SKELETON = b'[]{},"'  # what places a value in a body: brackets, commas and (one quote each) strings
_NOT_BRACKETS = bytes(c for c in range(256) if c not in _BRACKETS)
_NOT_SKELETON = bytes(c for c in range(256) if c not in _SKELETON)
# a character's step in depth as a signed byte: +1 for [ {, -1 for ] }, 0 for the rest
_STEPS = bytes(1 if c in b"[{" else 0xFF if c in b"]}" else 0 for c in range(256))
_PASSED = bytes([MAX_BODY_DEPTH + 1])
_CHUNK = 1 << 16
_COMMA_TAGS = bytes(0 if c == ord(",") else 0x80 for c in range(256))  # commas keep their depth, see below


class BodyTooDeep(ValueError):
    """A JSON body nested deeper than ``MAX_BODY_DEPTH``: ``path`` leads to where the nesting starts."""

    def __init__(self, path: list[str | int]) -> None:
        super().__init__(TOO_DEEP)
        self.path = path

    @property
    def field(self) -> str:
        """The path as the API names fields: ``rules.rules[0].conditions``, ``[3].properties.a``."""
        return _path_text(self.path)


def _strings_marked(body: bytes) -> bytes:
    """The body with each string (key or value) one quote: what is left is brackets, commas, colons, quotes
    and scalars, whatever the strings held. In UTF-8 no byte of a multi-byte character is a quote, a
    backslash or a bracket."""
    return _STRING.sub(b'"', body)


def _key_reader(body: bytes) -> Callable[[int], str]:
    """A reader of the body's strings by their order (0 for its first), asked in increasing order: each
    is found by a counted, possessive pattern that runs from the last one found (C speed, linear in all)."""
    state = {"read": 0, "at": 0}

    def key(order: int) -> str:
        skip = re.compile(rb'(?:[^"]*+' + _STRING.pattern + rb"){%d}+[^\"]*+" % (order - state["read"]))
        skipped = skip.match(body, state["at"])
        found = _STRING.match(body, skipped.end()) if skipped else None
        if found is None:
            return "?"
        state["read"], state["at"] = order + 1, found.end()
        try:
            return str(json.loads(found.group()))
        except ValueError:
            return "?"

    return key


def _too_deep_at(body: bytes, marked: bytes | None = None) -> list[str | int]:
    """The path (keys and indices) to the first value nested deeper than the limit, then without its
    trailing run of one repeated step ("all", 0, "all", 0, …): the field a person wrote the nesting in,
    e.g. ``rules.rules[0].conditions``; [] when nothing is that deep (or the brackets do not pair up).

    In C-speed passes, no Python loop over the body (a token-by-token read took ~1 µs a byte: 30 s for
    32 MB of small items before a deep one): the skeleton (brackets, commas, one quote a string)
    and each of its places' depth give where the limit is passed; the container at each level around it
    opens after the last place one level up; an array's index there is its commas at that depth before
    the child, an object's key the string after its last such comma."""
    skeleton = (_strings_marked(body) if marked is None else marked).translate(None, _NOT_SKELETON)
    steps = memoryview(skeleton.translate(_STEPS)).cast("b")
    found = _depths_to_limit(steps)
    if found is None:  # never that deep, or closed before it opened (not JSON)
        return []
    depths, deep = found
    opens = [deep]  # where each enclosing container opens, from the innermost out
    for level in range(MAX_BODY_DEPTH, 0, -1):
        opens.append(depths.rfind(bytes([level - 1]), 0, opens[-1]) + 1)
    opens.reverse()
    # a comma's byte is its depth, any other place's 0x80 and more: a depth's commas are one byte's count
    tags = (int.from_bytes(depths) | int.from_bytes(skeleton[:deep].translate(_COMMA_TAGS))).to_bytes(deep)
    key = _key_reader(body)
    path: list[str | int] = []
    strings, counted = 0, 0  # the strings before skeleton place `counted`
    for level in range(1, MAX_BODY_DEPTH + 1):
        start, child = opens[level - 1], opens[level]
        if skeleton[start] == ord("["):
            path.append(tags.count(bytes([level]), start + 1, child))
            continue
        at = max(start, tags.rfind(bytes([level]), start + 1, child)) + 1  # the member's first place
        if at < child and skeleton[at] == ord('"'):
            strings += skeleton.count(b'"', counted, at)
            counted = at
            path.append(key(strings))
        else:
            path.append("")  # not JSON: a member without a key
    return _without_repeated_tail(path)


def _depths_to_limit(steps: memoryview) -> tuple[bytes, int] | None:
    """Each place's running depth (one byte: 0 to the limit) up to where the limit is first passed, and
    that place; None when it never is (or the depth goes below 0). Read in chunks of accumulated signed
    bytes (C speed, one pass): a chunk that goes past 255 is searched for the limit on its own."""
    depth, parts = 0, []
    for begin in range(0, len(steps), _CHUNK):
        chunk = steps[begin : begin + _CHUNK]
        try:
            part = bytes(accumulate(chunk, initial=depth))[1:]
            at = part.find(_PASSED)
        except ValueError:
            try:
                at = operator.indexOf(accumulate(chunk, initial=depth), MAX_BODY_DEPTH + 1) - 1
                part = bytes(accumulate(chunk[:at], initial=depth))[1:]
            except ValueError:
                return None
        if at >= 0:
            parts.append(part[:at])
            return b"".join(parts), begin + at
        parts.append(part)
        depth = part[-1]
    return None


def _without_repeated_tail(path: list[str | int]) -> list[str | int]:
    """The path up to where it starts repeating one step (1 to 4 parts long) to its end: the nesting."""
    for size in range(1, 5):
        tail = path[-3 * size :]
        if len(tail) == 3 * size and tail == tail[size:] + tail[2 * size :][:size]:
            start = len(path) - 3 * size
            while start > 0 and path[start - 1] == path[start - 1 + size]:
                start -= 1
            return path[:start]
    return path


def _nesting(marked: bytes) -> int | None:
    """``body_nesting`` of a body whose strings are marked (``_strings_marked``)."""
    brackets = marked.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = memoryview(brackets.translate(_STEPS)).cast("b")  # +1 for [ {, -1 for ] }
    try:
        depths = bytes(accumulate(steps))  # one pass when every running depth is 0 to 255
    except ValueError:  # deeper, or below 0 (closed before opened)
        if sum(steps) != 0 or min(accumulate(steps)) < 0:
            return None
        return max(accumulate(steps))
    return max(depths) if depths[-1] == 0 else None


def body_nesting(body: bytes) -> int | None:
    """How deep a UTF-8 body's objects and lists nest (strings aside), in a few linear C-speed passes
    (the running depth: accumulated signed bytes, no Python loop); None when its brackets do not pair
    up (not JSON, whatever else is wrong with it)."""
    return _nesting(_strings_marked(body))


def check_body_depth(body: bytes) -> None:
    """Refuse a UTF-8 JSON body nested deeper than ``MAX_BODY_DEPTH`` before it is read (``BodyTooDeep``,
    naming where), or whose brackets do not pair up (``ValueError``: not JSON); linear in the body, at
    C speed (its strings are marked once, for both)."""
    marked = _strings_marked(body)
    nesting = _nesting(marked)
    if nesting is None:
        raise ValueError("the body's brackets do not pair up")  # a 400, as any body that is not JSON
    if nesting > MAX_BODY_DEPTH:
        raise BodyTooDeep(_too_deep_at(body, marked))


class BodyParser(Parser):
    """JSON bodies with a bounded nesting: a body nested deeper than ``MAX_BODY_DEPTH`` is refused before
    it is read (Python's reader would recurse to its limit, and what stores or validates it later too)
    and answered with the usual 422 naming where (see ``on_http_error``), never a 400 or a 500."""

    def parse_body(self, request: HttpRequest) -> Any:
        body = request.body
        # UTF-8 only (RFC 8259), else a 400: in UTF-16 or UTF-32 the count below would miss brackets
        text = body.decode()
        check_body_depth(body)
        return json.loads(text)


class OpenPRMApi(NinjaAPI):
    """The NinjaAPI with a schema built once per process (it took seconds per /openapi.json request)."""

    _schema_lock = threading.Lock()

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache: dict[Any, OpenAPISchema] = self.__dict__.setdefault("_schema_cache", {})
        if key not in cache:
            with self._schema_lock:
                if key not in cache:
                    built = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
                    document_errors(built)
                    cache[key] = built
        return cache[key]


api = OpenPRMApi(
    title="OpenPRM API",
    version="1",
    description=(
        "Partner relationship management. Authenticate with `Authorization: Bearer <token>` "
        "(create one with `prm token create` or on the API tokens page). Public ids are UUIDs; "
        "errors are JSON objects with a stable `code`."
    ),
    auth=[TokenAuth(), MemberSessionAuth()],
    urls_namespace="api",
    parser=BodyParser(),
)


def error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


def _field_of(loc: list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "form", "file"}:
        parts = parts[1:]
        if parts and parts[0] in {"payload", "data", "filters", "body"}:
            parts = parts[1:]  # the endpoint's parameter name; a bare one means the whole body
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_of(list(e.get("loc", []))),
            "code": e.get("type", "invalid"),
            "message": e.get("msg", ""),
        }
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": "body", "message": "Invalid input"}
    return error(
        request,
        422,
        "validation_error",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


@api.exception_handler(ValidationError)
def on_domain_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": field, "code": "invalid", "message": " ".join(messages)}
            for field, messages in exc.message_dict.items()
        ]
    else:
        errors = [{"field": "body", "code": "invalid", "message": " ".join(exc.messages)}]
    first = errors[0]
    return error(
        request,
        422,
        "validation_error",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


@api.exception_handler(ObjectDoesNotExist)
def on_missing(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", "Not found")


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 404, "not_found", "Not found")


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 403, "forbidden", str(exc) or "Your role may not do this")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error(request, 401, "unauthorized", "Send a valid API token: Authorization: Bearer <token>")


def _path_text(path: list[str | int]) -> str:
    """A body path as the API names fields: ``rules.rules[0].conditions``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "body"


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, BodyTooDeep):  # ninja wraps what the parser raises in a 400 (so do events)
        field = exc.__cause__.field
        errors = [{"field": field, "code": "too_deep", "message": TOO_DEEP}]
        return error(request, 422, "validation_error", f"{field}: {TOO_DEEP}", field=field, errors=errors)
    extra = {"field": "body"} if "request body" in str(exc.message) else {}  # malformed JSON
    return error(request, exc.status_code, CODES.get(exc.status_code, "error"), str(exc.message), **extra)


api.add_router("/", "openprm.core.jobs_api.router")
api.add_router("/", "openprm.accounts.api.router")
api.add_router("/", "openprm.notifications.api.router")
api.add_router("/", "openprm.partners.api.router")
api.add_router("/", "openprm.deals.api.router")
api.add_router("/", "openprm.activity.api.router")
api.add_router("/", "openprm.metrics.api.router")
api.add_router("/", "openprm.finance.api.router")
api.add_router("/", "openprm.customers.api.router")
api.add_router("/", "openprm.scorecards.api.router")
api.add_router("/", "openprm.dashboards.api.router")
api.add_router("/", "openprm.alerts.api.router")
api.add_router("/", "openprm.reports.api.router")
api.add_router("/", "openprm.commissions.api.router")
