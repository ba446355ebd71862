"""Intent ACLs (RFC-0011) on every route with an ``{intent_id}`` (``api.base`` runs it).

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

from litestar.types import Scope

from openintent.exceptions import NotFoundError
from openintent.models import Permission
from openintent.server.services.principal import Principal

__all__ = ["INTENT_PERMISSION", "NO_PERMISSION", "require_intent_access"]

#: ``opt`` key naming the permission a route needs on its intent.
INTENT_PERMISSION = "intent_permission"
NO_PERMISSION = "none"

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def require_intent_access(scope: Scope, principal: Principal) -> None:
    """403 unless ``principal`` holds the permission the route needs on its intent."""
    intent_id = scope["path_params"].get("intent_id")
    if not isinstance(intent_id, str):
        return
    if "\x00" in intent_id:
        raise NotFoundError("Not Found", status_code=404)  # PostgreSQL cannot compare it
    declared = scope["route_handler"].opt.get(INTENT_PERMISSION)
    if declared == NO_PERMISSION:
        return
    if declared is not None:
        needed = Permission(declared)
    elif scope.get("method", "GET") in _SAFE_METHODS:
        needed = Permission.READ
    else:
        needed = Permission.WRITE
    access = scope["app"].state.services.get("access")
    await access.authorize(principal, intent_id, needed)
