"""Tables of RFC-0015: agent memory entries and their tags.

One entry per ``(agent_id, namespace, key)``, and semantic entries are also unique per
``(namespace, key)``: both are unique indexes, so the database keeps the rule with
several server processes. Tags are rows of their own so tag filters run in SQL.
``expires_at`` is the effective expiry (explicit, or the last write plus a
``duration:`` ttl); ``accessed_at`` is the last read by id or write (LRU).
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Boolean, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "TABLES", "MemoryRow", "MemoryTagRow"]


class MemoryRow(Table, tablename="oi_memory"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    agent_id = Text()
    namespace = Text()
    key = Text()
    memory_type = Varchar(length=16)
    value = Text()
    version = Integer(default=1)
    scope = Text(null=True, default=None)
    scope_task_id = Text(null=True, default=None, index=True)
    scope_intent_id = Text(null=True, default=None, index=True)
    tags = Text(default="[]")
    ttl = Text(null=True, default=None)
    expires_explicit = Boolean(default=False)
    expires_at = Timestamp(null=True, default=None, index=True)
    pinned = Boolean(default=False)
    priority = Varchar(length=8, default="normal")
    sensitivity = Varchar(length=16, null=True, default=None)
    curated_by = Text(null=True, default=None)
    owner_key = Text(default="")  # sha256 of the API key that created the entry
    created_at = Timestamp()
    updated_at = Timestamp()
    accessed_at = Timestamp()


class MemoryTagRow(Table, tablename="oi_memory_tags"):
    seq = BigSerial(primary_key=True)
    entry_id = Varchar(length=36, index=True)
    tag = Text()


TABLES: list[type[Table]] = [MemoryRow, MemoryTagRow]

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_memory_agent_key ON oi_memory (agent_id, namespace, key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_memory_semantic_key ON oi_memory (namespace, key) "
    "WHERE memory_type = 'semantic'",
    "CREATE INDEX IF NOT EXISTS oi_memory_lru ON oi_memory (agent_id, memory_type, accessed_at)",
    "CREATE INDEX IF NOT EXISTS oi_memory_tags_tag ON oi_memory_tags (tag, entry_id)",
]
