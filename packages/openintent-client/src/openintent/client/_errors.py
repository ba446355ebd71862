"""HTTP error answers -> the ``openintent.exceptions`` hierarchy (a pure function).

The classification follows the reference client (sdk.md 2.1), with the fixes the spec
asks for: the server's ``detail`` field is read (string, object or validation list),
422 is a ``ValidationError`` too, and 401/403 get their own subclasses. Every error
keeps ``status_code`` and the parsed ``response`` body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.exceptions import (
    APIError,
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

__all__ = ["error_message", "map_error"]


def _detail(body: Any) -> Any:
    return body.get("detail") if isinstance(body, Mapping) else None


def error_message(body: Any, default: str) -> str:
    """The most specific human text in an error body: ``message``, else ``detail``."""
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, Mapping):
            inner = detail.get("message") or detail.get("detail")
            if isinstance(inner, str) and inner:
                return inner
        if isinstance(detail, list) and detail:
            parts = [str(e.get("msg", e)) if isinstance(e, Mapping) else str(e) for e in detail]
            return f"{default}: " + "; ".join(parts)
    elif isinstance(body, str) and body.strip() and len(body) < 500:
        return body.strip()
    return default


def _lookup(body: Any, key: str) -> Any:
    """``key`` at the top level of the body, else inside an object ``detail``."""
    if isinstance(body, Mapping):
        if body.get(key) is not None:
            return body[key]
        detail = body.get("detail")
        if isinstance(detail, Mapping):
            return detail.get(key)
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _errors(body: Any) -> list[Any]:
    errors = _lookup(body, "errors")
    if isinstance(errors, list):
        return errors
    detail = _detail(body)
    if isinstance(detail, list):
        return detail
    if isinstance(detail, Mapping):
        return [dict(detail)]
    return []


def _is_lease_conflict(body: Any) -> bool:
    # The reference rule (any mention of "lease" in the body), kept because servers
    # word their 409s for it; an explicit ``existing_lease`` counts too.
    return _lookup(body, "existing_lease") is not None or "lease" in str(body).lower()


def map_error(status_code: int, body: Any) -> OpenIntentError:
    """The exception for an HTTP answer with ``status_code >= 400`` and decoded ``body``."""
    kw: dict[str, Any] = {"status_code": status_code, "response": body}
    if status_code == 404:
        return NotFoundError(error_message(body, "Resource not found"), **kw)
    if status_code in (409, 412):
        if status_code == 409 and _is_lease_conflict(body):
            lease = _lookup(body, "existing_lease")
            return LeaseConflictError(
                error_message(body, "Lease conflict"),
                existing_lease=dict(lease) if isinstance(lease, Mapping) else None,
                **kw,
            )
        return ConflictError(
            error_message(body, "Version conflict"),
            current_version=_as_int(_lookup(body, "current_version")),
            **kw,
        )
    if status_code in (400, 422, 428):
        return ValidationError(error_message(body, "Validation error"), errors=_errors(body), **kw)
    default = f"Request failed with status {status_code}"
    special: dict[int, type[OpenIntentError]] = {
        401: AuthenticationError,
        403: ForbiddenError,
        410: GoneError,
        413: PayloadTooLargeError,
        429: RateLimitError,
    }
    cls = special.get(status_code) or (APIError if status_code >= 500 else OpenIntentError)
    return cls(error_message(body, default), **kw)
