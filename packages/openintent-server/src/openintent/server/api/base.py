"""Base class of every authenticated controller."""

from __future__ import annotations

from litestar import Controller
from litestar.types import ASGIApp, Receive, Scope, Send

from openintent.server.api.access_guard import require_intent_access
from openintent.server.http.auth import authenticate

__all__ = ["ApiController", "authorize_requests"]


def authorize_requests(app: ASGIApp) -> ASGIApp:
    """Route middleware: the key first (401 before any parameter or body is read), then
    the intent's access-control list for routes under an intent."""

    async def authorized(scope: Scope, receive: Receive, send: Send) -> None:
        await require_intent_access(scope, authenticate(scope))
        await app(scope, receive, send)

    return authorized


class ApiController(Controller):
    # Path ids and query values no column can hold are refused by the app-wide
    # ``http.params.check_parameters`` hook, after the key and ACL checks.
    middleware = [authorize_requests]  # noqa: RUF012
