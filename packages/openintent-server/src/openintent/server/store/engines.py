"""Database engines: embedded SQLite (default) and PostgreSQL, both piccolo engines.

piccolo's stock SQLite engine opens a new connection and thread for every query and
uses DEFERRED transactions, which fail with "database is locked" under concurrent
read-then-write. The embedded engine here keeps persistent connections instead:

* one writer connection, handed to one write unit at a time (``group_commit``): write
  transactions run on it with ``BEGIN IMMEDIATE``, so within a process writers queue
  instead of failing, and units that queued behind each other commit together;
* a reader connection for queries outside transactions (WAL lets it read while a write
  is in progress, and it never sees uncommitted data).

Statements run synchronously on the event-loop thread. A point query or a small write
takes tens of microseconds in SQLite, far less than handing it to a worker thread and
back (which cost more CPU than the statements themselves). Waiting is kept off the
loop: another process holding the write lock is waited for with ``asyncio.sleep``
(``busy_timeout`` stays short), and WAL checkpoints, the only part that calls fsync,
run on a background thread instead of inside a commit.

Every connection runs WAL with ``synchronous=NORMAL``: a committed transaction survives
a process crash (only an OS crash can lose the last commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from openintent.server.store.group_commit import GroupCommitWriter, WriteUnit

__all__ = [
    "EmbeddedSQLiteEngine",
    "InlineConnection",
    "WriterTransaction",
    "make_engine",
    "sqlite_path",
]

#: How long a statement may block the loop waiting for another process's lock.
BUSY_TIMEOUT_MS = 50
#: How long ``BEGIN IMMEDIATE`` keeps retrying (asynchronously) before giving up.
WRITE_LOCK_WAIT_SECONDS = 30.0
CHECKPOINT_INTERVAL_SECONDS = 1.0


def _is_read(query: str) -> bool:
    # piccolo tags only inserts with a query type; plain SELECTs are safe on a reader.
    return query.lstrip()[:6].upper() == "SELECT"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def sqlite_path(url: str) -> str:
    """``sqlite:///./x.db`` -> ``./x.db``; ``sqlite:////abs/x.db`` -> ``/abs/x.db``."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL: {url!r}")
    path = unquote(url[len("sqlite:///") :])
    if not path or path == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    return path


class _InlineCursor:
    """The slice of ``aiosqlite.Cursor`` piccolo uses, over a finished ``sqlite3`` cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def description(self) -> Any:
        return self._cursor.description

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int) -> list[Any]:
        return self._cursor.fetchmany(size)

    async def close(self) -> None:
        self._cursor.close()

    async def __aenter__(self) -> _InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()


class _Pending:
    """``await conn.execute(...)`` and ``async with conn.execute(...)``, as aiosqlite allows."""

    def __init__(self, conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> None:
        self._conn, self._sql, self._args = conn, sql, args
        self._cursor: _InlineCursor | None = None

    def _run(self) -> _InlineCursor:
        self._cursor = _InlineCursor(self._conn.execute(self._sql, self._args))
        return self._cursor

    def __await__(self) -> Generator[Any, None, _InlineCursor]:
        if False:  # pragma: no cover - makes this a generator without suspending
            yield
        return self._run()

    async def __aenter__(self) -> _InlineCursor:
        return self._run()

    async def __aexit__(self, *_: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class InlineConnection:
    """The async surface of ``aiosqlite.Connection`` that piccolo uses, run inline."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    @property
    def row_factory(self) -> Any:
        return self.raw.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self.raw.row_factory = factory

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> _Pending:
        return _Pending(self.raw, sql, args or ())

    async def commit(self) -> None:
        self.raw.commit()

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        self.raw.close()


class WriterTransaction(SQLiteTransaction):
    """A transaction on the shared writer connection: one unit of its group commit."""

    engine: EmbeddedSQLiteEngine
    _unit: WriteUnit
    #: Run right after the group's COMMIT (``group_commit``), set by ``Database.write``.
    on_commit: Callable[[], None] | None = None

    async def get_connection(self) -> InlineConnection:
        self._unit = await self.engine.writes.begin()
        return self.engine.writer()

    async def begin(self) -> None:
        """Begun, or joined, by :meth:`get_connection`."""

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            await self._unit.end(exception, self.on_commit)
        finally:
            self.engine.current_transaction.reset(self.context)
        return exception is None


class _Checkpointer(threading.Thread):
    """Runs ``wal_checkpoint(PASSIVE)`` on its own connection, off the event loop."""

    def __init__(self, path: str) -> None:
        super().__init__(name="openintent-sqlite-checkpoint", daemon=True)
        self._path = path
        self._stop_event = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            while not self._stop_event.wait(CHECKPOINT_INTERVAL_SECONDS):
                self.checkpoint(conn)
            self.checkpoint(conn)
        finally:
            conn.close()

    @staticmethod
    def checkpoint(conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next round catches up
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


class EmbeddedSQLiteEngine(SQLiteEngine):
    """SQLite with persistent connections run inline: one writer, one reader."""

    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path=path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        self._writer: InlineConnection | None = None
        self._reader_conn: InlineConnection | None = None
        self._checkpointer: _Checkpointer | None = None
        self.writes = GroupCommitWriter(lambda: self.writer().raw, self.begin_immediate)

    def _connect(self) -> InlineConnection:
        conn = sqlite3.connect(**self.connection_kwargs)
        conn.row_factory = dict_factory
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run on the checkpointer thread, never inside a commit on the loop.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return InlineConnection(conn)

    def writer(self) -> InlineConnection:
        if self._writer is None:
            self._writer = self._connect()
            self._checkpointer = _Checkpointer(self.path)
            self._checkpointer.start()
        return self._writer

    def reader(self) -> InlineConnection:
        if self._reader_conn is None:
            self._reader_conn = self._connect()
        return self._reader_conn

    async def begin_immediate(self, conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting off the loop while another process writes."""
        deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
        delay = 0.001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def close(self) -> None:
        self.writes.flush()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        for conn in (self._reader_conn, self._writer):
            if conn is not None:
                conn.raw.close()
        self._reader_conn = self._writer = None

    def transaction(  # type: ignore[override]
        self,
        transaction_type: TransactionType = TransactionType.immediate,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return WriterTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    def connection_for(self, *, write: bool) -> sqlite3.Connection:
        """The raw connection a statement runs on: the open transaction's, else the
        reader (``write=False``) or the writer in autocommit."""
        current = self.current_transaction.get()
        if current is not None:
            raw: sqlite3.Connection = current.connection.raw
            return raw
        return (self.writer() if write else self.reader()).raw

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[dict[str, Any]]:
        if _is_read(query):
            return self.reader().raw.execute(query, args or ()).fetchall()
        unit = await self.writes.begin()
        try:
            rows: list[dict[str, Any]] = unit.connection.execute(query, args or ()).fetchall()
        except BaseException as exc:
            await unit.end(exc)
            raise
        await unit.end()
        return rows

    async def _run_in_existing_connection(
        self,
        connection: InlineConnection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[dict[str, Any]]:
        # The stock engine re-issues PRAGMA foreign_keys before every statement.
        return connection.raw.execute(query, args or ()).fetchall()


def make_engine(url: str) -> Engine[Any]:
    """An engine for ``sqlite:///path`` or ``postgresql://user:pass@host:port/db``."""
    if url.startswith("sqlite:"):
        return EmbeddedSQLiteEngine(sqlite_path(url))
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        try:
            import asyncpg  # noqa: F401
        except ModuleNotFoundError:
            raise RuntimeError(
                "PostgreSQL needs asyncpg: pip install 'openintent-server[postgres]'"
            ) from None
        parts = urlsplit(url.replace("postgresql+asyncpg", "postgresql", 1))
        config: dict[str, Any] = {
            "host": parts.hostname or "localhost",
            "port": parts.port or 5432,
            "database": (parts.path or "/").lstrip("/") or "postgres",
        }
        if parts.username:
            config["user"] = unquote(parts.username)
        if parts.password:
            config["password"] = unquote(parts.password)
        return PostgresEngine(config=config)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path or postgresql://…")
