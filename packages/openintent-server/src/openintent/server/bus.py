"""Publish/subscribe of committed stream messages.

Writers store a message row (``oi_stream``) in the same transaction as the change it
announces; only after commit is it published here. Subscribers get messages pushed
through a bounded queue; a subscriber that falls behind is flagged and re-reads the
gap from the table, so slow readers cost memory never, and events never.

``LocalBus`` serves one process (the SQLite default). With PostgreSQL and several
processes, ``PostgresBus`` relays a NOTIFY sent inside the writing transaction; every
process then loads the rows and publishes them to its own subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import attrs

__all__ = ["Bus", "LocalBus", "PostgresBus", "StreamMessage", "Subscription"]

log = logging.getLogger("openintent.server.bus")

NOTIFY_CHANNEL = "oi_stream"


@attrs.define
class StreamMessage:
    seq: int
    channel: str
    name: str
    data: str  # JSON text, encoded once for every subscriber
    # The SSE frame, made by the stream route on first delivery and shared by the rest.
    frame: bytes | None = attrs.field(default=None, eq=False, repr=False)


class Subscription:
    """One subscriber's queue over a set of channels."""

    def __init__(self, bus: LocalBus, channels: frozenset[str], maxsize: int) -> None:
        self._bus = bus
        self.channels = channels
        self.queue: asyncio.Queue[StreamMessage | None] = asyncio.Queue(maxsize)
        self.overflowed = False
        self.ended = False

    def end(self) -> None:
        """Finish the stream (server shutdown); the client reconnects with Last-Event-ID."""
        self.ended = True
        with contextlib.suppress(asyncio.QueueFull):  # a full queue is drained, then ends
            self.queue.put_nowait(None)

    def offer(self, message: StreamMessage) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # The reader resumes from the table after its last delivered seq.
            self.overflowed = True

    def close(self) -> None:
        self._bus.unsubscribe(self)


class Bus(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def subscribe(self, channels: Sequence[str], maxsize: int = 1000) -> Subscription: ...
    def unsubscribe(self, subscription: Subscription) -> None: ...
    def end_streams(self) -> None: ...
    def publish_committed(self, messages: Sequence[StreamMessage]) -> None: ...
    @property
    def notify_in_transaction(self) -> bool: ...


class LocalBus:
    """In-process fan-out."""

    notify_in_transaction = False

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def subscribe(self, channels: Sequence[str], maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, frozenset(channels), maxsize)
        for channel in sub.channels:
            self._subs[channel].add(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        for channel in subscription.channels:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(subscription)
                if not subs:
                    del self._subs[channel]

    def end_streams(self) -> None:
        """End every open stream, so a graceful shutdown need not wait for SSE clients."""
        for subs in tuple(self._subs.values()):
            for sub in tuple(subs):
                sub.end()

    def publish_committed(self, messages: Sequence[StreamMessage]) -> None:
        for message in messages:
            for sub in tuple(self._subs.get(message.channel, ())):
                sub.offer(message)


Loader = Callable[[int, int], Awaitable[list[StreamMessage]]]


class PostgresBus(LocalBus):
    """Cross-process fan-out through PostgreSQL LISTEN/NOTIFY.

    The writer issues ``pg_notify`` inside its transaction (delivered only on commit)
    with the seq range it wrote; each process loads that range and publishes locally.
    """

    notify_in_transaction = True

    def __init__(self, connect: Callable[[], Awaitable[Any]], load: Loader) -> None:
        super().__init__()
        self._connect = connect
        self._load = load
        self._conn: Any = None
        self._pending: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._conn = await self._connect()
        await self._conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._task = asyncio.create_task(self._relay())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            first, last = json.loads(payload)
            self._pending.put_nowait((int(first), int(last)))
        except (ValueError, TypeError):
            log.warning("ignoring malformed stream notification %r", payload)

    async def _relay(self) -> None:
        while True:
            first, last = await self._pending.get()
            try:
                messages = await self._load(first, last)
            except Exception:  # keep relaying; subscribers re-read gaps themselves
                log.exception("could not load stream messages %s..%s", first, last)
                continue
            LocalBus.publish_committed(self, messages)

    def publish_committed(self, messages: Sequence[StreamMessage]) -> None:
        # Delivery comes back through LISTEN, also for this process's own writes.
        return None
