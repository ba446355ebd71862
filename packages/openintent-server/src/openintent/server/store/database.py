"""The database handle services use: engine, schema, write transactions, stream rows.

A write is a unit of work: ``async with db.write() as uow`` opens one transaction
(``BEGIN IMMEDIATE`` on SQLite); stream messages recorded through :meth:`emit` are
inserted in it and published to subscribers only after it commits. A rolled-back
write publishes nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import attrs
import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from openintent.core.converter import utcnow
from openintent.server.bus import NOTIFY_CHANNEL, Bus, LocalBus, PostgresBus, StreamMessage
from openintent.server.store import core_sql
from openintent.server.store.engines import EmbeddedSQLiteEngine, WriterTransaction, make_engine
from openintent.server.store.schema import bind_tables, migrate
from openintent.server.store.sql import Statement
from openintent.server.store.tables import StreamRow

__all__ = ["Database", "UnitOfWork", "current_unit", "dump_json", "load_json"]

ORDER_LOCK_ID = 0x6F69_5345  # arbitrary constant naming the stream-order lock


_encode = msgspec.json.Encoder().encode
_encode_any = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_decode = msgspec.json.Decoder().decode


def dump_json(value: Any) -> str:
    """Compact UTF-8 JSON text of a stored document (msgspec: ~10x ``json.dumps``; the
    stdlib takes over for what msgspec refuses, integers past 64 bits)."""
    try:
        return _encode(value).decode()
    except (OverflowError, TypeError):
        return _encode_any(value)


def load_json(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return _decode(text)


@attrs.define
class UnitOfWork:
    db: Database
    messages: list[StreamMessage] = attrs.field(factory=list)
    after_commit: list[Callable[[], None]] = attrs.field(factory=list)
    ordered: bool = False
    _now: dt.datetime | None = None
    _stamp: Any = None

    @property
    def now(self) -> dt.datetime:
        """The write's one clock reading: the rows a change stamps (the record, its
        event, its stream messages) all carry the same time."""
        if self._now is None:
            self._now = utcnow()
        return self._now

    @property
    def stamp(self) -> Any:
        """:attr:`now` as a statement parameter (:meth:`Database.sql_time`), made once."""
        if self._stamp is None:
            self._stamp = self.db.sql_time(self.now)
        return self._stamp

    async def order_lock(self) -> None:
        """Make log and stream sequence numbers commit in the order they are assigned.

        Readers resume after the last ``seq`` they saw, so a lower ``seq`` committing
        after a higher one would be skipped. On PostgreSQL a transaction-scoped advisory
        lock, taken just before the first event or stream row, serialises that tail of
        concurrent writes; SQLite already runs one write at a time.
        """
        if self.ordered or self.db.is_sqlite:
            return
        self.ordered = True
        await self.db.engine.run_ddl(f"SELECT pg_advisory_xact_lock({ORDER_LOCK_ID})")


def current_unit() -> UnitOfWork:
    uow = _current.get()
    if uow is None:
        raise RuntimeError("not inside a write transaction (use `async with db.write()`)")
    return uow


_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "openintent_uow", default=None
)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine[Any] = make_engine(url)
        self.bus: Bus
        if isinstance(self.engine, PostgresEngine):
            self.bus = PostgresBus(self.engine.get_new_connection, self._load_stream)
        else:
            self.bus = LocalBus()

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.engine, EmbeddedSQLiteEngine)

    def sql_time(self, value: dt.datetime) -> Any:
        """A naive UTC timestamp as a constant statement's parameter. On SQLite that is
        the text piccolo's adapter would store (``str(datetime)``), made here without a
        call into Python per parameter; asyncpg takes the datetime itself."""
        return str(value) if self.is_sqlite else value

    async def start(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool(min_size=2, max_size=16)
        bind_tables(self.engine)
        await migrate(self.engine)
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()
        if isinstance(self.engine, PostgresEngine):
            await self.engine.close_connection_pool()
        elif isinstance(self.engine, EmbeddedSQLiteEngine):
            await self.engine.close()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        if _current.get() is not None:
            raise RuntimeError("nested write transaction")
        uow = UnitOfWork(self)
        token = _current.set(uow)
        published_at_commit = False
        try:
            async with self.engine.transaction() as transaction:
                yield uow
                if uow.messages and self.bus.notify_in_transaction:
                    payload = dump_json([uow.messages[0].seq, uow.messages[-1].seq])
                    await self.engine.run_ddl(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '{payload}')")
                if isinstance(transaction, WriterTransaction):
                    # SQLite commits writes in groups: the group's commit publishes each
                    # write's messages, in order, before any of the writes resumes.
                    transaction.on_commit = functools.partial(self._committed, uow)
                    published_at_commit = True
        finally:
            _current.reset(token)
        if not published_at_commit:
            self._committed(uow)

    def _committed(self, uow: UnitOfWork) -> None:
        self.bus.publish_committed(uow.messages)
        for callback in uow.after_commit:
            callback()

    # -- constant SQL (store.sql) --------------------------------------------------------

    async def fetch(self, statement: Statement, *args: Any) -> list[dict[str, Any]]:
        """Rows of a constant statement: in the open write transaction if there is one,
        else on a reader (SQLite) or a pooled connection (PostgreSQL)."""
        engine = self.engine
        if isinstance(engine, EmbeddedSQLiteEngine):
            conn = engine.connection_for(write=False)
            rows: list[dict[str, Any]] = conn.execute(statement.sqlite, args).fetchall()
            return rows
        assert isinstance(engine, PostgresEngine)
        current = engine.current_transaction.get()
        if current is not None:
            records = await current.connection.fetch(statement.postgres, *args)
        else:
            records = await engine.pool.fetch(statement.postgres, *args)
        return [dict(r) for r in records]

    async def fetch_tuples(self, statement: Statement, *args: Any) -> list[tuple[Any, ...]]:
        """Like :meth:`fetch`, with plain tuples (column order) for large results."""
        engine = self.engine
        if isinstance(engine, EmbeddedSQLiteEngine):
            cursor = engine.connection_for(write=False).cursor()
            cursor.row_factory = None
            return cursor.execute(statement.sqlite, args).fetchall()
        assert isinstance(engine, PostgresEngine)
        current = engine.current_transaction.get()
        if current is not None:
            records = await current.connection.fetch(statement.postgres, *args)
        else:
            records = await engine.pool.fetch(statement.postgres, *args)
        return [tuple(r) for r in records]

    async def fetchrow(self, statement: Statement, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(statement, *args)
        return rows[0] if rows else None

    async def execute(self, statement: Statement, *args: Any) -> None:
        """Run a constant write statement inside the current ``db.write()``."""
        current_unit()
        engine = self.engine
        if isinstance(engine, EmbeddedSQLiteEngine):
            engine.connection_for(write=True).execute(statement.sqlite, args)
            return
        assert isinstance(engine, PostgresEngine)
        await engine.current_transaction.get().connection.execute(statement.postgres, *args)

    async def emit(self, channel: str, name: str, data: Any) -> StreamMessage:
        """Store an SSE message in the current write; it is published after commit."""
        return (await self.emit_text((channel,), name, dump_json(data)))[0]

    async def emit_all(self, channels: Iterable[str], name: str, data: Any) -> list[StreamMessage]:
        """:meth:`emit` of one message to several channels, encoded once."""
        return await self.emit_text(channels, name, dump_json(data))

    async def emit_text(self, channels: Iterable[str], name: str, text: str) -> list[StreamMessage]:
        """:meth:`emit_all` of a message already encoded as JSON text."""
        uow = current_unit()
        await uow.order_lock()
        stamp = uow.stamp
        sent = [
            StreamMessage(
                seq=await self._insert_stream(channel, name, text, stamp),
                channel=channel,
                name=name,
                data=text,
            )
            for channel in channels
        ]
        uow.messages.extend(sent)
        return sent

    async def _insert_stream(self, channel: str, name: str, text: str, stamp: Any) -> int:
        engine = self.engine
        if isinstance(engine, EmbeddedSQLiteEngine):
            # The row id is the seq: no RETURNING row to fetch and convert.
            cursor = engine.connection_for(write=True).execute(
                core_sql.INSERT_STREAM.sqlite, (channel, name, text, stamp)
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid
        assert isinstance(engine, PostgresEngine)
        connection = engine.current_transaction.get().connection
        seq: int = await connection.fetchval(
            core_sql.INSERT_STREAM.postgres, channel, name, text, stamp
        )
        return seq

    async def _load_stream(self, first: int, last: int) -> list[StreamMessage]:
        rows = (
            await StreamRow.select()
            .where((StreamRow.seq >= first) & (StreamRow.seq <= last))
            .order_by(StreamRow.seq)
        )
        return [_message(row) for row in rows]

    async def stream_after(
        self, channels: list[str], after: int, limit: int = 500
    ) -> list[StreamMessage]:
        """Stored messages on ``channels`` with ``seq > after``, oldest first."""
        rows = (
            await StreamRow.select()
            .where(StreamRow.channel.is_in(channels) & (StreamRow.seq > after))
            .order_by(StreamRow.seq)
            .limit(limit)
        )
        return [_message(row) for row in rows]

    async def last_stream_seq(self) -> int:
        rows = (
            await StreamRow.select(StreamRow.seq).order_by(StreamRow.seq, ascending=False).limit(1)
        )
        return int(rows[0]["seq"]) if rows else 0


def _message(row: dict[str, Any]) -> StreamMessage:
    return StreamMessage(seq=row["seq"], channel=row["channel"], name=row["name"], data=row["data"])
