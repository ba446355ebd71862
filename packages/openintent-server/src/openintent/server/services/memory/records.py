"""Memory records: limits, the filter of a listing, the configuration bound on first
use, a stored row as the wire ``MemoryEntry``, and the pure helpers on expiry, tags and
values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from openintent.exceptions import ConflictError
from openintent.models import (
    MemoryEntry,
    MemoryPriority,
    MemoryScope,
    MemorySensitivity,
    MemoryType,
)
from openintent.models.memory import parse_ttl
from openintent.server.config import ServerConfig
from openintent.server.services._checks import invalid, text
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.memory_tables import INDEXES, TABLES, MemoryRow
from openintent.server.store.schema import register_tables

__all__ = [
    "MAX_VALUE_BYTES",
    "NOT_FOUND",
    "SWEEP_BATCH",
    "MemoryConflict",
    "MemoryFilter",
    "MemorySettings",
]

register_tables(TABLES, indexes=INDEXES)
NOT_FOUND = "Memory entry not found"
#: RFC-0015 §5: values SHOULD stay within 64 KB.
MAX_VALUE_BYTES = 64 * 1024
SWEEP_BATCH = 100
_RANK = {MemoryPriority.LOW.value: 0, MemoryPriority.NORMAL.value: 1, MemoryPriority.HIGH.value: 2}
_SEMANTIC = MemoryType.SEMANTIC.value


class MemoryConflict(ConflictError):
    """409 on a stale ``If-Match``, carrying the entry as it is now (RFC-0015)."""

    def __init__(self, current: MemoryEntry) -> None:
        super().__init__(
            f"Version conflict: entry is at version {current.version}",
            current_version=current.version,
            status_code=409,
        )
        self.current = current


class MemorySettings:
    """Configuration bound on first use (see ``api.vaults.bound``)."""

    def __init__(self) -> None:
        self.config: ServerConfig | None = None

    def bind(self, config: ServerConfig) -> None:
        if self.config is None:
            self.config = config

    @property
    def capacity(self) -> int:
        return self.config.memory_episodic_capacity if self.config else 1000


@attrs.frozen
class MemoryFilter:
    """Filters of the listing routes; ``namespace`` ending in ``*`` is a prefix."""

    agent_id: str | None = None
    namespace: str | None = None
    key: str | None = None
    memory_type: MemoryType | None = None
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    task_id: str | None = None
    intent_id: str | None = None
    pinned: bool | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None


def _entry(row: Mapping[str, Any]) -> MemoryEntry:
    scope = load_json(row["scope"])
    return MemoryEntry(
        id=row["id"],
        agent_id=row["agent_id"],
        namespace=row["namespace"],
        key=row["key"],
        value=load_json(row["value"], {}),
        memory_type=MemoryType(row["memory_type"]),
        version=row["version"],
        scope=MemoryScope.from_dict(scope) if isinstance(scope, dict) else None,
        tags=load_json(row["tags"], []),
        ttl=row["ttl"],
        pinned=row["pinned"],
        priority=MemoryPriority(row["priority"]),
        sensitivity=MemorySensitivity(row["sensitivity"]) if row["sensitivity"] else None,
        curated_by=row["curated_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        expires_at=row["expires_at"],
    )


def _expired(row: Mapping[str, Any], now: dt.datetime) -> bool:
    return row["expires_at"] is not None and row["expires_at"] <= now


def _live(now: dt.datetime) -> Any:
    return MemoryRow.expires_at.is_null() | (MemoryRow.expires_at > now)


def _tags(field: str, tags: Iterable[str]) -> list[str]:
    for tag in tags:
        text(field, tag, required=True)
    return list(dict.fromkeys(tags))


def _value(value: dict[str, Any]) -> str:
    encoded = dump_json(value)
    if len(encoded.encode()) > MAX_VALUE_BYTES:
        raise invalid("value", f"larger than {MAX_VALUE_BYTES // 1024} KiB")
    return encoded


def _expiry(
    ttl: str | None, explicit: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime | None, bool]:
    """``(expires_at, explicit)``: an explicit time wins; else now + a duration ttl."""
    if explicit is not None:
        if explicit <= now:
            raise invalid("expires_at", "must be in the future")
        return explicit, True
    lifetime = parse_ttl(ttl)
    return (now + lifetime if lifetime is not None else None), False


def _new_expiry(
    row: Mapping[str, Any],
    ttl: str | None,
    explicit: dt.datetime | None,
    ttl_given: bool,
    now: dt.datetime,
) -> dict[Any, Any]:
    """Expiry columns after a write: a new explicit time wins; a new ttl, or a ttl-based
    expiry, restarts from now (a ttl counts from the last write); a stored explicit
    time stays."""
    if explicit is None and not ttl_given and row["expires_explicit"]:
        return {}
    expires_at, is_explicit = _expiry(ttl, explicit, now)
    return {MemoryRow.expires_at: expires_at, MemoryRow.expires_explicit: is_explicit}


def _scope_texts(scope: MemoryScope | None) -> None:
    if scope is not None:
        text("scope.task_id", scope.task_id)
        text("scope.intent_id", scope.intent_id)


_INSERT_COLUMNS = [
    MemoryRow.id,
    MemoryRow.agent_id,
    MemoryRow.namespace,
    MemoryRow.key,
    MemoryRow.memory_type,
    MemoryRow.value,
    MemoryRow.version,
    MemoryRow.scope,
    MemoryRow.scope_task_id,
    MemoryRow.scope_intent_id,
    MemoryRow.tags,
    MemoryRow.ttl,
    MemoryRow.expires_explicit,
    MemoryRow.expires_at,
    MemoryRow.pinned,
    MemoryRow.priority,
    MemoryRow.sensitivity,
    MemoryRow.curated_by,
    MemoryRow.owner_key,
    MemoryRow.created_at,
    MemoryRow.updated_at,
    MemoryRow.accessed_at,
]
