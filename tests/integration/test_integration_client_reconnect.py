"""Our client's SSE iterators survive a server restart: every event arrives exactly once.

The scenario, for the sync and the async iterator alike:

1. subscribe to an intent's stream; write ``probe`` events until one arrives (the stream
   is connected from then on);
2. write batch A, then stop the server with SIGTERM;
3. while nothing listens on the subscribed port, keep writing: batch B goes through a
   second server process on another port over the same database;
4. start a new server on the subscribed port and database; the stream reconnects with
   ``Last-Event-ID`` and the server replays what it missed (api/streams.py);
5. write batch C to the new server, then an ``end`` marker.

A, B and C must arrive in order, each event once, before the marker. B can only arrive
by replay, so the test does not depend on how fast the client reconnects.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.server.testing import ServerProcess, fresh_database_url
from openintent.streaming import SSEEvent

KEYS = "dev-user-key,agent-research-key,agent-synth-key"
KEY = "dev-user-key"
BATCH = 15
WAIT = 60.0
# Retry quickly and for long: the subscribed port is down for several seconds.
pytestmark = pytest.mark.timeout(300)  # three server start-ups on a loaded machine
STREAM_OPTIONS: dict[str, Any] = {
    "reconnect_delay": 0.2,
    "max_reconnect_delay": 1.0,
    "max_reconnects": 1000,
}


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


class Servers:
    """The subscribed server (fixed port) and a stand-in on the same database.

    Both start together (start-up is the slow part); the stand-in takes writes while
    the subscribed port is down.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.main = ServerProcess(database_url, api_keys=KEYS)
        self.stand_in = ServerProcess(database_url, api_keys=KEYS)
        self.port = self.main.port
        self.running: list[ServerProcess] = []
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for srv in pool.map(ServerProcess.start, [self.main, self.stand_in]):
                self.running.append(srv)

    def stop_main(self) -> None:
        code = self.main.stop()
        self.running.remove(self.main)
        assert code == 0, f"SIGTERM: the server exited with {code}"

    def restart_main(self) -> None:
        self.main = ServerProcess(self.database_url, api_keys=KEYS, port=self.port).start()
        self.running.append(self.main)

    def close(self) -> None:
        for srv in self.running:
            srv.kill()


@pytest.fixture
def servers(database_url: str) -> Iterator[Servers]:
    group = Servers(database_url)
    try:
        yield group
    finally:
        group.close()


def _numbers(events: list[SSEEvent]) -> list[int]:
    return [int(e.data["payload"]["n"]) for e in events]


def _assert_exactly_once_in_order(events: list[SSEEvent], total: int) -> None:
    assert _numbers(events) == list(range(total))
    ids = [int(e.id or "0") for e in events]
    assert ids == sorted(set(ids)), f"event ids repeat or go backwards: {ids}"


def _write(client: OpenIntentClient, intent_id: str, numbers: range) -> None:
    for n in numbers:
        client.log_event(intent_id, "comment", {"n": n})


def _wait_for(
    condition: Callable[[], bool], what: str, trigger: Callable[[], Any] = lambda: None
) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        trigger()
        time.sleep(0.2)


def test_sync_iterator_gets_every_event_once_across_a_restart(servers: Servers) -> None:
    base_url = servers.main.base_url
    with OpenIntentClient(base_url, KEY, "reconnect-sync") as client:
        intent = client.create_intent("reconnect sync")
        stream = client.subscribe_sse(intent.id, **STREAM_OPTIONS)
        comments: list[SSEEvent] = []
        probes: list[SSEEvent] = []
        errors: list[SSEEvent] = []

        def read() -> None:
            for event in stream:
                if event.type == "comment":
                    comments.append(event)
                elif event.type == "probe":
                    probes.append(event)
                elif event.type == "error":
                    errors.append(event)
                elif event.type == "end":
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            _wait_for(
                lambda: bool(probes),
                "the stream to connect",
                lambda: client.log_event(intent.id, "probe", {}),
            )
            _write(client, intent.id, range(BATCH))
            servers.stop_main()
            with OpenIntentClient(servers.stand_in.base_url, KEY, "writer") as writer:
                _write(writer, intent.id, range(BATCH, 2 * BATCH))
            servers.restart_main()
            _write(client, intent.id, range(2 * BATCH, 3 * BATCH))
            # A repeat would come before this marker (events arrive in id order).
            client.log_event(intent.id, "end", {})
            _wait_for(lambda: not reader.is_alive(), "the end marker")
        finally:
            stream.stop()
            reader.join(20)  # stop() takes effect at the next event or ping
    _assert_exactly_once_in_order(comments, 3 * BATCH)
    assert int(stream.last_event_id or 0) > int(comments[-1].id or 0)  # the end marker's
    # Only transport failures happened while the port was down, never an HTTP error.
    assert [e.data for e in errors if "status_code" in e.data] == []


def test_async_iterator_gets_every_event_once_across_a_restart(servers: Servers) -> None:
    base_url = servers.main.base_url

    async def scenario() -> list[SSEEvent]:
        async with AsyncOpenIntentClient(base_url, KEY, "reconnect-async") as client:
            intent = await client.create_intent("reconnect async")
            stream = client.subscribe_sse(intent.id, **STREAM_OPTIONS)
            comments: list[SSEEvent] = []
            probes: list[SSEEvent] = []

            async def read() -> None:
                async for event in stream:
                    if event.type == "comment":
                        comments.append(event)
                    elif event.type == "probe":
                        probes.append(event)
                    elif event.type == "end":
                        return

            async def write(target: AsyncOpenIntentClient, numbers: range) -> None:
                for n in numbers:
                    await target.log_event(intent.id, "comment", {"n": n})

            async def until(condition: Callable[[], bool], what: str, probe: bool = False) -> None:
                deadline = time.monotonic() + WAIT
                while not condition():
                    if time.monotonic() > deadline:
                        raise AssertionError(f"timed out waiting for {what}")
                    if probe:
                        await client.log_event(intent.id, "probe", {})
                    await asyncio.sleep(0.2)

            reader = asyncio.create_task(read())
            try:
                await until(lambda: bool(probes), "the stream to connect", probe=True)
                await write(client, range(BATCH))
                # Process control blocks: run it off the loop so the reader keeps going.
                await asyncio.to_thread(servers.stop_main)
                stand_in = servers.stand_in.base_url
                async with AsyncOpenIntentClient(stand_in, KEY, "writer") as writer:
                    await write(writer, range(BATCH, 2 * BATCH))
                await asyncio.to_thread(servers.restart_main)
                await write(client, range(2 * BATCH, 3 * BATCH))
                # A repeat would come before this marker (events arrive in id order).
                await client.log_event(intent.id, "end", {})
                await asyncio.wait_for(reader, WAIT)
            finally:
                stream.stop()
                if not reader.done():
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
            return comments

    _assert_exactly_once_in_order(asyncio.run(scenario()), 3 * BATCH)
