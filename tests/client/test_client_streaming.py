"""SSE: event parsing, name matching, reconnects with Last-Event-ID, back-off and limits."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from httpx_sse import ServerSentEvent

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.streaming import (
    AsyncSSEStream,
    EventName,
    EventQueue,
    SSEEvent,
    SSEEventType,
    SSEStream,
    canonical_event_name,
)

FAST = {"reconnect_delay": 0.05, "max_reconnects": 50, "timeout": 5.0}


def test_event_names_compare_case_insensitively_with_aliases() -> None:
    assert SSEEventType.AGENT_ASSIGNED == "agent_assigned"
    assert SSEEventType("state_patched") is SSEEventType.STATE_CHANGED
    assert SSEEventType("lease_released") is SSEEventType.LEASE_RELEASED
    assert SSEEventType.ERROR == "error"
    assert EventName("status_changed") == SSEEventType.STATUS_CHANGED
    assert EventName("AGENT_ASSIGNED") in {SSEEventType.AGENT_ASSIGNED}
    assert SSEEventType.ACCESS_REQUESTED == "access_requested"
    assert canonical_event_name(" State_Changed ") == "state_patched"
    assert SSEEventType.STATE_CHANGED != "status_changed"


def test_from_raw_decodes_json_or_keeps_raw_text() -> None:
    ev = SSEEvent.from_raw("agent_assigned", '{"intent_id": "i", "agent_id": "a"}', "7")
    assert (ev.intent_id, ev.agent_id, ev.id, ev.kind) == (
        "i",
        "a",
        "7",
        SSEEventType.AGENT_ASSIGNED,
    )
    assert ev.type == SSEEventType.AGENT_ASSIGNED
    assert str(ev.type) == "agent_assigned"
    assert SSEEvent.from_raw("x", "not json").data == {"raw": "not json"}
    assert SSEEvent.from_raw("x", "").data == {}
    assert SSEEvent.from_raw("custom.thing", "{}").kind is None


def collect(stream: SSEStream, count: int, timeout: float = 10.0) -> list[SSEEvent]:
    """Read ``count`` events (or time out) on a thread, then stop the stream."""
    events: list[SSEEvent] = []
    done = threading.Event()

    def run() -> None:
        for event in stream:
            events.append(event)
            if len(events) >= count:
                break
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    done.wait(timeout)
    stream.stop()
    thread.join(5)
    return events


def test_stream_reads_events_and_sends_headers(sse_server: Any) -> None:
    for n in range(3):
        sse_server.log.publish("state_patched", {"n": n})
    client = OpenIntentClient(sse_server.base_url, "k", "agent-a")
    events = collect(client.subscribe_sse("i1", **FAST), 3)
    assert [e.data["n"] for e in events] == [0, 1, 2]
    assert [e.id for e in events] == ["1", "2", "3"]
    headers = sse_server.seen_headers[0]
    assert headers["x-api-key"] == "k"
    assert headers["accept"] == "text/event-stream"
    client.close()


def test_server_restart_loses_nothing_and_duplicates_nothing(sse_server: Any) -> None:
    sse_server.replay_inclusive = True  # a sloppy server: re-sends the last seen event
    stream = SSEStream(f"{sse_server.base_url}/api/v1/subscribe/intents/i1", {}, **FAST)
    received: list[int] = []
    first_three = threading.Event()
    finished = threading.Event()

    def run() -> None:
        for event in stream:
            received.append(event.data["n"])
            if len(received) == 3:
                first_three.set()
            if len(received) >= 6:
                break
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for n in range(3):
        sse_server.log.publish("comment", {"n": n})
    assert first_three.wait(5)
    sse_server.stop()
    sse_server.log.publish("comment", {"n": 3})  # written while the server is down
    sse_server.log.publish("comment", {"n": 4})
    time.sleep(0.3)  # the client is backing off against a closed port
    sse_server.start()
    sse_server.log.publish("comment", {"n": 5})
    assert finished.wait(10)
    stream.stop()
    thread.join(5)
    assert received == [0, 1, 2, 3, 4, 5]
    resumed = [h.get("last-event-id") for h in sse_server.seen_headers[1:]]
    assert resumed
    assert resumed[-1] == "3"


def test_falls_back_to_the_client_style_path_on_404(sse_server: Any) -> None:
    sse_server.missing_paths.add("/api/v1/subscribe/agents/agent-a")
    sse_server.log.publish("AGENT_ASSIGNED", {"intent_id": "i1"})
    client = OpenIntentClient(sse_server.base_url, "k", "agent-a")
    events = collect(client.subscribe_agent(**FAST), 1)
    assert events[0].type == SSEEventType.AGENT_ASSIGNED
    client.close()


def test_http_errors_count_and_end_the_stream(sse_server: Any) -> None:
    sse_server.status = 500
    stream = SSEStream(
        f"{sse_server.base_url}/x", {}, reconnect_delay=0.01, max_reconnects=2, timeout=5.0
    )
    started = time.monotonic()
    events = list(stream)
    assert time.monotonic() - started < 5
    assert [e.type for e in events] == ["error"] * 4
    assert events[0].data == {"error": "HTTP 500", "status_code": 500}
    assert events[-1].data["error"].startswith("Max reconnects exceeded")
    assert len(sse_server.seen_headers) == 3


def test_backoff_is_exponential_and_capped() -> None:
    stream = SSEStream("http://127.0.0.1:9/", {}, reconnect_delay=1.0, max_reconnects=6)
    state = stream._resume
    delays = [state.failed("x") for _ in range(7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, None]
    capped = SSEStream("http://127.0.0.1:9/", {}, reconnect_delay=1.0, max_reconnect_delay=3.0)
    assert [capped._resume.failed("x") for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]


def test_retry_field_changes_the_delay_and_inherited_ids_are_not_duplicates() -> None:
    stream = SSEStream("http://127.0.0.1:9/", {})
    state = stream._resume
    state.opened(200)
    assert state.accept(ServerSentEvent(event="a", data="{}", id="5", retry=250)) is not None
    assert state.reconnect_delay == 0.25
    # httpx-sse repeats the last id on events without their own: still delivered.
    assert state.accept(ServerSentEvent(event="b", data="{}", id="5")) is not None
    state.opened(200)  # a new connection replaying id 5 again: dropped
    assert state.accept(ServerSentEvent(event="a", data="{}", id="5")) is None
    assert state.request_headers()["Last-Event-ID"] == "5"
    assert state.accept(ServerSentEvent(event="c", data="", id="6")) is None  # no data


def test_event_queue_delivers_from_a_thread(sse_server: Any) -> None:
    sse_server.log.publish("comment", {"n": 1})
    client = OpenIntentClient(sse_server.base_url, "k", "agent-a")
    queue = client.create_event_queue(intent_id="i1", **FAST)
    assert isinstance(queue, EventQueue)
    with queue:
        event = queue.get(timeout=5)
    assert event is not None
    assert event.data == {"n": 1}
    assert queue.get(timeout=0.01) is None
    client.close()


def test_async_stream_resumes_after_restart(sse_server: Any) -> None:
    async def run() -> list[int]:
        client = AsyncOpenIntentClient(sse_server.base_url, "k", "agent-a")
        stream = client.subscribe_sse("i1", **FAST)
        assert isinstance(stream, AsyncSSEStream)
        got: list[int] = []
        sse_server.log.publish("comment", {"n": 0})
        async for event in stream:
            got.append(event.data["n"])
            if len(got) == 1:
                await asyncio.to_thread(sse_server.restart)
                sse_server.log.publish("comment", {"n": 1})
            if len(got) == 2:
                break
        await client.close()
        return got

    assert asyncio.run(asyncio.wait_for(run(), 15)) == [0, 1]


def test_async_event_queue(sse_server: Any) -> None:
    async def run() -> SSEEvent | None:
        client = AsyncOpenIntentClient(sse_server.base_url, "k", "agent-a")
        sse_server.log.publish("comment", {"n": 9})
        async with client.create_event_queue(intent_id="i1", **FAST) as queue:
            event = await queue.get(timeout=5)
        await client.close()
        return event

    event = asyncio.run(run())
    assert event is not None
    assert event.data == {"n": 9}


def test_stop_from_another_thread_ends_a_quiet_stream(sse_server: Any) -> None:
    stream = SSEStream(f"{sse_server.base_url}/api/v1/subscribe/intents/q", {}, **FAST)
    finished = threading.Event()

    def run() -> None:
        for _ in stream:
            pass
        finished.set()

    threading.Thread(target=run, daemon=True).start()
    time.sleep(0.3)
    stream.stop()
    assert finished.wait(5)


def test_standalone_stream_owns_and_closes_its_client(sse_server: Any) -> None:
    sse_server.log.publish("comment", {"n": 1})
    with SSEStream(f"{sse_server.base_url}/s", {"X-API-Key": "k"}, **FAST) as stream:
        events = collect(stream, 1)
    assert events[0].data == {"n": 1}
