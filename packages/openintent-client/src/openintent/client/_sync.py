"""``OpenIntentClient``: the blocking client.

Everything protocol-related is inherited from :class:`ClientBase`; this class only
opens the ``httpx.Client`` pool, runs programs synchronously and provides the
blocking context managers and SSE stream objects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Self

import httpx

from openintent.client._base import ClientBase
from openintent.client._call import Program
from openintent.client._drive import drive_sync
from openintent.client._endpoint import SyncMode
from openintent.client._transport import SyncTransport
from openintent.client.endpoints import leases
from openintent.models import IntentLease
from openintent.streaming import EventQueue, SSEStream

__all__ = ["OpenIntentClient"]


class OpenIntentClient(ClientBase[SyncMode]):
    """Blocking OpenIntent client; ``with OpenIntentClient(...) as client:`` closes the pool."""

    _http: httpx.Client
    _transport: SyncTransport

    def _open(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> None:
        sync_transport = transport if isinstance(transport, httpx.BaseTransport) else None
        if transport is not None and sync_transport is None:
            raise TypeError("OpenIntentClient needs a sync transport (httpx.BaseTransport)")
        self._http = httpx.Client(transport=sync_transport, **self._http_options())
        self._transport = SyncTransport(self._http, self.options)

    def _run(self, program: Program[Any]) -> Any:
        return drive_sync(self._transport.send, program)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def lease(
        self, intent_id: str, scope: str, duration_seconds: int = 300
    ) -> Iterator[IntentLease]:
        """Hold a lease on ``scope`` for the ``with`` block; always released, errors ignored."""
        lease = self._run(leases.acquire_lease(self, intent_id, scope, duration_seconds))
        try:
            yield lease
        finally:
            with contextlib.suppress(Exception):
                self._run(leases.release_lease(self, intent_id, lease.id))

    # -- SSE (RFC-0006) ----------------------------------------------------------------

    def subscribe_sse(self, intent_id: str, **options: Any) -> SSEStream:
        """Events of one intent; ``options`` go to :class:`SSEStream`."""
        return SSEStream(client=self._http, **self._stream_args("intents", intent_id), **options)

    def subscribe_portfolio(self, portfolio_id: str, **options: Any) -> SSEStream:
        return SSEStream(
            client=self._http, **self._stream_args("portfolios", portfolio_id), **options
        )

    def subscribe_agent(self, agent_id: str | None = None, **options: Any) -> SSEStream:
        """Events for an agent (default: this client's ``agent_id``)."""
        ident = agent_id or self.agent_id
        return SSEStream(client=self._http, **self._stream_args("agents", ident), **options)

    def create_event_queue(
        self,
        intent_id: str | None = None,
        portfolio_id: str | None = None,
        agent_id: str | None = None,
        maxsize: int = 100,
        **options: Any,
    ) -> EventQueue:
        """A not yet started :class:`EventQueue` on the first given stream (default: agent)."""
        args = self._stream_args(*self._queue_target(intent_id, portfolio_id, agent_id))
        url, headers = args.pop("url"), args.pop("headers")
        return EventQueue(url, headers, maxsize, client=self._http, **args, **options)
