"""``Idempotency-Key`` on creates: a repeated request returns the first result.

The key is claimed inside the same transaction as the create, so two concurrent
requests with one key still create once: on SQLite writes are serialised; on
PostgreSQL the second ``INSERT ... ON CONFLICT DO NOTHING`` waits for the first
transaction and then finds the stored response.
"""

from __future__ import annotations

from typing import Any

from openintent.core.converter import utcnow
from openintent.server.services.principal import Principal
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.tables import IdempotencyRow

__all__ = ["claim", "record", "record_text", "scoped_key"]

PENDING = ""


def scoped_key(principal: Principal, route: str, key: str) -> str:
    """Keys are per caller and per route: another caller's key never collides."""
    return f"{principal.key}\x1f{route}\x1f{key}"


async def claim(key: str) -> Any | None:
    """Reserve ``key`` in the current write; returns the stored body if it was used before."""
    inserted = await IdempotencyRow.raw(
        "INSERT INTO oi_idempotency (key, status_code, body, created_at) VALUES ({}, {}, {}, {}) "
        "ON CONFLICT (key) DO NOTHING RETURNING key",
        key,
        200,
        PENDING,
        utcnow(),
    )
    if inserted:
        return None
    rows = await IdempotencyRow.select(IdempotencyRow.body).where(IdempotencyRow.key == key)
    return load_json(rows[0]["body"]) if rows and rows[0]["body"] != PENDING else None


async def record(key: str, body: Any) -> None:
    await record_text(key, dump_json(body))


async def record_text(key: str, text: str) -> None:
    """:func:`record` of a body already encoded as JSON text."""
    await IdempotencyRow.update({IdempotencyRow.body: text}).where(IdempotencyRow.key == key)
