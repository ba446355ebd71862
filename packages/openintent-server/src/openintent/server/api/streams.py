"""RFC-0006 SSE streams on both path families.

Every message carries ``id: <seq>``; a client that reconnects with ``Last-Event-ID``
gets what it missed from the stored stream, then live messages, each exactly once.
The subscription is opened before the response starts, so a client that has seen the
response headers will see every later write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request, get
from litestar.params import FromPath

from openintent.server import channels
from openintent.server.api.base import ApiController
from openintent.server.bus import StreamMessage, Subscription
from openintent.server.http.sse import PING, EventStream, encode_frame
from openintent.server.store.database import Database

__all__ = ["StreamController"]

Req = Request[Any, Any, Any]
REPLAY_BATCH = 500


def _frame(message: StreamMessage) -> bytes:
    if message.frame is None:
        message.frame = encode_frame(message.seq, message.name, message.data)
    return message.frame


async def _frames(
    db: Database, sub: Subscription, cursor: int, ping: float
) -> AsyncGenerator[bytes, None]:
    try:
        while not sub.ended:
            if sub.overflowed:
                # Fell behind: drop the queue and read the gap from the table.
                sub.overflowed = False
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                while batch := await db.stream_after(sorted(sub.channels), cursor, REPLAY_BATCH):
                    cursor = batch[-1].seq
                    yield b"".join(_frame(message) for message in batch)
                continue
            waiting: list[StreamMessage | None] = []
            if sub.queue.empty():
                try:
                    waiting.append(await asyncio.wait_for(sub.queue.get(), ping))
                except TimeoutError:
                    yield PING
                    continue
            while not sub.queue.empty():  # whatever else is queued goes out in one chunk
                waiting.append(sub.queue.get_nowait())
            chunk = []
            for message in waiting:
                if message is None:  # the server is shutting down
                    break
                if message.seq > cursor:
                    cursor = message.seq
                    chunk.append(_frame(message))
            if chunk:
                yield b"".join(chunk)
    finally:
        sub.close()


async def _open(request: Req, channel_names: list[str]) -> EventStream:
    db: Database = request.app.state.db
    sub = db.bus.subscribe(channel_names)
    last = request.headers.get("last-event-id", "").strip()
    # ASCII digits only ("²" is a digit to str.isdigit) and within a 64-bit seq.
    if last.isascii() and last.isdigit() and len(last) <= 18:
        # Replay what was missed; live messages queue up meanwhile and are de-duplicated.
        cursor = int(last)
        sub.overflowed = True
    else:
        cursor = await db.last_stream_seq()
    ping = request.app.state.config.sse_ping_interval
    return EventStream(_frames(db, sub, cursor, ping))


class StreamController(ApiController):
    path = "/api/v1"
    tags = ["subscriptions"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/subscribe/intents/{intent_id:str}")
    async def intent_stream(self, request: Req, intent_id: FromPath[str]) -> EventStream:
        return await _open(request, [channels.intent(intent_id)])

    @get("/subscribe/portfolios/{portfolio_id:str}")
    async def portfolio_stream(self, request: Req, portfolio_id: FromPath[str]) -> EventStream:
        return await _open(request, [channels.portfolio(portfolio_id)])

    @get("/subscribe/agents/{agent_id:str}")
    async def agent_stream(self, request: Req, agent_id: FromPath[str]) -> EventStream:
        return await _open(request, [channels.agent(agent_id)])

    @get("/intents/{intent_id:str}/subscribe")
    async def intent_runtime_stream(self, request: Req, intent_id: FromPath[str]) -> EventStream:
        return await _open(request, [channels.runtime_intent(intent_id)])

    @get("/portfolios/{portfolio_id:str}/subscribe")
    async def portfolio_runtime_stream(
        self, request: Req, portfolio_id: FromPath[str]
    ) -> EventStream:
        return await _open(request, [channels.runtime_portfolio(portfolio_id)])

    @get("/agents/{agent_id:str}/subscribe")
    async def agent_runtime_stream(self, request: Req, agent_id: FromPath[str]) -> EventStream:
        return await _open(request, [channels.runtime_agent(agent_id)])
