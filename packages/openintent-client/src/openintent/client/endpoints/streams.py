"""RFC-0006: where the SSE streams live.

Two path families exist (rfc-0006): the reference server serves
``/api/v1/subscribe/{intents|portfolios|agents}/{id}``; the reference client asks for
``/api/v1/{intents|portfolios|agents}/{id}/subscribe``, which the reference server does
not serve. Our server answers both. The client therefore connects to the first family
(the one both servers serve) and falls back to the second on a 404, for servers that
only implement what the reference client calls.
"""

from __future__ import annotations

from openintent.client.endpoints._util import api

__all__ = ["STREAM_KINDS", "stream_paths"]

STREAM_KINDS = frozenset({"intents", "portfolios", "agents"})


def stream_paths(kind: str, ident: str) -> list[str]:
    """Paths to try, in order, for the ``kind`` stream of ``ident``."""
    if kind not in STREAM_KINDS:
        raise ValueError(f"unknown stream kind {kind!r}; expected one of {sorted(STREAM_KINDS)}")
    return [api("subscribe", kind, ident), api(kind, ident, "subscribe")]
