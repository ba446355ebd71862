"""Server-Sent Events: parsed events, reconnecting streams, threaded and async queues.

Streams run on httpx-sse with a reconnect loop of our own: every reconnect sends
``Last-Event-ID`` (the id of the last event seen), honours the server's ``retry:``
value, backs off exponentially up to a cap after failures, and gives up after
``max_reconnects`` consecutive failures (HTTP errors included, unlike the reference's
endless loop on a 404). Events whose id was already delivered are dropped, so a server
that replays from ``Last-Event-ID`` after a restart delivers each event exactly once.

Event names are compared case-insensitively and with the reference runtime's aliases
(``state_patched`` is ``STATE_CHANGED``), because the reference server sends lower-case
protocol names while the reference runtime expects upper-case ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

import httpx
from httpx_sse import ServerSentEvent, SSEError, aconnect_sse, connect_sse

__all__ = [
    "AsyncEventQueue",
    "AsyncSSEStream",
    "EventName",
    "EventQueue",
    "SSEEvent",
    "SSEEventType",
    "SSEStream",
    "SSESubscription",
    "canonical_event_name",
]

# Reference-runtime names whose protocol name differs by more than case.
_ALIASES = {"state_changed": "state_patched"}


def canonical_event_name(name: str) -> str:
    """The comparison key of an event name: lower-case, runtime aliases resolved."""
    lowered = name.strip().lower()
    return _ALIASES.get(lowered, lowered)


class SSEEventType(StrEnum):
    """Event names the reference runtime knows; equality ignores case and aliases.

    ``SSEEventType.AGENT_ASSIGNED == "agent_assigned"`` and
    ``SSEEventType("state_patched") is SSEEventType.STATE_CHANGED`` both hold. Hashes use
    the canonical name, so members and :class:`EventName` values mix in sets and dicts.
    """

    CONNECTED = "connected"
    STATE_CHANGED = "STATE_CHANGED"
    STATUS_CHANGED = "STATUS_CHANGED"
    AGENT_ASSIGNED = "AGENT_ASSIGNED"
    INTENT_ASSIGNED = "INTENT_ASSIGNED"
    INTENT_COMPLETED = "INTENT_COMPLETED"
    INTENT_FAILED = "INTENT_FAILED"
    LEASE_ACQUIRED = "LEASE_ACQUIRED"
    LEASE_RELEASED = "LEASE_RELEASED"
    PORTFOLIO_PROGRESS = "PORTFOLIO_PROGRESS"
    ESCALATION_REQUIRED = "ESCALATION_REQUIRED"
    # Missing in the reference enum although its agent router uses it.
    ACCESS_REQUESTED = "ACCESS_REQUESTED"
    ERROR = "error"
    KEEPALIVE = "keepalive"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return canonical_event_name(self) == canonical_event_name(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(canonical_event_name(self))

    @classmethod
    def _missing_(cls, value: object) -> SSEEventType | None:
        if isinstance(value, str):
            key = canonical_event_name(value)
            for member in cls:
                if canonical_event_name(member) == key:
                    return member
        return None


class EventName(str):
    """An event name as received, comparing like :class:`SSEEventType` does."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return canonical_event_name(self) == canonical_event_name(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(canonical_event_name(self))


@dataclass
class SSEEvent:
    """One event: its name (``type``), decoded JSON ``data``, ``id`` and ``retry``."""

    type: str
    data: dict[str, Any]
    id: str | None = None
    retry: int | None = None

    @classmethod
    def from_raw(cls, event_type: str, data_str: str, event_id: str | None = None) -> SSEEvent:
        """Parse ``data_str`` as JSON: ``{}`` when empty, ``{"raw": text}`` when not an object."""
        data: dict[str, Any]
        if not data_str:
            data = {}
        else:
            try:
                decoded = json.loads(data_str)
            except ValueError:
                decoded = None
            data = decoded if isinstance(decoded, dict) else {"raw": data_str}
        return cls(type=EventName(event_type or "message"), data=data, id=event_id or None)

    @property
    def kind(self) -> SSEEventType | None:
        """The known event type this name stands for, if any."""
        try:
            return SSEEventType(self.type)
        except ValueError:
            return None

    @property
    def intent_id(self) -> str | None:
        return self.data.get("intent_id")

    @property
    def portfolio_id(self) -> str | None:
        return self.data.get("portfolio_id")

    @property
    def agent_id(self) -> str | None:
        return self.data.get("agent_id")


def _error_event(**data: Any) -> SSEEvent:
    return SSEEvent(type=SSEEventType.ERROR, data=data)


# -- the reconnect rules, shared by both stream classes -----------------------------


@dataclass
class _Resume:
    """Sans-io reconnect state: URL choice, headers, back-off, ``Last-Event-ID``, dedup."""

    urls: list[str]
    headers: dict[str, str]
    reconnect_delay: float
    max_reconnects: int
    max_reconnect_delay: float
    last_event_id: str | None = None
    index: int = 0
    failures: int = 0
    last_error: str = ""
    _seen: deque[str] = field(default_factory=lambda: deque(maxlen=4096))
    _seen_set: set[str] = field(default_factory=set)
    _connection_last_id: str = ""

    @property
    def url(self) -> str:
        return self.urls[self.index]

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        headers["Accept"] = "text/event-stream"
        headers["Cache-Control"] = "no-cache"
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def opened(self, status_code: int) -> str:
        """``"ok"``, ``"switch"`` (404: try the next URL now) or ``"error"``."""
        self._connection_last_id = ""
        if status_code == 200:
            self.failures = 0
            return "ok"
        if status_code == 404 and self.index + 1 < len(self.urls):
            self.index += 1
            return "switch"
        return "error"

    def failed(self, reason: str) -> float | None:
        """Count a failure; the back-off delay, or ``None`` when attempts are exhausted."""
        self.failures += 1
        self.last_error = reason
        if self.failures > self.max_reconnects:
            return None
        delay = self.reconnect_delay * 2.0 ** (self.failures - 1)
        return min(delay, max(self.max_reconnect_delay, self.reconnect_delay))

    def ended(self) -> float:
        """The server closed a healthy stream: reconnect after the advertised delay."""
        return self.reconnect_delay

    def accept(self, sse: ServerSentEvent) -> SSEEvent | None:
        """The event to deliver for ``sse``, or ``None`` (no data, or already delivered)."""
        if sse.retry is not None and sse.retry >= 0:
            self.reconnect_delay = sse.retry / 1000.0
        event_id = sse.id or None
        # httpx-sse repeats the last id on events that carry none (as the SSE spec says);
        # only a changed id within one connection is a new id worth checking.
        fresh = event_id is not None and event_id != self._connection_last_id
        if event_id is not None:
            self._connection_last_id = event_id
            self.last_event_id = event_id
        if fresh and event_id is not None:
            if event_id in self._seen_set:
                return None
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(event_id)
            self._seen_set.add(event_id)
        if not sse.data:
            return None
        event = SSEEvent.from_raw(sse.event, sse.data, event_id)
        event.retry = sse.retry
        return event

    def http_error(self, status_code: int) -> SSEEvent:
        return _error_event(error=f"HTTP {status_code}", status_code=status_code)

    def exhausted(self) -> SSEEvent:
        return _error_event(error=f"Max reconnects exceeded: {self.last_error}")


def _timeout(read: float | None) -> httpx.Timeout:
    # The read timeout must exceed the server's keep-alive interval (15 s on both servers).
    return httpx.Timeout(10.0, read=read)


class _StreamBase:
    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        reconnect_delay: float = 5.0,
        max_reconnects: int = 10,
        *,
        fallback_urls: Sequence[str] = (),
        max_reconnect_delay: float = 60.0,
        last_event_id: str | None = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.reconnect_delay = reconnect_delay
        self.max_reconnects = max_reconnects
        self._resume = _Resume(
            urls=[url, *fallback_urls],
            headers=self.headers,
            reconnect_delay=reconnect_delay,
            max_reconnects=max_reconnects,
            max_reconnect_delay=max_reconnect_delay,
            last_event_id=last_event_id,
        )
        self._stopped = threading.Event()

    @property
    def last_event_id(self) -> str | None:
        return self._resume.last_event_id

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()


class SSEStream(_StreamBase):
    """A blocking iterator of :class:`SSEEvent` that reconnects until stopped.

    ``timeout`` is the read timeout (a silent connection is dropped and resumed).
    ``fallback_urls`` are tried in order when a URL answers 404. Pass ``client`` to use
    a pooled ``httpx.Client``; otherwise the stream opens (and closes) its own.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        reconnect_delay: float = 5.0,
        max_reconnects: int = 10,
        *,
        client: httpx.Client | None = None,
        **options: Any,
    ) -> None:
        super().__init__(url, headers, timeout, reconnect_delay, max_reconnects, **options)
        self._client = client
        self._response: httpx.Response | None = None

    def __iter__(self) -> Iterator[SSEEvent]:
        own = self._client is None
        client = self._client or httpx.Client(timeout=_timeout(self.timeout))
        try:
            yield from self._events(client)
        finally:
            self._response = None
            if own:
                client.close()

    def _events(self, client: httpx.Client) -> Iterator[SSEEvent]:
        state = self._resume
        while not self._stopped.is_set():
            delay: float | None
            try:
                with connect_sse(
                    client,
                    "GET",
                    state.url,
                    headers=state.request_headers(),
                    timeout=_timeout(self.timeout),
                ) as source:
                    self._response = source.response
                    verdict = state.opened(source.response.status_code)
                    if verdict == "switch":
                        continue
                    if verdict == "error":
                        yield state.http_error(source.response.status_code)
                        delay = state.failed(f"HTTP {source.response.status_code}")
                    else:
                        for sse in source.iter_sse():
                            event = state.accept(sse)
                            if event is not None:
                                yield event
                            if self._stopped.is_set():
                                return
                        delay = state.ended()
            except Exception as exc:
                if self._stopped.is_set():
                    return
                if not isinstance(exc, httpx.TransportError | SSEError):
                    raise
                delay = state.failed(f"{type(exc).__name__}: {exc}")
            if delay is None:
                yield state.exhausted()
                return
            if self._stopped.wait(delay):
                return

    def stop(self) -> None:
        """End the iteration (from any thread) and close the connection."""
        self._stopped.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AsyncSSEStream(_StreamBase):
    """The asyncio twin of :class:`SSEStream`: ``async for event in stream``.

    ``stop()`` ends the stream at the next event or reconnect pause; cancel the consuming
    task (or use ``async with``) to end it at once.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 60.0,
        reconnect_delay: float = 5.0,
        max_reconnects: int = 10,
        *,
        client: httpx.AsyncClient | None = None,
        **options: Any,
    ) -> None:
        super().__init__(url, headers, timeout, reconnect_delay, max_reconnects, **options)
        self._client = client
        self._wake: asyncio.Event | None = None

    async def __aiter__(self) -> AsyncIterator[SSEEvent]:
        own = self._client is None
        client = self._client or httpx.AsyncClient(timeout=_timeout(self.timeout))
        try:
            async for event in self._events(client):
                yield event
        finally:
            if own:
                await client.aclose()

    async def _events(self, client: httpx.AsyncClient) -> AsyncIterator[SSEEvent]:
        state = self._resume
        self._wake = asyncio.Event()
        while not self._stopped.is_set():
            delay: float | None
            try:
                async with aconnect_sse(
                    client,
                    "GET",
                    state.url,
                    headers=state.request_headers(),
                    timeout=_timeout(self.timeout),
                ) as source:
                    verdict = state.opened(source.response.status_code)
                    if verdict == "switch":
                        continue
                    if verdict == "error":
                        yield state.http_error(source.response.status_code)
                        delay = state.failed(f"HTTP {source.response.status_code}")
                    else:
                        async for sse in source.aiter_sse():
                            event = state.accept(sse)
                            if event is not None:
                                yield event
                            if self._stopped.is_set():
                                return
                        delay = state.ended()
            except (httpx.TransportError, SSEError) as exc:
                if self._stopped.is_set():
                    return
                delay = state.failed(f"{type(exc).__name__}: {exc}")
            if delay is None:
                yield state.exhausted()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def stop(self) -> None:
        self._stopped.set()
        if self._wake is not None:
            self._wake.set()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()


# -- consumers ----------------------------------------------------------------------


class SSESubscription:
    """Runs an :class:`SSEStream` on a daemon thread, passing each event to ``callback``.

    Exceptions from the callback or the stream go to ``error_callback`` when given and
    are otherwise dropped, so one bad event does not end the subscription.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        callback: Callable[[SSEEvent], Any],
        error_callback: Callable[[Exception], Any] | None = None,
        **stream_options: Any,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.callback = callback
        self.error_callback = error_callback
        self._options = stream_options
        self._stream: SSEStream | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stream = SSEStream(self.url, self.headers, **self._options)
        self._thread = threading.Thread(target=self._run, name="openintent-sse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._stream is not None
        try:
            for event in self._stream:
                try:
                    self.callback(event)
                except Exception as exc:
                    self._report(exc)
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: Exception) -> None:
        if self.error_callback is not None:
            with contextlib.suppress(Exception):
                self.error_callback(exc)

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EventQueue:
    """A bounded ``queue.Queue`` filled by a background subscription (full: events dropped)."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        maxsize: int = 100,
        **stream_options: Any,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self._queue: queue.Queue[SSEEvent] = queue.Queue(maxsize=maxsize)
        self._options = stream_options
        self._subscription: SSESubscription | None = None

    def _put(self, event: SSEEvent) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(event)

    def _put_error(self, exc: Exception) -> None:
        self._put(_error_event(error=str(exc)))

    def start(self) -> None:
        if self._subscription is None:
            self._subscription = SSESubscription(
                self.url, self.headers, self._put, self._put_error, **self._options
            )
        self._subscription.start()

    def get(self, timeout: float | None = None) -> SSEEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AsyncEventQueue:
    """An ``asyncio.Queue`` filled by a task reading an :class:`AsyncSSEStream`."""

    def __init__(self, stream: AsyncSSEStream, maxsize: int = 100) -> None:
        self.stream = stream
        self._queue: asyncio.Queue[SSEEvent] = asyncio.Queue(maxsize=maxsize)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for event in self.stream:
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(event)
        except Exception as exc:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_error_event(error=str(exc)))

    async def get(self, timeout: float | None = None) -> SSEEvent | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def stop(self) -> None:
        self.stream.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
