"""How memory leaves: the end of a task (working entries archived), expiry,
episodic capacity (least recently used evicted), and the events that say so."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import to_wire
from openintent.exceptions import RateLimitError
from openintent.models import MemoryEntry, MemorySensitivity, MemoryType
from openintent.models.memory import TTL_TASK_LIFETIME
from openintent.server import channels
from openintent.server.services.events import record_event
from openintent.server.services.memory.records import _RANK, SWEEP_BATCH, _entry, _live
from openintent.server.store.database import load_json
from openintent.server.store.memory_tables import MemoryRow, MemoryTagRow
from openintent.server.store.tables import IntentRow

__all__ = ["MemoryRetention"]


class MemoryRetention:
    """Archiving, expiry, eviction and their events (mixed into ``MemoryService``)."""

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

    async def _lock(self, name: str) -> None:
        """Serialise writers of one agent (or one semantic key) on PostgreSQL; SQLite
        already runs one write transaction at a time."""
        if not self.db.is_sqlite:
            await MemoryRow.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"oi-memory:{name}")

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
