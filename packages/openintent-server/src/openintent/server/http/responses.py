"""JSON responses and the request helpers shared by every controller."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import MediaType, Request, Response

from openintent.core.converter import to_wire
from openintent.exceptions import ValidationError
from openintent.server.http.body import INT64_MAX

__all__ = ["idempotency_key", "if_match", "json_bytes", "json_response", "wire"]


def wire(value: Any) -> Any:
    """Models (and lists/dicts of them) to JSON-ready data with client aliases."""
    if isinstance(value, list):
        return [wire(v) for v in value]
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if hasattr(value, "__attrs_attrs__"):
        return to_wire(value)
    return value


def json_response(value: Any, status_code: int = 200) -> Response[bytes]:
    return Response(
        content=json_bytes(wire(value)), status_code=status_code, media_type=MediaType.JSON
    )


_encode = msgspec.json.Encoder().encode


def json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON. msgspec is several times faster than ``json.dumps``; the
    stdlib takes over for what msgspec refuses (integers past 64 bits)."""
    try:
        return _encode(data)
    except (OverflowError, TypeError):
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def if_match(request: Request[Any, Any, Any]) -> int:
    """The required ``If-Match: <int>`` precondition; 400 when absent or not a bare integer.

    Only ASCII digits count (``"²".isdigit()`` is true). A number past 64 bits matches
    no version, so it is capped rather than handed to SQL, where it would overflow.
    """
    raw = request.headers.get("if-match", "").strip()
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationError("If-Match header required", status_code=400)
    return min(int(raw), INT64_MAX) if len(raw) < 100 else INT64_MAX


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    """The optional ``Idempotency-Key`` header (1-255 visible characters)."""
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > 255:
        raise ValidationError("Idempotency-Key must be 1-255 characters", status_code=400)
    return key
