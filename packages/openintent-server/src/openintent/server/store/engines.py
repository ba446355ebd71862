"""Database engines: embedded SQLite (default) and PostgreSQL, both piccolo engines.

piccolo's stock SQLite engine opens a new connection and thread for every query and
uses DEFERRED transactions, which fail with "database is locked" under concurrent
read-then-write. The embedded engine here keeps persistent connections instead:

* one writer connection, serialised by an asyncio lock; write transactions run on it
  with ``BEGIN IMMEDIATE``, so within a process writers queue instead of failing;
* a few reader connections for queries outside transactions (WAL lets them read while
  a write is in progress and they never see uncommitted data).

Every connection runs WAL with ``synchronous=NORMAL``: a committed transaction survives
a process crash (only an OS crash can lose the last commits).
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

__all__ = ["EmbeddedSQLiteEngine", "make_engine", "sqlite_path"]


def _is_read(query: str) -> bool:
    # piccolo tags only inserts with a query type; plain SELECTs are safe on a reader.
    return query.lstrip()[:6].upper() == "SELECT"


def sqlite_path(url: str) -> str:
    """``sqlite:///./x.db`` -> ``./x.db``; ``sqlite:////abs/x.db`` -> ``/abs/x.db``."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite URL: {url!r}")
    path = unquote(url[len("sqlite:///") :])
    if not path or path == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    return path


class _WriterTransaction(SQLiteTransaction):
    """A transaction on the shared writer connection; holds the writer lock throughout."""

    engine: EmbeddedSQLiteEngine

    async def get_connection(self) -> aiosqlite.Connection:
        await self.engine.write_lock.acquire()
        return await self.engine.writer()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine.write_lock.release()
        return exception is None


class EmbeddedSQLiteEngine(SQLiteEngine):
    """SQLite with persistent connections: one writer, ``readers`` readers."""

    def __init__(self, path: str, readers: int = 3) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path=path, timeout=30.0, check_same_thread=False)
        self.write_lock = asyncio.Lock()
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._reader_count = readers
        self._next_reader = itertools.cycle(range(readers))
        self._open_lock = asyncio.Lock()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(**self.connection_kwargs)
        conn.row_factory = dict_factory  # type: ignore[assignment]
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=30000")
        await conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            async with self._open_lock:
                if self._writer is None:
                    self._writer = await self._connect()
        return self._writer

    async def _reader(self) -> aiosqlite.Connection:
        if len(self._readers) < self._reader_count:
            async with self._open_lock:
                while len(self._readers) < self._reader_count:
                    self._readers.append(await self._connect())
        return self._readers[next(self._next_reader)]

    async def close(self) -> None:
        for conn in [*self._readers, *([self._writer] if self._writer else [])]:
            await conn.close()
        self._readers.clear()
        self._writer = None

    def transaction(  # type: ignore[override]
        self,
        transaction_type: TransactionType = TransactionType.immediate,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _WriterTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[dict[str, Any]]:
        if _is_read(query):
            conn = await self._reader()
            async with conn.execute(query, args or []) as cursor:
                return list(await cursor.fetchall())
        async with self.write_lock:
            conn = await self.writer()
            async with conn.execute(query, args or []) as cursor:
                rows = list(await cursor.fetchall())
            await conn.commit()
            return rows

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> list[dict[str, Any]]:
        # The stock engine re-issues PRAGMA foreign_keys before every statement.
        async with connection.execute(query, args or []) as cursor:
            return list(await cursor.fetchall())


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
