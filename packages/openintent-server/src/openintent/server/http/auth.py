"""API-key authentication: the key is the principal, ``X-Agent-ID`` names the agent."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from openintent.exceptions import AuthenticationError
from openintent.server.services.principal import Principal

__all__ = ["principal_of", "require_api_key"]

API_KEY_HEADER = "x-api-key"
AGENT_HEADER = "x-agent-id"


def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: 401 before any body or parameter validation, as the reference does."""
    key = connection.headers.get(API_KEY_HEADER, "")
    keys: frozenset[str] = connection.app.state.config.api_keys
    if not key or key not in keys:
        raise AuthenticationError("Invalid or missing API key", status_code=401)
    agent = connection.headers.get(AGENT_HEADER) or None
    connection.state.principal = Principal(key=key, agent_id=agent)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal = connection.state.principal
    return principal
