"""Recording and SSE helpers of the reference-client scenario (ref_client_scenario.py).

Runs inside the reference virtualenv: ``openintent`` here is the reference package.
"""

from __future__ import annotations

import contextlib
import inspect
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openintent import AsyncOpenIntentClient, OpenIntentClient
from openintent.streaming import EventQueue, SSEEvent, SSEStream, SSESubscription

RESULTS: dict[str, str] = {}
SSE_WAIT = 10.0  # seconds to wait for one stream message

# Spec references for the documented reference-client bugs this scenario meets.
BUG_PLAIN_STR_EVENT = (
    "rfc-0001 mapping / sdk.md 3.2: log_event needs an EventType member; a plain string "
    "raises AttributeError in the client before any request is sent"
)
BUG_PLAIN_STR_STATUS = (
    "sdk.md 3.2: set_status needs an IntentStatus member; a plain string raises "
    "AttributeError in the client before any request is sent"
)
BUG_UNKNOWN_EVENT_TYPE = (
    "README C11/C13.4 and rfc-0003: the server keeps writing '{}', which is missing from "
    "the client's EventType enum, so IntentEvent.from_dict raises ValueError for the page"
)
BUG_BARE_LIST = (
    "README C9/C13.4 and sdk.md 2.1: the server keeps the reference's bare array for "
    "{}, which the client parses with data.get(...) and raises AttributeError"
)


# -- recording ------------------------------------------------------------------------


class ExpectedClientBug(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Blocked(Exception):
    """A step needs a value an earlier, failed step should have produced."""


class Ctx:
    """Values shared between steps; reading one that was never set blocks the step."""

    def __getattr__(self, name: str) -> Any:
        raise Blocked(f"blocked: earlier step did not produce {name!r}")


class HttpTrace:
    """The last request/response each client made, quoted in FAIL lines."""

    def __init__(self) -> None:
        self.last = ""

    def note(self, response: Any, body: str) -> None:
        request = response.request
        sent = request.content.decode(errors="replace")[:300] if request.content else ""
        self.last = (
            f"{request.method} {request.url.raw_path.decode()} {sent} -> "
            f"{response.status_code} {body[:400]}"
        )

    def attach_sync(self, client: OpenIntentClient) -> None:
        def hook(response: Any) -> None:
            self.note(response, response.read().decode(errors="replace"))

        client._client.event_hooks["response"].append(hook)

    def attach_async(self, client: AsyncOpenIntentClient) -> None:
        async def hook(response: Any) -> None:
            self.note(response, (await response.aread()).decode(errors="replace"))

        client._client.event_hooks["response"].append(hook)


TRACE = HttpTrace()


class Step:
    def __init__(self, name: str) -> None:
        self.name = name

    async def client_bug(
        self, call: Callable[[], Any], exc_type: type[BaseException], match: str, reason: str
    ) -> Any:
        """Run ``call``; the documented client-side exception becomes an expected failure.

        Any other exception propagates (FAIL); success returns the value (the step then
        goes on checking it, and is "ok" if the server made the call work after all).
        """
        try:
            return await resolve(call())
        except exc_type as exc:
            if match not in str(exc):
                raise
            raise ExpectedClientBug(f"{reason} [{type(exc).__name__}: {exc}]") from exc

    def client_bug_now(
        self, call: Callable[[], Any], exc_type: type[BaseException], match: str, reason: str
    ) -> Any:
        """:meth:`client_bug` for plain synchronous code."""
        try:
            return call()
        except exc_type as exc:
            if match not in str(exc):
                raise
            raise ExpectedClientBug(f"{reason} [{type(exc).__name__}: {exc}]") from exc


@contextlib.contextmanager
def step(name: str) -> Iterator[Step]:
    if name in RESULTS:
        raise RuntimeError(f"step {name!r} recorded twice")
    TRACE.last = ""
    started = time.monotonic()
    try:
        yield Step(name)
    except ExpectedClientBug as exc:
        RESULTS[name] = f"expected-failure: {exc.reason}"
    except Blocked as exc:
        RESULTS[name] = f"FAIL: {exc}"
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)
        frame = next((f for f in reversed(where) if _is_step_file(f.filename)), None)
        at = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
        http = f" | last HTTP: {TRACE.last}" if TRACE.last else ""
        RESULTS[name] = f"FAIL: {type(exc).__name__}: {exc}{at}{http}"
    else:
        RESULTS[name] = "ok"
    sys.stderr.write(f"{time.monotonic() - started:6.2f}s {name}: {RESULTS[name][:200]}\n")


def _is_step_file(filename: str) -> bool:
    return Path(filename).name.startswith("ref_client_") and filename != __file__


def check(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def eq(actual: object, expected: object, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def raises(
    exc_type: type[BaseException], call: Callable[[], Any], what: str
) -> BaseException:
    """The exception ``call()`` (sync, or returning an awaitable) raises."""
    try:
        await resolve(call())
    except exc_type as exc:
        return exc
    raise AssertionError(f"{what}: expected {exc_type.__name__}, nothing was raised")


def raises_now(exc_type: type[BaseException], call: Callable[[], Any], what: str) -> BaseException:
    """:func:`raises` for plain synchronous code."""
    try:
        call()
    except exc_type as exc:
        return exc
    raise AssertionError(f"{what}: expected {exc_type.__name__}, nothing was raised")


def ids(items: Any) -> list[str]:
    return [item.id for item in items]


def is_naive_recent(value: object, what: str) -> None:
    check(isinstance(value, datetime), f"{what}: not a datetime: {value!r}")
    assert isinstance(value, datetime)
    check(value.tzinfo is None, f"{what}: expected naive UTC, got {value!r}")
    check(abs(value - datetime.utcnow()) < timedelta(minutes=5), f"{what}: not recent: {value}")


# -- SSE ------------------------------------------------------------------------------


class Watcher:
    """Iterates a reference ``SSEStream`` on a thread, collecting what it yields."""

    def __init__(self, stream: SSEStream) -> None:
        self.stream = stream
        self.events: queue.Queue[SSEEvent] = queue.Queue()
        self.seen: list[SSEEvent] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for event in self.stream:
                self.events.put(event)
        except Exception:
            if self.stream._running:  # stop() closes the socket under the reader
                raise

    def __enter__(self) -> Watcher:
        self.thread.start()
        wait_connected(self.stream, self.seen, self.events)
        return self

    def __exit__(self, *exc: object) -> None:
        # The reader stays blocked in recv() until the next message or ping; it is a
        # daemon thread and ends there, so do not wait for it.
        self.stream.stop()
        self.thread.join(0.2)

    def expect(self, event_type: str, predicate: Callable[[SSEEvent], bool]) -> SSEEvent:
        return expect_event(self.events, self.seen, event_type, predicate)


def wait_connected(stream: SSEStream | None, seen: list[SSEEvent], events: Any) -> None:
    """Wait until the stream's response headers arrived (the server has subscribed).

    The reference stream offers no public "connected" signal; ``_response`` is set
    right after a 200 answer's headers were read.
    """
    deadline = time.monotonic() + SSE_WAIT
    while time.monotonic() < deadline:
        if stream is not None and stream._response is not None:
            return
        with contextlib.suppress(queue.Empty):
            event = events.get_nowait()
            seen.append(event)
            if event.type == "error":
                raise AssertionError(f"stream answered with an error event: {event.data}")
        time.sleep(0.02)
    raise AssertionError("stream did not connect")


def expect_event(
    events: Any, seen: list[SSEEvent], event_type: str, predicate: Callable[[SSEEvent], bool]
) -> SSEEvent:
    for event in seen:
        if event.type == event_type and predicate(event):
            return event
    deadline = time.monotonic() + SSE_WAIT
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            break
        seen.append(event)
        if event.type == "error":
            raise AssertionError(f"stream error event: {event.data}")
        if event.type == event_type and predicate(event):
            return event
    got = [(e.type, e.data) for e in seen][-8:]
    raise AssertionError(f"no {event_type} event within {SSE_WAIT}s; got {got}")


class QueueAdapter:
    """The ``queue.Queue`` calls the helpers make, over a reference ``EventQueue``."""

    def __init__(self, q: EventQueue) -> None:
        self.q = q

    def get(self, timeout: float) -> SSEEvent:
        event = self.q.get(timeout=timeout)
        if event is None:
            raise queue.Empty
        return event

    def get_nowait(self) -> SSEEvent:
        return self.get(timeout=0.001)


def queue_stream(q: EventQueue) -> SSEStream | None:
    sub = q._subscription
    return sub._stream if sub is not None else None


def stop_waking(subscription: EventQueue | SSESubscription, write: Callable[[], Any]) -> None:
    """``subscription.stop()``, repeating ``write`` meanwhile.

    The reference ``stop()`` joins its reader thread for up to 5 s, and the reader only
    notices the stop when the next message (or the 15 s ping) arrives.
    """
    done = threading.Event()

    def wake() -> None:
        while not done.wait(0.1):
            with contextlib.suppress(Exception):
                write()

    waker = threading.Thread(target=wake, daemon=True)
    waker.start()
    try:
        subscription.stop()
    finally:
        done.set()
        waker.join()
