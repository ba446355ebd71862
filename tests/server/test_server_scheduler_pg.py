"""The scheduler with several server processes on one PostgreSQL: every due time of a
cron trigger fires once, and every matching event fires an event trigger once, although
each process runs its own scheduler. Plus the scheduler's own loop behaviour."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx
import pytest

from openintent.server.scheduler import Scheduler
from openintent.server.testing import DEV_KEY, ServerProcess

AUTH = {"X-API-Key": DEV_KEY}
API = "/api/v1/triggers"

needs_postgres = pytest.mark.skipif(
    not os.environ.get("OPENINTENT_TEST_PG_URL"),
    reason="two processes sharing one database need PostgreSQL (OPENINTENT_TEST_PG_URL)",
)


def _history(c: httpx.Client, trigger_id: str) -> list[dict[str, Any]]:
    r = c.get(f"{API}/{trigger_id}/history", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()))


@pytest.mark.postgres
@needs_postgres
def test_two_processes_fire_each_cron_due_time_once(database_url: str) -> None:
    with ServerProcess(database_url) as one, ServerProcess(database_url) as two:
        a = httpx.Client(base_url=one.base_url, headers=AUTH, timeout=10)
        b = httpx.Client(base_url=two.base_url, headers=AUTH, timeout=10)
        with a, b:
            tick = a.post(
                API,
                json={
                    "name": "tick",
                    "type": "schedule",
                    "condition": {"cron": "* * * * * *"},
                    "intent_template": {"title": "tick {{ trigger.fire_count }}"},
                },
            )
            assert tick.status_code == 200, tick.text
            tid = tick.json()["trigger_id"]
            echo = b.post(
                API,
                json={
                    "name": "echo",
                    "type": "event",
                    "condition": {"event": "x-ping"},
                    "intent_template": {"title": "pong"},
                },
            )
            eid = echo.json()["trigger_id"]
            iid = a.post("/api/v1/intents", json={"title": "pings"}).json()["id"]
            for n in range(6):  # events logged through both processes
                (a if n % 2 else b).post(
                    f"/api/v1/intents/{iid}/events",
                    json={"event_type": "x-ping", "payload": {"n": n}},
                )
            time.sleep(4.5)
            off = b.patch(f"{API}/{tid}", json={"enabled": False}, headers={"If-Match": "1"})
            assert off.status_code == 200, off.text
            time.sleep(0.5)  # let a firing that was already claimed commit

            fired = [h for h in _history(a, tid) if h["outcome"] == "created"]
            dues = [h["due_at"] for h in fired]
            assert len(dues) >= 3, dues
            assert len(dues) == len(set(dues)), f"a due time fired twice: {sorted(dues)}"
            final = a.get(f"{API}/{tid}").json()
            assert final["fire_count"] == len(fired)
            titles = sorted(
                i["title"]
                for i in a.get("/api/v1/intents", params={"limit": 1000}).json()["intents"]
                if i["title"].startswith("tick ")
            )
            assert titles == sorted(f"tick {n}" for n in range(1, len(fired) + 1))

            pongs = [h for h in _history(b, eid) if h["outcome"] == "created"]
            assert len(pongs) == 6
            assert len({h["event_id"] for h in pongs}) == 6


def test_a_failing_job_keeps_running_and_stop_ends_all_jobs() -> None:
    calls = {"bad": 0, "good": 0}

    async def bad() -> None:
        calls["bad"] += 1
        raise RuntimeError("database restarting")

    async def good() -> None:
        calls["good"] += 1

    async def run() -> None:
        scheduler = Scheduler()
        scheduler.add("bad", 0.01, bad)
        scheduler.add("good", 0.01, good)
        with pytest.raises(ValueError, match="positive"):
            scheduler.add("never", 0, good)
        await scheduler.start()
        await asyncio.sleep(0.2)
        await scheduler.stop()
        seen = dict(calls)
        await asyncio.sleep(0.05)
        assert calls == seen  # nothing runs after stop

    asyncio.run(run())
    assert calls["bad"] >= 3
    assert calls["good"] >= 3
