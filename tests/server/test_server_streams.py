"""RFC-0006 streams over real HTTP: framing, both path families, resume without loss."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest

from openintent.server.testing import DEV_KEY, ServerProcess, SSEMessage, iter_sse

AUTH = {"X-API-Key": DEV_KEY}


def collect(
    base_url: str,
    path: str,
    count: int,
    headers: dict[str, str] | None = None,
    ready: threading.Event | None = None,
    timeout: float = 20.0,
) -> list[SSEMessage]:
    """Read ``count`` events from a stream (signals ``ready`` once headers arrived)."""
    out: list[SSEMessage] = []
    client = httpx.Client(base_url=base_url, headers={**AUTH, **(headers or {})}, timeout=timeout)
    with client as c, c.stream("GET", path) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        if ready is not None:
            ready.set()
        for message in iter_sse(r.iter_lines()):
            out.append(message)
            if len(out) >= count:
                break
    return out


def start_collector(
    base_url: str, path: str, count: int, **kw: Any
) -> tuple[threading.Thread, list[SSEMessage]]:
    result: list[SSEMessage] = []
    ready = threading.Event()

    def run() -> None:
        result.extend(collect(base_url, path, count, ready=ready, **kw))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10), "stream did not open"
    return t, result


def test_reference_and_runtime_paths(live_server: ServerProcess) -> None:
    base = live_server.base_url
    with httpx.Client(base_url=base, headers=AUTH) as c:
        iid = c.post("/api/v1/intents", json={"title": "s"}).json()["id"]
        ref_t, ref = start_collector(base, f"/api/v1/subscribe/intents/{iid}", 3)
        rt_t, rt = start_collector(base, f"/api/v1/intents/{iid}/subscribe", 3)
        ag_t, ag = start_collector(base, "/api/v1/agents/bob/subscribe", 2)
        c.post(f"/api/v1/intents/{iid}/agents", json={"agent_id": "bob"})
        c.post(f"/api/v1/intents/{iid}/state", json={"state": {"p": 1}}, headers={"If-Match": "1"})
        c.post(
            f"/api/v1/intents/{iid}/status", json={"status": "active"}, headers={"If-Match": "2"}
        )
        c.post(f"/api/v1/intents/{iid}/events", json={"event_type": "comment", "payload": {"n": 1}})
    for t in (ref_t, rt_t, ag_t):
        t.join(20)
    assert [m.event for m in ref] == ["state_patched", "status_changed", "comment"]
    snapshot = json.loads(ref[0].data)
    assert snapshot["id"] == iid
    assert snapshot["state"] == {"p": 1}
    assert "parent_intent_id" in snapshot
    assert [m.event for m in rt] == ["AGENT_ASSIGNED", "STATE_CHANGED", "STATUS_CHANGED"]
    changed = json.loads(rt[1].data)
    assert changed["intent_id"] == iid
    assert changed["old_state"] == {}
    assert changed["new_state"] == {"p": 1}
    assert json.loads(rt[2].data)["new_status"] == "active"
    assert [m.event for m in ag] == ["AGENT_ASSIGNED", "STATE_CHANGED"]
    assert all(m.id is not None and m.id.isdigit() for m in ref + rt + ag)


def test_concurrent_appends_all_stored_and_streamed_once_in_order(
    live_server: ServerProcess,
) -> None:
    base = live_server.base_url
    with httpx.Client(base_url=base, headers=AUTH) as c:
        iid = c.post("/api/v1/intents", json={"title": "burst"}).json()["id"]
    t, got = start_collector(base, f"/api/v1/subscribe/intents/{iid}", 200, timeout=60)

    async def append_all() -> list[int]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as c:

            async def one(n: int) -> int:
                r = await c.post(
                    f"/api/v1/intents/{iid}/events",
                    json={"event_type": "comment", "payload": {"n": n}},
                )
                return r.status_code

            return list(await asyncio.gather(*(one(n) for n in range(200))))

    assert asyncio.run(append_all()) == [200] * 200
    t.join(60)
    numbers = [json.loads(m.data)["payload"]["n"] for m in got]
    assert sorted(numbers) == list(range(200)), "every append streamed exactly once"
    ids = [int(m.id or 0) for m in got]
    assert ids == sorted(ids)
    assert len(set(ids)) == 200
    with httpx.Client(base_url=base, headers=AUTH) as c:
        stored = c.get(f"/api/v1/intents/{iid}/events", params={"limit": 1000}).json()
    assert sorted(e["payload"]["n"] for e in stored if e["event_type"] == "comment") == list(
        range(200)
    )
    # The log order (newest first) matches the stream order.
    log_order = [e["payload"]["n"] for e in reversed(stored) if e["event_type"] == "comment"]
    assert log_order == numbers


def test_resume_with_last_event_id_loses_and_repeats_nothing(live_server: ServerProcess) -> None:
    base = live_server.base_url
    with httpx.Client(base_url=base, headers=AUTH) as c:
        iid = c.post("/api/v1/intents", json={"title": "resume"}).json()["id"]
        path = f"/api/v1/subscribe/intents/{iid}"
        t, first = start_collector(base, path, 3)
        for n in range(3):
            c.post(
                f"/api/v1/intents/{iid}/events", json={"event_type": "comment", "payload": {"n": n}}
            )
        t.join(20)
        # Disconnected: these happen while nobody listens.
        for n in range(3, 8):
            c.post(
                f"/api/v1/intents/{iid}/events", json={"event_type": "comment", "payload": {"n": n}}
            )
        rest = collect(base, path, 5, headers={"Last-Event-ID": first[-1].id or ""})
    numbers = [json.loads(m.data)["payload"]["n"] for m in first + rest]
    assert numbers == list(range(8))


def test_stream_needs_a_key(live_server: ServerProcess) -> None:
    r = httpx.get(f"{live_server.base_url}/api/v1/subscribe/intents/x")
    assert r.status_code == 401
    assert r.json()["detail"] == "Invalid or missing API key"


def test_two_worker_processes_share_streams_through_postgres(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL (SQLite runs one process)")
    with ServerProcess(database_url, workers=2) as srv:
        base = srv.base_url
        with httpx.Client(base_url=base, headers=AUTH) as c:
            iid = c.post("/api/v1/intents", json={"title": "multi"}).json()["id"]
        # Several subscribers: with two workers behind one port, some land on each process.
        collectors = [
            start_collector(base, f"/api/v1/subscribe/intents/{iid}", 40) for _ in range(6)
        ]

        async def writes() -> None:
            async with httpx.AsyncClient(base_url=base, headers=AUTH) as c:
                for n in range(40):  # new connections spread over both workers
                    r = await c.post(
                        f"/api/v1/intents/{iid}/events",
                        json={"event_type": "comment", "payload": {"n": n}},
                        headers={"Connection": "close"},
                    )
                    assert r.status_code == 200

        asyncio.run(writes())
        for t, got in collectors:
            t.join(30)
            assert [json.loads(m.data)["payload"]["n"] for m in got] == list(range(40))
