"""Base class of every authenticated controller."""

from __future__ import annotations

from typing import Any

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from openintent.server.api.access_guard import require_intent_access
from openintent.server.http.auth import authenticate, checks_api_key

__all__ = ["ApiController", "authorize_request"]


@checks_api_key
async def authorize_request(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The key first (401 before anything else), then the intent's access-control list
    for routes under an intent. One guard: litestar copies the handler per guard."""
    authenticate(connection)
    await require_intent_access(connection, handler)


class ApiController(Controller):
    # Path ids and query values no column can hold are refused by the app-wide
    # ``http.params.check_parameters`` hook, after this guard.
    guards = [authorize_request]  # noqa: RUF012
