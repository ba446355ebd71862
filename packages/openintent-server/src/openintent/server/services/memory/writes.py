"""Memory writes: store (an upsert on ``(agent, namespace, key)``), batch store,
update, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError
from openintent.models import (
    MemoryEntry,
    MemoryEntryCreateRequest,
    MemoryEntryUpdateRequest,
    MemoryType,
)
from openintent.models._wire_hooks import given_keys
from openintent.server.ids import new_id
from openintent.server.services._checks import text
from openintent.server.services.memory.records import (
    _INSERT_COLUMNS,
    _SEMANTIC,
    MemoryConflict,
    _entry,
    _expired,
    _expiry,
    _new_expiry,
    _scope_texts,
    _tags,
    _value,
)
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import principal_hash
from openintent.server.store.database import dump_json
from openintent.server.store.memory_tables import MemoryRow, MemoryTagRow

__all__ = ["MemoryWrites"]


class MemoryWrites:
    """Stores, updates and deletes (mixed into ``MemoryService``)."""

    async def store(self, principal: Principal, req: MemoryEntryCreateRequest) -> MemoryEntry:
        """Create the entry, or update the one already stored under its key."""
        async with self.db.write():
            return await self._store(principal, req, utcnow())

    async def store_many(
        self, principal: Principal, reqs: Sequence[MemoryEntryCreateRequest]
    ) -> list[MemoryEntry]:
        """All or nothing, in one transaction."""
        async with self.db.write():
            now = utcnow()
            return [await self._store(principal, req, now) for req in reqs]

    async def _store(
        self, principal: Principal, req: MemoryEntryCreateRequest, now: dt.datetime
    ) -> MemoryEntry:
        for field in ("agent_id", "namespace", "key"):
            text(field, getattr(req, field), required=True)
        tags = _tags("tags", req.tags)
        value = _value(req.value)
        _scope_texts(req.scope)
        expires_at, explicit = _expiry(req.ttl, req.expires_at, now)
        semantic = req.memory_type == MemoryType.SEMANTIC
        await self._lock(f"agent:{req.agent_id}")
        if semantic:
            await self._lock(f"semantic:{req.namespace}\x1f{req.key}")
        await self._sweep(now)
        match: Any = (
            (MemoryRow.agent_id == req.agent_id)
            & (MemoryRow.namespace == req.namespace)
            & (MemoryRow.key == req.key)
        )
        if semantic:
            match = match | (
                (MemoryRow.namespace == req.namespace)
                & (MemoryRow.key == req.key)
                & (MemoryRow.memory_type == _SEMANTIC)
            )
        existing = await MemoryRow.select().where(match).limit(1)
        if existing and _expired(existing[0], now):  # not swept yet: it is gone
            await self._remove(existing, "memory.expired")
        elif existing:
            return await self._restore(principal, existing[0], req, value, tags, now)
        row = MemoryRow(
            id=new_id(),
            agent_id=req.agent_id,
            namespace=req.namespace,
            key=req.key,
            memory_type=req.memory_type.value,
            value=value,
            version=1,
            scope=dump_json(to_wire(req.scope)) if req.scope is not None else None,
            scope_task_id=req.scope.task_id if req.scope else None,
            scope_intent_id=req.scope.intent_id if req.scope else None,
            tags=dump_json(tags),
            ttl=req.ttl,
            expires_explicit=explicit,
            expires_at=expires_at,
            pinned=req.pinned,
            priority=req.priority.value,
            sensitivity=req.sensitivity.value if req.sensitivity else None,
            curated_by=principal.agent_id if semantic else None,
            owner_key=principal_hash(principal.key),
            created_at=now,
            updated_at=now,
            accessed_at=now,
        )
        inserted = await MemoryRow.raw(
            "INSERT INTO oi_memory (id, agent_id, namespace, key, memory_type, value, version, "
            "scope, scope_task_id, scope_intent_id, tags, ttl, expires_explicit, expires_at, "
            "pinned, priority, sensitivity, curated_by, owner_key, created_at, updated_at, "
            "accessed_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
            "{}, {}, {}, {}, {}, {}) ON CONFLICT DO NOTHING RETURNING id",
            *(getattr(row, c._meta.name) for c in _INSERT_COLUMNS),
        )
        if not inserted:  # only if a unique index disagrees with the locks above
            raise ConflictError("Memory entry was stored concurrently; retry", status_code=409)
        await self._set_tags(row.id, tags)
        entry = _entry(row.to_dict())
        await self._announce(entry, "memory.created", previous_version=None)
        if entry.memory_type == MemoryType.EPISODIC:
            await self._enforce_capacity(entry.agent_id, keep=entry.id, now=now)
        return entry

    async def _restore(
        self,
        principal: Principal,
        row: dict[str, Any],
        req: MemoryEntryCreateRequest,
        value: str,
        tags: list[str],
        now: dt.datetime,
    ) -> MemoryEntry:
        self._require_owner(principal, row)
        if row["memory_type"] != req.memory_type.value:
            raise ConflictError(
                f"Memory entry '{req.namespace}/{req.key}' is {row['memory_type']}; a store cannot "
                f"change its memory_type",
                status_code=409,
            )
        sent = given_keys(req) or frozenset()
        values: dict[Any, Any] = {MemoryRow.value: value}
        if "tags" in sent:
            values[MemoryRow.tags] = dump_json(tags)
        if "pinned" in sent:
            values[MemoryRow.pinned] = req.pinned
        if "priority" in sent:
            values[MemoryRow.priority] = req.priority.value
        if "sensitivity" in sent:
            values[MemoryRow.sensitivity] = req.sensitivity.value if req.sensitivity else None
        if "scope" in sent:
            values[MemoryRow.scope] = dump_json(to_wire(req.scope)) if req.scope else None
            values[MemoryRow.scope_task_id] = req.scope.task_id if req.scope else None
            values[MemoryRow.scope_intent_id] = req.scope.intent_id if req.scope else None
        ttl = req.ttl if "ttl" in sent else row["ttl"]
        values[MemoryRow.ttl] = ttl
        values.update(_new_expiry(row, ttl, req.expires_at, "ttl" in sent, now))
        if row["memory_type"] == _SEMANTIC and principal.agent_id:
            values[MemoryRow.curated_by] = principal.agent_id
        updated = await self._bump(row, values, now)
        if "tags" in sent:
            await self._set_tags(row["id"], tags)
        entry = _entry(updated)
        await self._announce(entry, "memory.updated", previous_version=row["version"])
        return entry

    async def update(
        self, principal: Principal, entry_id: str, if_match: int, req: MemoryEntryUpdateRequest
    ) -> MemoryEntry:
        """PATCH: compare-and-set on ``version``; fields given (not null) are changed."""
        changes = req.changes()
        tags = _tags("tags", changes.get("tags", ()))
        value = _value(req.value) if req.value is not None else None
        async with self.db.write():
            now = utcnow()
            row = await self._row(entry_id, now)
            self._require_owner(principal, row)
            if row["version"] != if_match:
                raise MemoryConflict(_entry(row))
            values: dict[Any, Any] = {}
            if value is not None:
                values[MemoryRow.value] = value
            if req.tags is not None:
                values[MemoryRow.tags] = dump_json(tags)
            if req.pinned is not None:
                values[MemoryRow.pinned] = req.pinned
            if req.priority is not None:
                values[MemoryRow.priority] = req.priority.value
            ttl = req.ttl if req.ttl is not None else row["ttl"]
            values[MemoryRow.ttl] = ttl
            values.update(_new_expiry(row, ttl, req.expires_at, req.ttl is not None, now))
            updated = await self._bump(row, values, now, if_match=if_match)
            if req.tags is not None:
                await self._set_tags(entry_id, tags)
            entry = _entry(updated)
            await self._announce(entry, "memory.updated", previous_version=row["version"])
        return entry

    async def delete(self, principal: Principal, entry_id: str) -> None:
        async with self.db.write():
            row = await self._row(entry_id, utcnow())
            self._require_owner(principal, row)
            await self._remove([row], "memory.deleted")

    async def delete_many(self, principal: Principal, entry_ids: Sequence[str]) -> int:
        """All or nothing: every entry must exist and be the caller's."""
        async with self.db.write():
            now = utcnow()
            rows = [await self._row(entry_id, now) for entry_id in dict.fromkeys(entry_ids)]
            for row in rows:
                self._require_owner(principal, row)
            await self._remove(rows, "memory.deleted")
        return len(rows)

    async def _bump(
        self,
        row: Mapping[str, Any],
        values: dict[Any, Any],
        now: dt.datetime,
        if_match: int | None = None,
    ) -> dict[str, Any]:
        version = row["version"] if if_match is None else if_match
        values.update(
            {
                MemoryRow.version: MemoryRow.version + 1,
                MemoryRow.updated_at: now,
                MemoryRow.accessed_at: now,
            }
        )
        rows = (
            await MemoryRow.update(values)
            .where((MemoryRow.id == row["id"]) & (MemoryRow.version == version))
            .returning(*MemoryRow.all_columns())
        )
        if not rows:
            raise MemoryConflict(_entry(await self._row(row["id"], now)))
        result: dict[str, Any] = rows[0]
        return result

    async def _set_tags(self, entry_id: str, tags: list[str]) -> None:
        await MemoryTagRow.delete().where(MemoryTagRow.entry_id == entry_id)
        if tags:
            await MemoryTagRow.insert(*(MemoryTagRow(entry_id=entry_id, tag=t) for t in tags))
