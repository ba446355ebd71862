"""Route guards: intent ACLs (RFC-0011) on every route with an ``{intent_id}``, and
path ids or query values no database column can hold.

``require_intent_access`` runs before the handler, so it covers every area's routes,
reads included (which no write guard sees): ``GET`` needs ``read``, any other method
``write``, unless the handler declares otherwise with ``opt={INTENT_PERMISSION:
"admin"}`` (or ``"none"`` for routes open to anyone with a key, such as filing an
access request). Intent writes are checked again inside their transaction by the
access write guard, with finer per-action levels (``services.access.ACTION_PERMISSIONS``).

Kept apart from ``api/access.py`` so ``api/base.py`` can list it without an import
cycle.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from openintent.exceptions import NotFoundError, ValidationError
from openintent.models import Permission
from openintent.server.http.auth import principal_of

__all__ = [
    "INTENT_PERMISSION",
    "NO_PERMISSION",
    "reject_unstorable_params",
    "require_intent_access",
]

#: ``opt`` key naming the permission a route needs on its intent.
INTENT_PERMISSION = "intent_permission"
NO_PERMISSION = "none"

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def require_intent_access(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    intent_id = connection.path_params.get("intent_id")
    if not isinstance(intent_id, str):
        return
    if "\x00" in intent_id:
        raise NotFoundError("Not Found", status_code=404)  # PostgreSQL cannot compare it
    declared = handler.opt.get(INTENT_PERMISSION)
    if declared == NO_PERMISSION:
        return
    if declared is not None:
        needed = Permission(declared)
    elif connection.scope.get("method", "GET") in _SAFE_METHODS:
        needed = Permission.READ
    else:
        needed = Permission.WRITE
    access = connection.app.state.services.get("access")
    await access.authorize(principal_of(connection), intent_id, needed)


def reject_unstorable_params(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A NUL character in a path id or query value: 404 / 422 instead of a PostgreSQL
    error (it cannot be stored or compared in a text column, so nothing can match)."""
    if any(isinstance(v, str) and "\x00" in v for v in connection.path_params.values()):
        raise NotFoundError("Not Found", status_code=404)
    for name, value in connection.query_params.multi_items():
        if "\x00" in value:
            raise ValidationError(
                f"{name}: must not contain NUL characters",
                errors=[{"loc": ["query", name], "msg": "must not contain NUL characters"}],
            )
