"""Base class of every authenticated controller."""

from __future__ import annotations

from litestar import Controller

from openintent.server.api.access_guard import reject_unstorable_params, require_intent_access
from openintent.server.http.auth import require_api_key

__all__ = ["ApiController"]


class ApiController(Controller):
    # Key check first (401 before anything else), then ids the database cannot store
    # (NUL bytes), then the intent's access-control list for routes under an intent.
    guards = [require_api_key, reject_unstorable_params, require_intent_access]  # noqa: RUF012
