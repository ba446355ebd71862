"""Errors raised by every OpenIntent distribution.

The names and constructor signatures match the reference SDK so that existing
``except`` clauses keep working. Each error carries the HTTP ``status_code`` and the
parsed ``response`` body when it came from a server. ``LeaseConflictError`` is
deliberately *not* a ``ConflictError``: user code tells the two apart by class.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConflictError",
    "ForbiddenError",
    "GoneError",
    "InputCancelledError",
    "InputTimeoutError",
    "InputValidationError",
    "LeaseConflictError",
    "NotFoundError",
    "OpenIntentError",
    "PayloadTooLargeError",
    "RateLimitError",
    "ValidationError",
]


class OpenIntentError(Exception):
    """Base class: ``message``, ``status_code`` (``None`` when raised locally), ``response``."""

    def __init__(self, message: str, status_code: int | None = None, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.response = response

    def __str__(self) -> str:
        return self.message


class NotFoundError(OpenIntentError):
    """The addressed object does not exist (HTTP 404)."""


class ConflictError(OpenIntentError):
    """A write lost an optimistic-concurrency race (HTTP 409); ``current_version`` if known."""

    def __init__(self, message: str, current_version: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.current_version = current_version


class LeaseConflictError(OpenIntentError):
    """Another holder owns the lease on this scope (HTTP 409); ``existing_lease`` if known."""

    def __init__(
        self, message: str, existing_lease: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.existing_lease = existing_lease


class ValidationError(OpenIntentError):
    """Input was rejected (HTTP 400/422, or locally); ``errors`` lists the problems."""

    def __init__(self, message: str, errors: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors: list[Any] = list(errors) if errors else []


class InputValidationError(ValidationError):
    """A client-side argument check failed before any request was sent."""

    def __init__(self, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__(message, errors=[{"field": field, "message": message}])
        self.field = field
        self.value = value


class APIError(OpenIntentError):
    """The server answered with an error the protocol does not name (e.g. HTTP 5xx)."""


class AuthenticationError(OpenIntentError):
    """Missing or unknown API key (HTTP 401)."""


class ForbiddenError(OpenIntentError):
    """The principal may not do this: ACL, governance policy or grant (HTTP 403)."""


class GoneError(OpenIntentError):
    """The object existed but was retired, e.g. a deregistered agent (HTTP 410)."""


class PayloadTooLargeError(OpenIntentError):
    """The request body exceeded the server's limit (HTTP 413)."""


class RateLimitError(OpenIntentError):
    """A rate limit was hit (HTTP 429), e.g. a tool grant's invocation budget."""


class InputTimeoutError(OpenIntentError):
    """A human did not answer a suspended intent in time (RFC-0025)."""

    def __init__(
        self,
        message: str,
        suspension_id: str | None = None,
        fallback_policy: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.suspension_id = suspension_id
        self.fallback_policy = fallback_policy


class InputCancelledError(OpenIntentError):
    """A pending human input request was cancelled (RFC-0025)."""

    def __init__(self, message: str, suspension_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.suspension_id = suspension_id
