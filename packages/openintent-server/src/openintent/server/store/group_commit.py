"""Group commit for the one SQLite writer connection.

Write units (one ``db.write()`` each, or one piccolo write outside a transaction) run
one at a time on the writer connection, in arrival order. A commit writes every page
the transaction touched to the WAL, which under load is a fifth of a small write's
cost. So a unit that finishes leaves the transaction open and the commit waits for
the event loop's current pass: requests already waiting to run start their units in
the same transaction, and one ``COMMIT`` covers them all (at most ``max_group``).

Guarantees are those of one transaction per unit:

* each unit after the first runs inside a ``SAVEPOINT``; a unit that fails rolls back
  to it, leaving the others' changes in place, and its caller gets the error at once;
* a unit's ``end()`` returns only after the group's ``COMMIT``: nothing is
  acknowledged, published or read back from another connection before it is durable
  in the WAL; if the commit fails, every unit of the group gets the error;
* the next unit sees the earlier units' changes, as it would after their commits:
  the units of a group are serialised exactly as separate transactions would be;
* what a unit does once committed (``on_commit``: publishing its stream messages)
  runs right after the group's ``COMMIT``, in the units' order, before any of them
  resumes: subscribers get messages in the order of their sequence numbers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
from collections.abc import Awaitable, Callable

__all__ = ["GroupCommitWriter", "WriteUnit"]

SAVEPOINT = "oi_unit"

log = logging.getLogger("openintent.server.store")


class _Group:
    """Units sharing one open transaction; ``committed`` resolves when it ends."""

    def __init__(self) -> None:
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.size = 0
        self.on_commit: list[Callable[[], None]] = []


class WriteUnit:
    """One unit's hold on the writer connection (from :meth:`GroupCommitWriter.begin`)."""

    def __init__(self, writer: GroupCommitWriter, conn: sqlite3.Connection, nested: bool) -> None:
        self.writer = writer
        self.connection = conn
        self._nested = nested
        self._ended = False

    async def end(
        self, error: BaseException | None = None, on_commit: Callable[[], None] | None = None
    ) -> None:
        """Finish the unit: kept (``error`` is ``None``; returns after the commit, once
        ``on_commit`` has run) or undone (any error: returns at once, the caller
        re-raises)."""
        if self._ended:
            return
        self._ended = True
        await self.writer._end(self, error, on_commit)


class GroupCommitWriter:
    """Hands one connection to one write unit at a time and commits units in groups."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        begin: Callable[[sqlite3.Connection], Awaitable[None]],
        max_group: int = 32,
    ) -> None:
        self._connect = connect
        self._begin = begin
        self.max_group = max_group
        self._owned = False
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._group: _Group | None = None

    @property
    def busy(self) -> bool:
        """A unit holds the connection (or a group is waiting for its commit)."""
        return self._owned or self._group is not None

    async def begin(self) -> WriteUnit:
        """Wait for the connection; open the transaction, or join the open one."""
        await self._acquire()
        try:
            conn = self._connect()
            if self._group is None:
                await self._begin(conn)
                self._group = _Group()
                return WriteUnit(self, conn, nested=False)
            conn.execute(f"SAVEPOINT {SAVEPOINT}")
            return WriteUnit(self, conn, nested=True)
        except BaseException:
            self._release()
            raise

    def flush(self) -> None:
        """Commit the open group now, if no unit holds the connection (at shutdown)."""
        if self._group is not None and not self._owned:
            self._commit()

    # -- ownership ---------------------------------------------------------------------

    async def _acquire(self) -> None:
        if not self._owned and not self._queue:
            self._owned = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed over just as we were cancelled: pass it on
            else:
                self._queue.remove(turn)
            raise

    def _release(self) -> None:
        """Hand the connection to the next unit in line; with none, the open group
        commits once the tasks already due to run on the loop have had their turn."""
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)  # ownership passes; ``_owned`` stays set
                return
        self._owned = False
        if self._group is not None:
            asyncio.get_running_loop().call_soon(self._commit_if_idle, self._group)

    def _commit_if_idle(self, group: _Group) -> None:
        # A unit holding the connection now will schedule this again when it is done.
        if self._group is group and not self._owned:
            self._commit()

    # -- ending units --------------------------------------------------------------------

    async def _end(
        self,
        unit: WriteUnit,
        error: BaseException | None,
        on_commit: Callable[[], None] | None,
    ) -> None:
        group = self._group
        assert group is not None
        assert self._owned
        if error is None:
            try:
                if unit._nested:
                    unit.connection.execute(f"RELEASE {SAVEPOINT}")
            except BaseException as exc:
                self._undo(unit)
                self._release()
                raise exc
            group.size += 1
            if on_commit is not None:
                group.on_commit.append(on_commit)
            if group.size >= self.max_group:
                self._commit()
            self._release()
            # Shielded: a caller cancelled while waiting must not cancel the group.
            await asyncio.shield(group.committed)
            return
        self._undo(unit)
        self._release()

    def _undo(self, unit: WriteUnit) -> None:
        """Roll back one unit; the group's earlier units stay unless SQLite already
        dropped the whole transaction (some I/O errors do), which fails them too."""
        conn = unit.connection
        if unit._nested and conn.in_transaction:
            try:
                conn.execute(f"ROLLBACK TO {SAVEPOINT}")
                conn.execute(f"RELEASE {SAVEPOINT}")
                return
            except sqlite3.Error as exc:
                self._fail_group(exc)
                return
        if unit._nested:
            self._fail_group(sqlite3.OperationalError("the write transaction was lost"))
        else:  # the group's first unit: nothing else is in the transaction
            self._fail_group(None)

    def _commit(self) -> None:
        group = self._group
        assert group is not None
        self._group = None
        try:
            self._connect().commit()
        except sqlite3.Error as exc:
            self._rollback()
            group.committed.set_exception(exc)
            return
        for hook in group.on_commit:
            try:
                hook()
            except Exception:  # one unit's follow-up must not fail the others
                log.exception("after-commit step failed")
        group.committed.set_result(None)

    def _fail_group(self, error: BaseException | None) -> None:
        group = self._group
        assert group is not None
        self._group = None
        self._rollback()
        if error is None or group.size == 0:
            group.committed.set_result(None)
        else:
            group.committed.set_exception(error)

    def _rollback(self) -> None:
        conn = self._connect()
        if conn.in_transaction:
            conn.rollback()
