"""OpenIntent client SDK: ``OpenIntentClient`` (blocking) and ``AsyncOpenIntentClient``.

Both expose the same protocol methods, defined once in ``endpoints/`` and bound to each
mode by :class:`endpoint`; SSE classes live in :mod:`openintent.streaming`.
"""

from __future__ import annotations

from openintent.client._async import AsyncOpenIntentClient
from openintent.client._call import Call, Sleep
from openintent.client._endpoint import AsyncMode, SyncMode, endpoint
from openintent.client._errors import map_error
from openintent.client._sync import OpenIntentClient
from openintent.client._transport import TransportOptions

__all__ = [
    "AsyncMode",
    "AsyncOpenIntentClient",
    "Call",
    "OpenIntentClient",
    "Sleep",
    "SyncMode",
    "TransportOptions",
    "endpoint",
    "map_error",
]
