"""RFC-0015 rules: agent memory with real tiers, expiry, eviction and ownership.

The reference stores independent rows and interprets nothing; here:

* **One entry per (agent, namespace, key).** ``POST /api/v1/memory`` stores: a second
  store of the same key updates the entry (new value, fields the body names, ``version``
  + 1) and answers 200 as the first did. Semantic entries are also unique per
  ``(namespace, key)`` across agents. A store may not move an entry to another tier
  (409). Unique indexes hold the rule across server processes.
* **Identity and access.** The acting agent is ``X-Agent-ID``; the principal is the API
  key. An entry belongs to its ``agent_id`` and is private to it: a caller may read or
  change it when it acts as that agent (``X-Agent-ID`` equals the entry's
  ``agent_id``, as in ``/agents/{agent_id}/memory`` with the path's id) or when its key
  created the entry (a coordinator or operator writing for an agent keeps access to
  what it wrote). Anyone else gets 403. **Semantic entries are shared**: every caller
  may read them; only the owner changes or deletes them. Listings return only the
  entries the caller may read.
* **Tiers.** ``working``: task-scoped; :meth:`MemoryService.end_task` (called by the
  tasks area when a task completes, fails or is cancelled) archives the task's working
  entries, and entries whose ttl is ``task_lifetime``, into a ``memory.archived``
  event on the intent and deletes them. ``episodic``: per-agent capacity
  (``ServerConfig.memory_episodic_capacity``, default 1000, 0 = unlimited); storing past
  it evicts the least recently used unpinned entries, lower priority first
  (``memory.evicted``); when only pinned entries are left, 429. ``semantic``: shared
  knowledge, see above; ``curated_by`` names the agent that last wrote it.
* **TTL.** ``expires_at`` (explicit) wins over ``ttl``; a ``duration:`` ttl counts from
  the last write. Expired entries are never returned, and are deleted
  (``memory.expired``) by the next memory write.
* **LRU** means least recently *used*: reading an entry by id, or writing it, counts;
  appearing in a listing does not.
* **Events.** ``memory.created|updated|deleted|evicted|expired|archived`` (payloads
  without values) on the agent's stream, and in the intent's log when the entry's
  ``scope.intent_id`` names an intent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from piccolo.columns.combination import WhereRaw

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError, RateLimitError
from openintent.models import (
    MemoryEntry,
    MemoryEntryCreateRequest,
    MemoryEntryUpdateRequest,
    MemoryPriority,
    MemoryScope,
    MemorySensitivity,
    MemoryType,
)
from openintent.models._wire_hooks import given_keys
from openintent.models.memory import TTL_TASK_LIFETIME, parse_ttl
from openintent.server import channels
from openintent.server.config import ServerConfig
from openintent.server.services import Services
from openintent.server.services._checks import invalid, text
from openintent.server.services.events import record_event
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import principal_hash
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.memory_tables import INDEXES, TABLES, MemoryRow, MemoryTagRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import IntentRow

__all__ = ["MAX_VALUE_BYTES", "MemoryConflict", "MemoryFilter", "MemoryService", "install"]

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


class MemoryService:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = MemorySettings()

    # -- access -----------------------------------------------------------------------

    @staticmethod
    def _owns(principal: Principal, row: Mapping[str, Any]) -> bool:
        if principal.agent_id is not None and principal.agent_id == row["agent_id"]:
            return True
        return bool(row["owner_key"]) and row["owner_key"] == principal_hash(principal.key)

    def _readable(self, principal: Principal, row: Mapping[str, Any]) -> bool:
        return row["memory_type"] == _SEMANTIC or self._owns(principal, row)

    @staticmethod
    def _visible(principal: Principal) -> Any:
        """SQL condition: entries ``principal`` may read."""
        condition = (MemoryRow.owner_key == principal_hash(principal.key)) | (
            MemoryRow.memory_type == _SEMANTIC
        )
        if principal.agent_id is not None:
            condition = condition | (MemoryRow.agent_id == principal.agent_id)
        return condition

    def _require_owner(self, principal: Principal, row: Mapping[str, Any]) -> None:
        if not self._owns(principal, row):
            shared = (
                " (shared entries are read-only for other agents)"
                if row["memory_type"] == _SEMANTIC
                else ""
            )
            raise ForbiddenError(
                f"Memory entry belongs to agent '{row['agent_id']}'{shared}", status_code=403
            )

    # -- reads ------------------------------------------------------------------------

    async def _row(self, entry_id: str, now: dt.datetime) -> dict[str, Any]:
        rows = await MemoryRow.select().where((MemoryRow.id == entry_id) & _live(now)).limit(1)
        if not rows:
            raise NotFoundError(NOT_FOUND, status_code=404)
        return rows[0]

    async def get(self, principal: Principal, entry_id: str) -> MemoryEntry:
        now = utcnow()
        async with self.db.write():
            row = await self._row(entry_id, now)
            if not self._readable(principal, row):
                self._require_owner(principal, row)
            await MemoryRow.update({MemoryRow.accessed_at: now}).where(MemoryRow.id == entry_id)
        return _entry(row)

    def _where(self, principal: Principal, f: MemoryFilter, now: dt.datetime) -> list[Any]:
        where: list[Any] = [_live(now), self._visible(principal)]
        if f.agent_id is not None:
            where.append(MemoryRow.agent_id == f.agent_id)
        if f.namespace is not None:
            if f.namespace.endswith("*"):
                prefix = f.namespace[:-1]
                where.append(WhereRaw("substr(namespace, 1, {}) = {}", len(prefix), prefix))
            else:
                where.append(MemoryRow.namespace == f.namespace)
        for column, value in (
            (MemoryRow.key, f.key),
            (MemoryRow.memory_type, f.memory_type.value if f.memory_type else None),
            (MemoryRow.scope_task_id, f.task_id),
            (MemoryRow.scope_intent_id, f.intent_id),
            (MemoryRow.pinned, f.pinned),
        ):
            if value is not None:
                where.append(column == value)
        if f.updated_after is not None:
            where.append(MemoryRow.updated_at > f.updated_after)
        if f.updated_before is not None:
            where.append(MemoryRow.updated_at < f.updated_before)
        if f.tags:
            marks = ", ".join("{}" for _ in f.tags)
            where.append(
                WhereRaw(
                    f"id IN (SELECT entry_id FROM oi_memory_tags WHERE tag IN ({marks}) "
                    "GROUP BY entry_id HAVING COUNT(DISTINCT tag) = {})",
                    *f.tags,
                    len(set(f.tags)),
                )
            )
        if f.tags_any:
            marks = ", ".join("{}" for _ in f.tags_any)
            where.append(
                WhereRaw(
                    f"id IN (SELECT entry_id FROM oi_memory_tags WHERE tag IN ({marks}))",
                    *f.tags_any,
                )
            )
        return where

    async def find(
        self, principal: Principal, f: MemoryFilter, limit: int, offset: int
    ) -> tuple[list[MemoryEntry], int]:
        """Entries the caller may read, oldest first, and how many match in all."""
        where = self._where(principal, f, utcnow())
        query = MemoryRow.select().where(*where).order_by(MemoryRow.seq).limit(limit).offset(offset)
        rows = await query
        total: int = await MemoryRow.count().where(*where)
        return [_entry(r) for r in rows], total

    async def namespaces(
        self, principal: Principal, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        f = MemoryFilter(namespace=namespace)
        rows = await MemoryRow.select(
            MemoryRow.namespace, MemoryRow.agent_id, MemoryRow.memory_type
        ).where(*self._where(principal, f, utcnow()))
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            item = found.setdefault(
                row["namespace"],
                {"namespace": row["namespace"], "entries": 0, "agents": set(), "by_type": {}},
            )
            item["entries"] += 1
            item["agents"].add(row["agent_id"])
            item["by_type"][row["memory_type"]] = item["by_type"].get(row["memory_type"], 0) + 1
        return [{**item, "agents": sorted(item["agents"])} for _, item in sorted(found.items())]

    async def summary(self, principal: Principal, agent_id: str) -> dict[str, Any]:
        rows = await MemoryRow.select(
            MemoryRow.namespace, MemoryRow.memory_type, MemoryRow.pinned
        ).where(*self._where(principal, MemoryFilter(agent_id=agent_id), utcnow()))
        by_type = {t.value: 0 for t in MemoryType}
        by_namespace: dict[str, int] = {}
        for row in rows:
            by_type[row["memory_type"]] += 1
            by_namespace[row["namespace"]] = by_namespace.get(row["namespace"], 0) + 1
        capacity = self.settings.capacity
        return {
            "agent_id": agent_id,
            "total": len(rows),
            "by_type": by_type,
            "by_namespace": dict(sorted(by_namespace.items())),
            "pinned": sum(1 for r in rows if r["pinned"]),
            "episodic_capacity": capacity or None,
        }

    # -- writes -----------------------------------------------------------------------

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
            id=str(uuid.uuid4()),
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

    async def end_task(
        self,
        task_id: str,
        *,
        intent_id: str | None = None,
        actor: str | None = None,
        archive: bool = True,
    ) -> int:
        """Hook for the tasks area, inside its ``db.write()``: the task ended (completed,
        failed or cancelled). Its working entries, and entries whose ttl is
        ``task_lifetime``, are archived into one ``memory.archived`` event on the intent
        and deleted. Values of confidential or restricted entries stay out of the event.
        With ``archive=False`` (the task's ``memory_policy.archive_on_completion`` is
        off) nothing happens. Returns how many entries were archived."""
        if not archive:
            return 0
        rows = (
            await MemoryRow.select()
            .where(
                (MemoryRow.scope_task_id == task_id)
                & (
                    (MemoryRow.memory_type == MemoryType.WORKING.value)
                    | (MemoryRow.ttl == TTL_TASK_LIFETIME)
                )
            )
            .order_by(MemoryRow.seq)
        )
        if not rows:
            return 0
        snapshot = []
        for row in rows:
            item: dict[str, Any] = {
                "agent_id": row["agent_id"],
                "namespace": row["namespace"],
                "key": row["key"],
                "tags": load_json(row["tags"], []),
            }
            if row["sensitivity"] not in (
                MemorySensitivity.CONFIDENTIAL.value,
                MemorySensitivity.RESTRICTED.value,
            ):
                item["value"] = load_json(row["value"], {})
            snapshot.append(item)
        await self._delete_rows([r["id"] for r in rows])
        payload = {"task_id": task_id, "entries_archived": len(rows), "snapshot": snapshot}
        for agent_id in sorted({r["agent_id"] for r in rows}):
            await self.db.emit(channels.agent(agent_id), "memory.archived", payload)
        target = intent_id or next(
            (r["scope_intent_id"] for r in rows if r["scope_intent_id"]), None
        )
        if target and await IntentRow.exists().where(IntentRow.id == target):
            event = await record_event(target, "memory.archived", actor, payload)
            await self.db.emit(channels.intent(target), "memory.archived", to_wire(event))
        return len(rows)

    # -- helpers ----------------------------------------------------------------------

    async def _lock(self, name: str) -> None:
        """Serialise writers of one agent (or one semantic key) on PostgreSQL; SQLite
        already runs one write transaction at a time."""
        if not self.db.is_sqlite:
            await MemoryRow.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"oi-memory:{name}")

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

    async def _delete_rows(self, ids: list[str]) -> None:
        if ids:
            await MemoryTagRow.delete().where(MemoryTagRow.entry_id.is_in(ids))
            await MemoryRow.delete().where(MemoryRow.id.is_in(ids))

    async def _remove(self, rows: list[dict[str, Any]], event: str) -> None:
        await self._delete_rows([r["id"] for r in rows])
        for row in rows:
            await self._announce(_entry(row), event, previous_version=None)

    async def _sweep(self, now: dt.datetime) -> None:
        """Delete a batch of expired entries (any agent), announcing each."""
        rows = (
            await MemoryRow.select()
            .where(MemoryRow.expires_at.is_not_null() & (MemoryRow.expires_at <= now))
            .order_by(MemoryRow.expires_at)
            .limit(SWEEP_BATCH)
        )
        if rows:
            gone = (
                await MemoryRow.delete()
                .where(MemoryRow.id.is_in([r["id"] for r in rows]) & (MemoryRow.expires_at <= now))
                .returning(MemoryRow.id)
            )
            ids = {g["id"] for g in gone}
            await MemoryTagRow.delete().where(MemoryTagRow.entry_id.is_in(sorted(ids) or [""]))
            for row in rows:
                if row["id"] in ids:
                    await self._announce(_entry(row), "memory.expired", previous_version=None)

    async def _enforce_capacity(self, agent_id: str, keep: str, now: dt.datetime) -> None:
        capacity = self.settings.capacity
        if not capacity:
            return
        episodic = (
            (MemoryRow.agent_id == agent_id)
            & (MemoryRow.memory_type == MemoryType.EPISODIC.value)
            & _live(now)
        )
        count: int = await MemoryRow.count().where(episodic)
        excess = count - capacity
        if excess <= 0:
            return
        candidates = await MemoryRow.select().where(
            episodic & (MemoryRow.pinned == False) & (MemoryRow.id != keep)  # noqa: E712 - SQL
        )
        candidates.sort(key=lambda r: (_RANK.get(r["priority"], 1), r["accessed_at"], r["seq"]))
        if len(candidates) < excess:
            raise RateLimitError(
                f"Memory Capacity Exceeded: agent '{agent_id}' holds {capacity} episodic entries "
                "and the rest are pinned",
                status_code=429,
            )
        await self._remove(candidates[:excess], "memory.evicted")

    async def _announce(
        self, entry: MemoryEntry, name: str, *, previous_version: int | None
    ) -> None:
        payload = {
            "entry_id": entry.id,
            "agent_id": entry.agent_id,
            "namespace": entry.namespace,
            "key": entry.key,
            "memory_type": entry.memory_type.value,
            "version": entry.version,
            "previous_version": previous_version,
            "tags": entry.tags,
        }
        await self.db.emit(channels.agent(entry.agent_id), name, payload)
        intent_id = entry.scope.intent_id if entry.scope else None
        if intent_id and await IntentRow.exists().where(IntentRow.id == intent_id):
            event = await record_event(intent_id, name, entry.agent_id, payload)
            await self.db.emit(channels.intent(intent_id), name, to_wire(event))


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


def install(services: Services) -> None:
    services.add("memory", MemoryService(services.db))
