"""Every error leaves the server as JSON in the protocol's shape (spec README C5).

The reference's ``detail`` key is kept exactly; ``message`` (and ``current_version``,
``existing_lease``, ``errors``) are added beside it because the reference client reads
those. Nothing answers in plain text, not even an unexpected failure.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from openintent.exceptions import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    GoneError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentError,
    PayloadTooLargeError,
    RateLimitError,
    ValidationError,
)

__all__ = ["EXCEPTION_HANDLERS", "error_response", "json_errors_only"]

log = logging.getLogger("openintent.server")

_STATUS: list[tuple[type[OpenIntentError], int]] = [
    (NotFoundError, 404),
    (LeaseConflictError, 409),
    (ConflictError, 409),
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (GoneError, 410),
    (PayloadTooLargeError, 413),
    (RateLimitError, 429),
    (ValidationError, 422),
]

_CATTRS_LOC = re.compile(r"^(?P<msg>.*) @ \$(?P<path>.*)$")


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        # default=str: an error must never fail to serialise itself
        content=json.dumps(body, default=str).encode(),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _validation_items(errors: list[Any]) -> list[dict[str, Any]]:
    """cattrs' ``"msg @ $.a.b"`` strings as pydantic-style ``{type, loc, msg}`` items."""
    items = []
    for err in errors:
        if isinstance(err, dict):
            items.append({"type": "value_error", **err})
            continue
        match = _CATTRS_LOC.match(str(err))
        if match:
            path = [p for p in re.split(r"[.\[\]]", match["path"]) if p]
            loc: list[Any] = ["body", *(int(p) if p.isdigit() else p for p in path)]
            items.append({"type": "value_error", "loc": loc, "msg": match["msg"]})
        else:
            items.append({"type": "value_error", "loc": ["body"], "msg": str(err)})
    return items


def _protocol_error(_: Request[Any, Any, Any], exc: OpenIntentError) -> Response[bytes]:
    status = exc.status_code or next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
    detail: Any = exc.message
    if isinstance(exc.response, dict) and "detail" in exc.response:
        detail = exc.response["detail"]  # structured details, e.g. governance violations
    body: dict[str, Any] = {"detail": detail, "message": exc.message}
    if isinstance(exc, ValidationError):
        if status == 422:
            items = _validation_items(exc.errors) or [
                {"type": "value_error", "loc": ["body"], "msg": exc.message}
            ]
            body["detail"] = items
            body["errors"] = items
        else:
            body["errors"] = exc.errors
    elif isinstance(exc, ConflictError) and exc.current_version is not None:
        body["current_version"] = exc.current_version
    elif isinstance(exc, LeaseConflictError) and exc.existing_lease is not None:
        body["existing_lease"] = exc.existing_lease
    return error_response(status, body)


def _parameter_item(e: dict[str, Any]) -> dict[str, Any]:
    source, key = e.get("source", "query"), e.get("key", "")
    if source == "body" and key == "data":
        # litestar's report of an empty body; FastAPI's words for it
        return {"type": "missing", "loc": ["body"], "msg": "Field required"}
    return {"type": "value_error", "loc": [source, key], "msg": e.get("message", "invalid value")}


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ValidationException):
        # litestar rejects bad query/path parameters with 400; the protocol says 422.
        extra = exc.extra if isinstance(exc.extra, list) else []
        items = [_parameter_item(e) for e in extra if isinstance(e, dict)] or [
            {"type": "value_error", "loc": ["request"], "msg": exc.detail}
        ]
        return error_response(422, {"detail": items, "message": exc.detail, "errors": items})
    if exc.status_code >= 500:
        log.error("%s on %s %s: %s", exc.status_code, request.method, request.url.path, exc.detail)
    detail = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, exc.detail)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 413:
        # The rest of the body was never read, so the connection cannot carry another
        # request: say so, or a client reusing it races the server closing it.
        headers["Connection"] = "close"
    return error_response(exc.status_code, {"detail": detail, "message": detail}, headers or None)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        {"detail": "Internal Server Error", "message": "Internal Server Error"},
    )


async def json_errors_only(response: Any) -> Any:
    """``after_request`` hook: an error a handler answered in another format becomes JSON.

    litestar's own documentation routes answer unknown pages with an HTML 404. (Async:
    litestar would run a sync hook in a worker thread.)
    """
    status = getattr(response, "status_code", None)  # None on streams until they start
    if not isinstance(response, Response) or not isinstance(status, int) or status < 400:
        return response
    media = str(response.media_type).split(";", 1)[0].strip().lower()
    if media == MediaType.JSON or media.endswith("+json"):
        return response
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return error_response(status, {"detail": phrase, "message": phrase})


EXCEPTION_HANDLERS: dict[Any, Any] = {
    OpenIntentError: _protocol_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}
