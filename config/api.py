"""The one NinjaAPI: /api/v1/. Errors are JSON with a stable `code` (and the offending `field`)."""

from __future__ import annotations

import json
import logging
import re
import threading
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
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)|[\[\]{}:,]|[^\[\]{}:,"\s]++')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # a bracket's step in depth as a signed byte


class BodyTooDeep(ValueError):
    """A JSON body nested deeper than ``MAX_BODY_DEPTH``: ``path`` leads to where the nesting starts."""

    def __init__(self, path: list[str | int]) -> None:
        super().__init__(TOO_DEEP)
        self.path = path

    @property
    def field(self) -> str:
        """The path as the API names fields: ``rules.rules[0].conditions``, ``[3].properties.a``."""
        return _path_text(self.path)


def _too_deep_at(body: bytes) -> list[str | int]:
    """The path (keys and indices) to the first value nested deeper than the limit, read token by token
    (no recursion), then without its trailing run of one repeated step ("all", 0, "all", 0, …): the
    field a person wrote the nesting in, e.g. ``rules.rules[0].conditions``."""
    stack: list[list[Any]] = []  # [kind, key or index, expecting a key]
    path: list[str | int] = []
    for match in _TOKEN.finditer(body):
        token = match.group()
        top = stack[-1] if stack else None
        if token in (b"{", b"["):
            if len(stack) >= MAX_BODY_DEPTH:
                path = [frame[1] for frame in stack]
                break
            stack.append([token, 0 if token == b"[" else "", token == b"{"])
        elif token in (b"}", b"]"):
            if stack:
                stack.pop()
        elif top is not None and token == b",":
            if top[0] == b"[":
                top[1] += 1
            else:
                top[2] = True
        elif top is not None and top[2] and token.startswith(b'"'):
            try:
                top[1] = str(json.loads(token))
            except ValueError:
                top[1] = "?"
            top[2] = False
    # the nesting itself: where the path starts repeating one step (1 to 4 parts long) to its end
    for size in range(1, 5):
        tail = path[-3 * size :]
        if len(tail) == 3 * size and tail == tail[size:] + tail[2 * size :][:size]:
            start = len(path) - 3 * size
            while start > 0 and path[start - 1] == path[start - 1 + size]:
                start -= 1
            return path[:start]
    return path


def body_nesting(body: bytes) -> int | None:
    """How deep a UTF-8 body's objects and lists nest (strings aside), in a few linear C-speed passes
    (the running depth: accumulated signed bytes, no Python loop or list); None when its brackets do not
    pair up (not JSON, whatever else is wrong with it). In UTF-8 no byte of a multi-byte character is a
    quote, a backslash or a bracket."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body))
    if not brackets:
        return 0
    steps = memoryview(brackets.translate(_STEPS)).cast("b")  # +1 for [ {, -1 for ] }
    if sum(steps) != 0 or min(accumulate(steps)) < 0:
        return None
    return max(accumulate(steps))


def check_body_depth(body: bytes) -> None:
    """Refuse a UTF-8 JSON body nested deeper than ``MAX_BODY_DEPTH`` before it is read (``BodyTooDeep``,
    naming where), or whose brackets do not pair up (``ValueError``: not JSON); linear in the body."""
    nesting = body_nesting(body)
    if nesting is None:
        raise ValueError("the body's brackets do not pair up")  # a 400, as any body that is not JSON
    if nesting > MAX_BODY_DEPTH:
        raise BodyTooDeep(_too_deep_at(body))


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
