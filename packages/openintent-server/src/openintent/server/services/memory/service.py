"""``MemoryService``: ownership and reads of RFC-0015 memory, assembled from writes
and retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from piccolo.columns.combination import WhereRaw

from openintent.core.converter import utcnow
from openintent.exceptions import ForbiddenError, NotFoundError
from openintent.models import MemoryEntry, MemoryType
from openintent.server.services.memory.records import (
    _SEMANTIC,
    NOT_FOUND,
    MemoryFilter,
    MemorySettings,
    _entry,
    _live,
)
from openintent.server.services.memory.retention import MemoryRetention
from openintent.server.services.memory.writes import MemoryWrites
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import principal_hash
from openintent.server.store.database import Database
from openintent.server.store.memory_tables import MemoryRow

__all__ = ["MemoryService"]


class MemoryService(MemoryWrites, MemoryRetention):
    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = MemorySettings()

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
