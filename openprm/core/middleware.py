from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


class ApiErrorMiddleware:
    """Under /api/, every error is JSON with a stable `code`, including Django's own 404/405/500 pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            json = JsonResponse(
                {"code": CODES.get(status, "error"), "message": HTTPStatus(status).phrase},
                status=status,
            )
            if response.has_header("Allow"):
                json["Allow"] = response["Allow"]
            return json
        return response


# Our pages run no inline <script>: scripts come from our own static files (htmx from the django-htmx
# wheel, the API docs' Swagger UI from django-ninja's; its settings are a JSON data block, not script),
# styles may be inline (htmx 2 injects its indicator style), images may be data: URIs (Swagger UI's icons).
# Event handlers are data attributes handled by static/openprm/app.js (data-confirm, data-autosubmit...).

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Set the Content-Security-Policy header on every response (unless a view set its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
