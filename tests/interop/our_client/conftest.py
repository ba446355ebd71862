"""Servers for our client's interop runs: each fixture yields a base URL and an API key.

``server`` is parametrized over the servers listed in ``SERVERS``: the reference release
(openintent 0.17.0, started from the virtualenv named by ``OPENINTENT_REF_PYTHON``) and
our own server (``openintent.server``, a real granian process on a loopback port over a
fresh database: a SQLite file, or a new PostgreSQL database when
``OPENINTENT_TEST_PG_URL`` is set).

``client`` is parametrized over our two clients: the sync one, or the async one driven
from a loop thread (``Traced``), so every shared test runs through both. ``USED``
records the methods the server answered, per client, for the coverage test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.client._endpoint import Dispatcher
from openintent.exceptions import OpenIntentError
from openintent.streaming import AsyncEventQueue, AsyncSSEStream, SSEEvent

T = TypeVar("T")

REF_KEYS = ("dev-user-key", "agent-research-key", "agent-synth-key")


@dataclass(frozen=True)
class ServerInfo:
    name: str
    base_url: str
    api_key: str
    other_key: str  # a second principal, for conflicts between holders


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reference server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/.well-known/openintent.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"reference server did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def reference_server() -> Iterator[ServerInfo]:
    python = os.environ.get("OPENINTENT_REF_PYTHON")
    if not python:
        pytest.skip(
            "OPENINTENT_REF_PYTHON is not set: it must name the python of a virtualenv "
            'holding "openintent[server]==0.17.0" (nox -s interop sets it)'
        )
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="oi-ref-") as tmp:
        log = Path(tmp) / "server.log"
        env = {
            **os.environ,
            "OPENINTENT_API_KEYS": ",".join(REF_KEYS),
            "DATABASE_URL": f"sqlite:///{tmp}/ref.db",
        }
        cmd = [python, "-m", "openintent.server", "--host", "127.0.0.1", "--port", str(port),
               "--database-url", f"sqlite:///{tmp}/ref.db", "--log-level", "warning"]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                _wait_until_up(base_url, proc, log)
                yield ServerInfo("reference", base_url, REF_KEYS[0], REF_KEYS[1])
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


@pytest.fixture(scope="session")
def ours_server() -> Iterator[ServerInfo]:
    from openintent.server.testing import ServerProcess, fresh_database_url

    with fresh_database_url() as url, ServerProcess(url, api_keys=",".join(REF_KEYS)) as srv:
        yield ServerInfo("ours", srv.base_url, REF_KEYS[0], REF_KEYS[1])


SERVERS = ["reference", "ours"]

# Tests of RFCs outside our server's spec (spec README: RFC-0018..0026 have no file;
# our discovery lists RFC-0001..0017 only): they fail with 404 on our server.
OURS_NOT_SERVED: dict[str, str] = {
    "test_identity_and_verifiable_logs": "RFC-0018 identity and RFC-0019 logs are not served",
    "test_channels_and_messages": "RFC-0021 messaging channels are not served",
    "test_federation": "RFC-0022 federation is not served",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        callspec = getattr(item, "callspec", None)
        if not item.path.is_relative_to(here) or callspec is None:
            continue
        if callspec.params.get("server") != "ours":
            continue
        name = getattr(item, "originalname", item.name)
        reason = OURS_NOT_SERVED.get(name)
        if reason:
            from openintent.exceptions import NotFoundError

            item.add_marker(pytest.mark.xfail(reason=reason, raises=NotFoundError, strict=True))
    # The coverage test reads what the others recorded: it runs last.
    last = [i for i in items if i.path.is_relative_to(here) and i.name.startswith("test_every")]
    items[:] = [i for i in items if i not in last] + last


@pytest.fixture(scope="session", params=SERVERS)
def server(request: pytest.FixtureRequest) -> ServerInfo:
    info: ServerInfo = request.getfixturevalue(f"{request.param}_server")
    return info


#: ``(server, mode, name)`` of each client method a test called and the server answered (a
#: result, or an error with an HTTP status); ``name`` is ``"namespace.method"`` for the
#: sub-API views. Streams, queues and lease context managers count when created.
USED: set[tuple[str, str, str]] = set()
#: The subset of ``USED`` whose call returned a result (no error).
SUCCEEDED: set[tuple[str, str, str]] = set()


class LoopThread:
    """One asyncio loop on a daemon thread; ``run(coro)`` blocks until it is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def submit(self, awaitable: Awaitable[T]) -> concurrent.futures.Future[T]:
        async def wrapper() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop)

    def run(self, awaitable: Awaitable[T], timeout: float = 60.0) -> T:
        return self.submit(awaitable).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class BlockingStream:
    """An :class:`AsyncSSEStream` read as a blocking iterator (``stop()`` from any thread)."""

    def __init__(self, stream: AsyncSSEStream, loop: LoopThread) -> None:
        self._stream = stream
        self._loop = loop
        self._pending: concurrent.futures.Future[SSEEvent] | None = None

    def __iter__(self) -> Iterator[SSEEvent]:
        events = self._stream.__aiter__()
        try:
            while not self._stream.stopped:
                self._pending = self._loop.submit(anext(events))
                try:
                    yield self._pending.result()
                except (StopAsyncIteration, concurrent.futures.CancelledError):
                    return
        finally:
            # A cancelled read may still be unwinding on the loop; it ends the generator
            # itself, and aclose() then has nothing left to do.
            with contextlib.suppress(RuntimeError):
                self._loop.run(events.aclose())  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._loop.loop.call_soon_threadsafe(self._stream.stop)
        if self._pending is not None:
            self._pending.cancel()  # a quiet stream would only notice at the next ping


class BlockingQueue:
    """An :class:`AsyncEventQueue` used as a blocking ``with`` queue."""

    def __init__(self, queue: AsyncEventQueue, loop: LoopThread) -> None:
        self._queue = queue
        self._loop = loop

    def __enter__(self) -> BlockingQueue:
        self._loop.run(self._queue.__aenter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        self._loop.run(self._queue.__aexit__(*exc))

    def get(self, timeout: float | None = None) -> SSEEvent | None:
        return self._loop.run(self._queue.get(timeout))


class BlockingContext:
    """An async context manager (``lease()``) used with a plain ``with``."""

    def __init__(self, manager: AbstractAsyncContextManager[Any], loop: LoopThread) -> None:
        self._manager = manager
        self._loop = loop

    def __enter__(self) -> Any:
        return self._loop.run(self._manager.__aenter__())

    def __exit__(self, *exc: Any) -> bool | None:
        return self._loop.run(self._manager.__aexit__(*exc))


class Traced:
    """A client (or a namespace view) whose calls block and are recorded in ``USED``.

    For the async client every awaitable is awaited on the loop thread, and streams,
    queues and lease context managers are wrapped so that a test reads the same in
    both modes.
    """

    def __init__(
        self, target: Any, server: str, mode: str, loop: LoopThread, prefix: str = ""
    ) -> None:
        self._target = target
        self._server = server
        self._mode = mode
        self._loop = loop
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, Dispatcher):  # a namespace view
            return Traced(value, self._server, self._mode, self._loop, f"{self._prefix}{name}.")
        if not callable(value):
            return value
        key = (self._server, self._mode, self._prefix + name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = self._blocking(value(*args, **kwargs))
            except OpenIntentError as exc:
                if exc.status_code is not None:  # the server answered
                    USED.add(key)
                raise
            USED.add(key)
            SUCCEEDED.add(key)
            return result

        return call

    def _blocking(self, result: Any) -> Any:
        if inspect.isawaitable(result):
            return self._loop.run(result)
        if isinstance(result, AsyncSSEStream):
            return BlockingStream(result, self._loop)
        if isinstance(result, AsyncEventQueue):
            return BlockingQueue(result, self._loop)
        if isinstance(result, AbstractAsyncContextManager):
            return BlockingContext(result, self._loop)
        return result


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


@pytest.fixture
def used_methods() -> set[tuple[str, str, str]]:
    return USED


@pytest.fixture
def succeeded_methods() -> set[tuple[str, str, str]]:
    return SUCCEEDED


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(server: ServerInfo, mode: str, loop_thread: LoopThread) -> Iterator[Any]:
    """Our client of ``mode`` on ``server``; the async one is driven from the loop thread."""
    if mode == "sync":
        with OpenIntentClient(server.base_url, server.api_key, "interop-agent") as c:
            yield Traced(c, server.name, mode, loop_thread)
        return
    ac = AsyncOpenIntentClient(server.base_url, server.api_key, "interop-agent")
    try:
        yield Traced(ac, server.name, mode, loop_thread)
    finally:
        loop_thread.run(ac.close())


@pytest.fixture
def other_client(server: ServerInfo) -> Iterator[OpenIntentClient]:
    """A second principal (another API key), blocking."""
    with OpenIntentClient(server.base_url, server.other_key, "other-agent") as c:
        yield c


@pytest.fixture
def async_client(server: ServerInfo) -> AsyncOpenIntentClient:
    # Its connection pool opens inside the test's event loop; tests close it.
    return AsyncOpenIntentClient(server.base_url, server.api_key, "interop-agent")
