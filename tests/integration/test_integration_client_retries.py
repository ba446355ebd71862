"""The client's retry rule against real server processes, for the sync and async client.

The rule (``openintent.client._transport``): a transport failure is retried when the
request never reached the server (connection refused) or when repeating it is harmless
(GET, or a create carrying an ``Idempotency-Key``); a POST that may have reached the
server is never repeated blindly. HTTP error answers are never retried.

The transports here are httpx's real ones, wrapped to count attempts and, where a test
says so, to drop the server's answer after the server has handled the request (a
connection lost on the way back).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.exceptions import NotFoundError
from openintent.server.testing import ServerProcess, free_port

KEYS = "dev-user-key,agent-research-key,agent-synth-key"
KEY = "dev-user-key"


class Faults:
    """Counts attempts; loses the answers to the first ``lose`` requests of ``method``."""

    def __init__(self, method: str | None = None, lose: int = 1) -> None:
        self.method = method
        self.lose = lose
        self.attempts: list[httpx.Request] = []
        self.failures: list[Exception] = []

    def _deliver(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method == self.method and self.lose > 0:
            self.lose -= 1
            error = httpx.ReadError("connection lost after the server answered", request=request)
            self.failures.append(error)
            raise error
        return response


class SyncFaults(Faults, httpx.BaseTransport):
    def __init__(self, method: str | None = None, lose: int = 1) -> None:
        super().__init__(method, lose)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request)
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError as exc:
            self.failures.append(exc)
            raise
        response.read()
        response.close()
        return self._deliver(request, response)

    def close(self) -> None:
        self.inner.close()


class AsyncFaults(Faults, httpx.AsyncBaseTransport):
    def __init__(self, method: str | None = None, lose: int = 1) -> None:
        super().__init__(method, lose)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            self.failures.append(exc)
            raise
        await response.aread()
        await response.aclose()
        return self._deliver(request, response)

    async def aclose(self) -> None:
        await self.inner.aclose()


Call = Callable[..., Any]


@pytest.fixture
def client_with(mode: str, loop_thread: Any) -> Iterator[Callable[..., tuple[Call, Faults]]]:
    """``client_with(base_url, method=None, lose=1, **options)`` -> (``call``, faults).

    ``call("get_intent", id)`` runs the method on a fresh client of ``mode`` and returns
    its result (the async client's coroutine is run on the loop thread).
    """
    closers: list[Callable[[], Any]] = []

    def make(
        base_url: str, method: str | None = None, lose: int = 1, **options: Any
    ) -> tuple[Call, Faults]:
        if mode == "sync":
            faults: Faults = SyncFaults(method, lose)
            sync_client = OpenIntentClient(
                base_url, KEY, "retry-agent", transport=faults, **options
            )
            closers.append(sync_client.close)
            return (lambda name, *a, **kw: getattr(sync_client, name)(*a, **kw)), faults
        faults = AsyncFaults(method, lose)
        async_client = AsyncOpenIntentClient(
            base_url, KEY, "retry-agent", transport=faults, **options
        )
        closers.append(lambda: loop_thread.run(async_client.close()))
        return (
            lambda name, *a, **kw: loop_thread.run(getattr(async_client, name)(*a, **kw))
        ), faults

    yield make
    for close in closers:
        close()


def _titled(c: OpenIntentClient, title: str) -> list[str]:
    return [i.id for i in c.list_intents(limit=1000) if i.title == title]


def test_get_is_retried_until_the_server_answers(
    ours: ServerProcess, c: OpenIntentClient, client_with: Any
) -> None:
    """Connection refused: the GET waits out the back-off until a server listens."""
    intent = c.create_intent(f"late-{uuid.uuid4().hex[:8]}")
    late = ServerProcess(ours.database_url, api_keys=KEYS, port=free_port())
    call, faults = client_with(late.base_url, max_retries=12, retry_backoff=0.25)
    started: list[ServerProcess] = []
    starter = threading.Timer(0.3, lambda: started.append(late.start()))
    starter.start()
    try:
        fetched = call("get_intent", intent.id)
    finally:
        starter.join()
        if started:
            late.stop()
    assert fetched.id == intent.id
    assert faults.failures, "the first attempt should have found no server"
    assert all(isinstance(f, httpx.ConnectError) for f in faults.failures)
    assert len(faults.attempts) == len(faults.failures) + 1


def test_connection_refused_gives_up_after_max_retries(client_with: Any) -> None:
    call, faults = client_with(f"http://127.0.0.1:{free_port()}", max_retries=2, retry_backoff=0)
    with pytest.raises(httpx.ConnectError):
        call("get_intent", "anything")
    assert len(faults.attempts) == 3


def test_lost_get_answer_is_retried(
    ours: ServerProcess, c: OpenIntentClient, client_with: Any
) -> None:
    intent = c.create_intent(f"get-{uuid.uuid4().hex[:8]}")
    call, faults = client_with(ours.base_url, method="GET", retry_backoff=0.01)
    assert call("get_intent", intent.id).id == intent.id
    assert [r.method for r in faults.attempts] == ["GET", "GET"]


def test_lost_post_answer_is_not_retried_blindly(
    ours: ServerProcess, c: OpenIntentClient, client_with: Any
) -> None:
    """The POST reached the server: repeating it would create a second intent."""
    title = f"once-{uuid.uuid4().hex[:8]}"
    call, faults = client_with(ours.base_url, method="POST", retry_backoff=0.01)
    with pytest.raises(httpx.ReadError):
        call("create_intent", title)
    assert len(faults.attempts) == 1
    assert "Idempotency-Key" not in faults.attempts[0].headers
    assert len(_titled(c, title)) == 1  # it was created; the caller just never heard


def test_lost_post_answer_with_idempotency_key_is_retried_once_created(
    ours: ServerProcess, c: OpenIntentClient, client_with: Any
) -> None:
    title = f"keyed-{uuid.uuid4().hex[:8]}"
    call, faults = client_with(
        ours.base_url, method="POST", retry_backoff=0.01, idempotency_keys=True
    )
    intent = call("create_intent", title)
    first, retry = faults.attempts
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"]
    assert _titled(c, title) == [intent.id]


def test_http_errors_are_not_retried(ours: ServerProcess, client_with: Any) -> None:
    call, faults = client_with(ours.base_url, retry_backoff=0.01)
    with pytest.raises(NotFoundError):
        call("get_intent", "no-such-intent")
    assert len(faults.attempts) == 1
