"""Group commit on the SQLite writer (``store.group_commit``), on a real SQLite file:
units that queue behind each other share one COMMIT, and each still behaves as its own
transaction (all or nothing, acknowledged only once durable, failures kept apart)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openintent.server.store.group_commit import GroupCommitWriter


class CountingConnection(sqlite3.Connection):
    commits = 0

    def commit(self) -> None:
        type(self).commits += 1
        super().commit()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, Callable[[], sqlite3.Connection]]]:
    path = str(tmp_path / "g.db")
    CountingConnection.commits = 0
    conn = sqlite3.connect(path, isolation_level=None, factory=CountingConnection)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE t (n INTEGER PRIMARY KEY, p INTEGER"
        " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    CountingConnection.commits = 0

    def reader() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None)

    yield conn, reader
    conn.close()


async def _begin(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


def _writer(conn: sqlite3.Connection, max_group: int = 32) -> GroupCommitWriter:
    return GroupCommitWriter(lambda: conn, _begin, max_group=max_group)


def _stored(reader: Callable[[], sqlite3.Connection]) -> list[int]:
    with reader() as other:
        return [n for (n,) in other.execute("SELECT n FROM t ORDER BY n")]


async def _unit(
    writer: GroupCommitWriter,
    n: int,
    *,
    fail: bool = False,
    seen: Callable[[], list[int]] | None = None,
    log: list[Any] | None = None,
) -> None:
    unit = await writer.begin()
    try:
        unit.connection.execute("INSERT INTO t (n) VALUES (?)", (n,))
        await asyncio.sleep(0)  # others queue up meanwhile
        if fail:
            raise ValueError(f"unit {n} fails after its insert")
    except BaseException as exc:
        await unit.end(exc)
        raise
    await unit.end()
    if seen is not None and log is not None:
        log.append((n, n in seen()))  # durable: another connection reads it


def test_queued_units_share_a_commit_and_are_acknowledged_after_it(db: Any) -> None:
    conn, reader = db

    async def main() -> list[Any]:
        writer = _writer(conn)
        log: list[Any] = []
        await asyncio.gather(
            *(_unit(writer, n, seen=lambda: _stored(reader), log=log) for n in range(40))
        )
        assert not writer.busy
        return log

    log = asyncio.run(main())
    assert sorted(n for n, _ in log) == list(range(40))
    assert all(visible for _, visible in log)  # each saw its own row from outside
    assert _stored(reader) == list(range(40))
    # 40 units, groups of at most 32: far fewer commits than units.
    assert 2 <= CountingConnection.commits < 10


def test_a_failing_unit_is_undone_alone(db: Any) -> None:
    conn, reader = db

    async def main() -> list[BaseException | None]:
        writer = _writer(conn)
        results = await asyncio.gather(
            *(_unit(writer, n, fail=n % 3 == 1) for n in range(30)), return_exceptions=True
        )
        return list(results)

    results = asyncio.run(main())
    failed = [n for n, r in enumerate(results) if isinstance(r, ValueError)]
    assert failed == [n for n in range(30) if n % 3 == 1]
    assert _stored(reader) == [n for n in range(30) if n % 3 != 1]


def test_the_first_unit_failing_leaves_nothing_and_the_next_group_starts(db: Any) -> None:
    conn, reader = db

    async def main() -> list[Any]:
        writer = _writer(conn)
        return list(
            await asyncio.gather(
                _unit(writer, 0, fail=True), _unit(writer, 1), return_exceptions=True
            )
        )

    first, second = asyncio.run(main())
    assert isinstance(first, ValueError)
    assert second is None
    assert _stored(reader) == [1]


def test_a_failed_commit_fails_every_unit_of_the_group(db: Any) -> None:
    """A deferred foreign key is checked at COMMIT: the group's commit fails, so no
    unit of it may report success, and none of their rows is stored."""
    conn, reader = db

    async def bad(writer: GroupCommitWriter) -> None:
        unit = await writer.begin()
        unit.connection.execute("INSERT INTO t (n, p) VALUES (100, 999)")  # no parent 999
        await unit.end()

    async def main() -> list[Any]:
        writer = _writer(conn)
        tasks = [_unit(writer, n) for n in range(3)]
        tasks.insert(1, bad(writer))
        results = list(await asyncio.gather(*tasks, return_exceptions=True))
        # The writer is usable again afterwards.
        await _unit(writer, 50)
        return results

    results = asyncio.run(main())
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert _stored(reader) == [50]


def test_groups_are_capped(db: Any) -> None:
    conn, reader = db

    async def main() -> None:
        writer = _writer(conn, max_group=4)
        await asyncio.gather(*(_unit(writer, n) for n in range(20)))

    asyncio.run(main())
    assert _stored(reader) == list(range(20))
    assert CountingConnection.commits >= 5


def test_cancelled_units_do_not_stall_the_others(db: Any) -> None:
    conn, reader = db

    async def main() -> None:
        writer = _writer(conn)
        tasks = [asyncio.create_task(_unit(writer, n)) for n in range(10)]
        await asyncio.sleep(0)
        # Cancelled while queued for the connection: never runs.
        tasks[5].cancel()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
        assert isinstance(results[5], asyncio.CancelledError)
        assert not writer.busy

    asyncio.run(main())
    assert _stored(reader) == [n for n in range(10) if n != 5]


def test_a_unit_cancelled_while_waiting_for_the_commit_is_still_committed(db: Any) -> None:
    conn, reader = db

    async def main() -> None:
        writer = _writer(conn)
        go_on = asyncio.Event()

        async def first() -> None:
            unit = await writer.begin()
            unit.connection.execute("INSERT INTO t (n) VALUES (7)")
            while not writer._queue:  # the second unit queues behind this one
                await asyncio.sleep(0)
            await unit.end()  # hands over, then waits for the group's commit

        async def second() -> None:
            unit = await writer.begin()
            unit.connection.execute("INSERT INTO t (n) VALUES (8)")
            await go_on.wait()
            await unit.end()

        one, two = asyncio.create_task(first()), asyncio.create_task(second())
        while writer._group is None or writer._group.size < 1:
            await asyncio.sleep(0)
        one.cancel()
        with pytest.raises(asyncio.CancelledError):
            await one
        assert _stored(reader) == []  # not committed yet
        go_on.set()
        await asyncio.wait_for(two, timeout=10)
        assert not writer.busy

    asyncio.run(main())
    assert _stored(reader) == [7, 8]


def test_after_commit_steps_run_in_unit_order_before_any_unit_resumes(db: Any) -> None:
    """Stream messages are published by these steps: their order must be the order
    the units wrote in (the committing unit is the group's last)."""
    conn, _ = db
    published: list[int] = []
    resumed: list[tuple[int, list[int]]] = []

    async def unit(writer: GroupCommitWriter, n: int) -> None:
        u = await writer.begin()
        u.connection.execute("INSERT INTO t (n) VALUES (?)", (n,))
        await asyncio.sleep(0)
        await u.end(on_commit=lambda: published.append(n))
        resumed.append((n, list(published)))

    async def main() -> None:
        writer = _writer(conn)
        await asyncio.gather(*(unit(writer, n) for n in range(12)))

    asyncio.run(main())
    assert published == list(range(12))
    assert CountingConnection.commits < 12  # there were groups
    for n, seen in resumed:
        assert n in seen  # published before its writer went on


def test_units_that_never_wait_still_share_the_commit_of_the_loop_pass(db: Any) -> None:
    """Real units run start to end without suspending: the commit waits for the other
    tasks already due on the loop, whose units join the open transaction."""
    conn, reader = db

    async def unit(writer: GroupCommitWriter, n: int, log: list[tuple[int, bool]]) -> None:
        u = await writer.begin()
        u.connection.execute("INSERT INTO t (n) VALUES (?)", (n,))
        await u.end()
        log.append((n, n in _stored(reader)))

    async def main() -> list[tuple[int, bool]]:
        writer = _writer(conn)
        log: list[tuple[int, bool]] = []
        await asyncio.gather(*(unit(writer, n, log) for n in range(20)))
        assert not writer.busy
        return log

    log = asyncio.run(main())
    assert sorted(n for n, _ in log) == list(range(20))
    assert all(durable for _, durable in log)
    assert CountingConnection.commits == 1
