"""The async client runs the same definitions; only sending differs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.exceptions import NotFoundError

INTENT = {"id": "i1", "title": "T", "status": "draft", "version": 1, "state": {}}


def make(transport: httpx.MockTransport, **kw: Any) -> AsyncOpenIntentClient:
    kw.setdefault("retry_backoff", 0.0)
    return AsyncOpenIntentClient("http://test", "key-1", "agent-a", transport=transport, **kw)


def test_same_request_from_both_modes(
    recorder: Any, transport: httpx.MockTransport, async_transport: httpx.MockTransport
) -> None:
    recorder.json(200, INTENT)
    OpenIntentClient("http://test", "key-1", "agent-a", transport=transport).create_intent(
        "T", "d", depends_on=["x"]
    )

    async def run() -> None:
        async with make(async_transport) as client:
            await client.create_intent("T", "d", depends_on=["x"])

    asyncio.run(run())
    sync_req, async_req = recorder.requests
    assert (sync_req.method, sync_req.url, sync_req.content) == (
        async_req.method,
        async_req.url,
        async_req.content,
    )
    assert sync_req.headers["X-API-Key"] == async_req.headers["X-API-Key"] == "key-1"


def test_async_methods_are_awaitable_and_map_errors(
    recorder: Any, async_transport: httpx.MockTransport
) -> None:
    recorder.reply(httpx.Response(404, json={"detail": "Intent not found"}))

    async def run() -> None:
        client = make(async_transport)
        pending = client.get_intent("nope")
        assert asyncio.iscoroutine(pending)
        with pytest.raises(NotFoundError):
            await pending
        await client.close()

    asyncio.run(run())


def test_async_retry_and_flow(recorder: Any, async_transport: httpx.MockTransport) -> None:
    recorder.reply(
        httpx.ConnectError("refused"),
        httpx.Response(200, json={**INTENT, "version": 3}),
        httpx.Response(200, json={**INTENT, "version": 4}),
    )

    async def run() -> int:
        async with make(async_transport) as client:
            return (await client.patch_state("i1", {"k": 1})).version

    assert asyncio.run(run()) == 4
    assert [r.method for r in recorder.requests] == ["GET", "GET", "POST"]


def test_async_lease_releases_on_exception(
    recorder: Any, async_transport: httpx.MockTransport
) -> None:
    lease = {"id": "L", "intent_id": "i1", "agent_id": "k", "scope": "s",
             "expires_at": "2999-01-01T00:00:00"}  # fmt: skip
    recorder.reply(httpx.Response(200, json=lease), httpx.Response(200, json={"message": "ok"}))

    async def work(client: AsyncOpenIntentClient) -> None:
        async with client.lease("i1", "s") as held:
            assert held.scope == "s"
            raise ValueError("inside")

    async def run() -> None:
        async with make(async_transport) as client:
            with pytest.raises(ValueError, match="inside"):
                await work(client)

    asyncio.run(run())
    assert [r.method for r in recorder.requests] == ["POST", "DELETE"]


def test_async_lease_releases_on_cancellation(
    recorder: Any, async_transport: httpx.MockTransport
) -> None:
    lease = {"id": "L", "intent_id": "i1", "agent_id": "k", "scope": "s",
             "expires_at": "2999-01-01T00:00:00"}  # fmt: skip
    recorder.reply(httpx.Response(200, json=lease), httpx.Response(200, json={"message": "ok"}))

    async def hold(client: AsyncOpenIntentClient, entered: asyncio.Event) -> None:
        async with client.lease("i1", "s"):
            entered.set()
            await asyncio.sleep(60)

    async def run() -> None:
        async with make(async_transport) as client:
            entered = asyncio.Event()
            task = asyncio.create_task(hold(client, entered))
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())
    assert [r.method for r in recorder.requests] == ["POST", "DELETE"]


def test_async_namespaces(recorder: Any, async_transport: httpx.MockTransport) -> None:
    recorder.json(200, {"status": "ok", "next_heartbeat_at": "2030-01-01T00:00:00"})

    async def run() -> dict[str, Any]:
        async with make(async_transport) as client:
            return await client.agents.heartbeat("a1", current_load=2)

    assert asyncio.run(run())["status"] == "ok"
    assert recorder.last.url.path == "/api/v1/agents/a1/heartbeat"
    assert recorder.body() == {"status": "active", "current_load": 2, "tasks_in_progress": []}


def test_transport_kind_is_checked() -> None:
    class SyncOnly(httpx.BaseTransport):
        pass

    with pytest.raises(TypeError, match="async transport"):
        AsyncOpenIntentClient("http://x", transport=SyncOnly())
