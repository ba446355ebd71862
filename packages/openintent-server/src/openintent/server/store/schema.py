"""Schema creation and migration at start-up, identical on SQLite and PostgreSQL.

Tables are created if missing; ``MIGRATIONS`` holds ordered, idempotent steps for
changes after the first release, recorded in ``oi_schema`` so each runs once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from piccolo.columns import Integer, Timestamp
from piccolo.engine.base import Engine
from piccolo.table import Table, create_db_tables

from openintent.core.converter import utcnow
from openintent.server.store.tables import (
    AssignmentRow,
    EventRow,
    IdempotencyRow,
    IntentRow,
    StreamRow,
)
from openintent.server.store.wire_rows import event_text

__all__ = ["TABLES", "bind_tables", "migrate", "register_tables"]


class SchemaRow(Table, tablename="oi_schema"):
    version = Integer(primary_key=True)
    applied_at = Timestamp()


TABLES: list[type[Table]] = [
    SchemaRow,
    IntentRow,
    EventRow,
    AssignmentRow,
    StreamRow,
    IdempotencyRow,
]

# Indexes piccolo cannot declare on a column: composite and partial ones. Every index
# a row lands in is one more page written to the log on each insert, so there is one
# per lookup: (intent_id, seq) also serves lookups by intent_id alone.
INDEXES: list[str] = [
    "CREATE INDEX IF NOT EXISTS oi_events_intent_seq ON oi_events (intent_id, seq)",
    "CREATE INDEX IF NOT EXISTS oi_stream_channel_seq ON oi_stream (channel, seq)",
    "CREATE INDEX IF NOT EXISTS oi_intents_parent ON oi_intents (parent_id)"
    " WHERE parent_id IS NOT NULL",
]

MIGRATION_LOCK_ID = 0x6F69_4D47  # arbitrary constant naming the schema-migration lock

Migration = Callable[[Engine], Awaitable[None]]  # type: ignore[type-arg]
BACKFILL_BATCH = 1000


async def _columns(engine: Engine, table: str) -> set[str]:  # type: ignore[type-arg]
    if engine.engine_type == "postgres":
        rows = await engine.run_ddl(
            "SELECT column_name AS name FROM information_schema.columns"
            f" WHERE table_schema = current_schema() AND table_name = '{table}'"
        )
    else:
        rows = await engine.run_ddl(f"PRAGMA table_info({table})")
    return {row["name"] for row in rows}


async def _event_wire_texts(engine: Engine) -> None:  # type: ignore[type-arg]
    """1: ``oi_events.wire``; events stored before it get theirs computed here."""
    if "wire" not in await _columns(engine, "oi_events"):
        await engine.run_ddl("ALTER TABLE oi_events ADD COLUMN wire TEXT")
    while rows := (
        await EventRow.select(
            EventRow.seq,
            EventRow.id,
            EventRow.intent_id,
            EventRow.event_type,
            EventRow.actor,
            EventRow.payload,
            EventRow.created_at,
        )
        .where(EventRow.wire.is_null())
        .order_by(EventRow.seq)
        .limit(BACKFILL_BATCH)
    ):
        for row in rows:
            text = event_text(
                row["id"],
                row["intent_id"],
                row["event_type"],
                row["actor"],
                row["payload"],
                row["created_at"],
            )
            await EventRow.update({EventRow.wire: text}).where(EventRow.seq == row["seq"])


async def _drop_redundant_indexes(engine: Engine) -> None:  # type: ignore[type-arg]
    """2: single-column indexes that ``INDEXES`` now covers (a composite index with the
    same first column; a partial index on ``parent_id`` without the root intents)."""
    for name in ("oi_events_intent_id", "oi_stream_channel", "oi_intents_parent_id"):
        await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")


MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _event_wire_texts),
    (2, _drop_redundant_indexes),
]


def register_tables(tables: Sequence[type[Table]], indexes: Sequence[str] = ()) -> None:
    """Called by area modules at import time to add their tables to the schema."""
    for table in tables:
        if table not in TABLES:
            TABLES.append(table)
    for ddl in indexes:
        if ddl not in INDEXES:
            INDEXES.append(ddl)


def bind_tables(engine: Engine) -> None:  # type: ignore[type-arg]
    for table in TABLES:
        table._meta.db = engine


async def migrate(engine: Engine) -> None:  # type: ignore[type-arg]
    bind_tables(engine)
    # One transaction, so server processes starting together on one database take
    # turns: concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL.
    async with engine.transaction():
        if engine.engine_type == "postgres":
            await engine.run_ddl(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        await create_db_tables(*TABLES, if_not_exists=True)
        for ddl in INDEXES:
            await engine.run_ddl(ddl)
    done = {row["version"] for row in await SchemaRow.select(SchemaRow.version)}
    for version, step in MIGRATIONS:
        if version not in done:
            async with engine.transaction():
                await step(engine)
                await SchemaRow.insert(SchemaRow(version=version, applied_at=utcnow()))
