"""The app's request class: ``await request.json()`` applies the body rules of ``http.body``.

Handlers that take a plain ``dict`` body (no ``CattrsDTO``) are parsed by litestar
through ``Request.json``; routing it through ``decode_json`` gives them the same
Content-Type check and the same 422s for unstorable JSON (msgspec itself lets a deeply
nested document raise ``RecursionError``, a 500).
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from openintent.server.http.body import check_content_type, decode_json

__all__ = ["ProtocolRequest"]


class ProtocolRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        body = await self.body()  # litestar caches the body; decoding again is cheap
        if body:
            check_content_type(self.headers.get("content-type"))
        return decode_json(body or b"null")
