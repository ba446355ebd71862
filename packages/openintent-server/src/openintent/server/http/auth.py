"""API-key authentication: the key is the principal, ``X-Agent-ID`` names the agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from openintent.exceptions import AuthenticationError
from openintent.server.services.principal import Principal

__all__ = ["authenticate", "checks_api_key", "principal_of", "require_api_key"]

API_KEY_HEADER = "x-api-key"
AGENT_HEADER = "x-agent-id"

Connection = ASGIConnection[Any, Any, Any, Any]
Guard = Callable[[Connection, BaseRouteHandler], Awaitable[None]]

# Guards that authenticate; the OpenAPI document marks their routes as needing a key.
_KEY_GUARDS: set[Guard] = set()


def checks_api_key(guard: Guard) -> Guard:
    """Declare that ``guard`` calls :func:`authenticate` first."""
    _KEY_GUARDS.add(guard)
    return guard


def guard_checks_api_key(guard: object) -> bool:
    return guard in _KEY_GUARDS


def authenticate(connection: Connection) -> Principal:
    """401 unless the request carries a configured key; records the caller's principal."""
    key = connection.headers.get(API_KEY_HEADER, "")
    keys: frozenset[str] = connection.app.state.config.api_keys
    if not key or key not in keys:
        raise AuthenticationError("Invalid or missing API key", status_code=401)
    agent = connection.headers.get(AGENT_HEADER) or None
    principal = Principal(key=key, agent_id=agent)
    connection.state.principal = principal
    return principal


@checks_api_key
async def require_api_key(connection: Connection, _: BaseRouteHandler) -> None:
    """Guard: 401 before any body or parameter validation, as the reference does.

    A coroutine, so litestar runs it on the loop instead of in its thread pool."""
    authenticate(connection)


def principal_of(connection: Connection) -> Principal:
    principal: Principal = connection.state.principal
    return principal
