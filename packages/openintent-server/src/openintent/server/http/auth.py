"""API-key authentication: the key is the principal, ``X-Agent-ID`` names the agent.

Authenticated controllers run :func:`authenticate` from a route middleware (``api.base``)
rather than a guard: litestar copies the route handler for every guard call, which
cost more than the check itself.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import Scope

from openintent.exceptions import AuthenticationError
from openintent.server.services.principal import Principal

__all__ = ["PRINCIPAL", "authenticate", "principal_of"]

API_KEY_HEADER = b"x-api-key"
AGENT_HEADER = b"x-agent-id"
#: The ASGI scope key holding the authenticated caller (a scope is per request).
PRINCIPAL = "openintent.principal"


def authenticate(scope: Scope) -> Principal:
    """401 unless the request carries a configured key; records the caller's principal."""
    key = agent = ""
    for name, value in scope["headers"]:
        if name == API_KEY_HEADER:
            key = value.decode("latin-1")
        elif name == AGENT_HEADER:
            agent = value.decode("latin-1")
    keys: frozenset[str] = scope["app"].state.config.api_keys
    if not key or key not in keys:
        raise AuthenticationError("Invalid or missing API key", status_code=401)
    principal = Principal(key=key, agent_id=agent or None)
    scope[PRINCIPAL] = principal  # type: ignore[literal-required]
    return principal


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = connection.scope[PRINCIPAL]  # type: ignore[literal-required]
    return principal
