"""``AsyncOpenIntentClient``: the asyncio client.

Everything protocol-related is inherited from :class:`ClientBase`; this class only
opens the ``httpx.AsyncClient`` pool, runs programs as coroutines and provides the
async context managers and SSE stream objects.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Self

import httpx

from openintent.client._base import ClientBase
from openintent.client._call import Program
from openintent.client._drive import drive_async
from openintent.client._endpoint import AsyncMode
from openintent.client._transport import AsyncTransport
from openintent.client.endpoints import leases
from openintent.models import IntentLease
from openintent.streaming import AsyncEventQueue, AsyncSSEStream

__all__ = ["AsyncOpenIntentClient"]


class AsyncOpenIntentClient(ClientBase[AsyncMode]):
    """Asyncio OpenIntent client; ``async with AsyncOpenIntentClient(...) as client:``."""

    _http: httpx.AsyncClient
    _transport: AsyncTransport

    def _open(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> None:
        async_transport = transport if isinstance(transport, httpx.AsyncBaseTransport) else None
        if transport is not None and async_transport is None:
            raise TypeError(
                "AsyncOpenIntentClient needs an async transport (httpx.AsyncBaseTransport)"
            )
        self._http = httpx.AsyncClient(transport=async_transport, **self._http_options())
        self._transport = AsyncTransport(self._http, self.options)

    def _run(self, program: Program[Any]) -> Any:
        return drive_async(self._transport.send, program)

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def lease(
        self, intent_id: str, scope: str, duration_seconds: int = 300
    ) -> AsyncIterator[IntentLease]:
        """Hold a lease on ``scope`` for the ``async with`` block; always released."""
        lease = await self._run(leases.acquire_lease(self, intent_id, scope, duration_seconds))
        try:
            yield lease
        finally:
            with contextlib.suppress(Exception):
                await self._run(leases.release_lease(self, intent_id, lease.id))

    # -- SSE (RFC-0006) ----------------------------------------------------------------

    def subscribe_sse(self, intent_id: str, **options: Any) -> AsyncSSEStream:
        """Events of one intent, as an async iterator; ``options`` go to the stream."""
        return AsyncSSEStream(
            client=self._http, **self._stream_args("intents", intent_id), **options
        )

    def subscribe_portfolio(self, portfolio_id: str, **options: Any) -> AsyncSSEStream:
        return AsyncSSEStream(
            client=self._http, **self._stream_args("portfolios", portfolio_id), **options
        )

    def subscribe_agent(self, agent_id: str | None = None, **options: Any) -> AsyncSSEStream:
        ident = agent_id or self.agent_id
        return AsyncSSEStream(client=self._http, **self._stream_args("agents", ident), **options)

    def create_event_queue(
        self,
        intent_id: str | None = None,
        portfolio_id: str | None = None,
        agent_id: str | None = None,
        maxsize: int = 100,
        **options: Any,
    ) -> AsyncEventQueue:
        """A not yet started :class:`AsyncEventQueue` (``start()`` needs a running loop)."""
        args = self._stream_args(*self._queue_target(intent_id, portfolio_id, agent_id))
        return AsyncEventQueue(AsyncSSEStream(client=self._http, **args, **options), maxsize)
