"""Integration fixtures: our server as a real process, and our clients driving it.

``ours`` is one server process for the session (granian on a loopback port) over a fresh
database: a SQLite file, or a new PostgreSQL database when ``OPENINTENT_TEST_PG_URL`` is
set. ``api`` is parametrized over the two clients: the sync client itself, or the async
client behind :class:`Blocking`, which runs every call on one event loop thread so that a
test body reads the same for both.

``api`` records every method the tests call through it (``CALLED``, per mode) once the
server has answered; ``test_integration_client_ours.py`` checks at its end that every
public method of both clients and of their namespaces was called that way.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.client._endpoint import Dispatcher
from openintent.exceptions import OpenIntentError
from openintent.server.testing import ServerProcess, fresh_database_url

T = TypeVar("T")

KEYS = ("dev-user-key", "agent-research-key", "agent-synth-key")
CALL_TIMEOUT = 60.0


class LoopThread:
    """One asyncio loop on a daemon thread; ``run(coro)`` blocks until it is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, awaitable: Awaitable[T], timeout: float = CALL_TIMEOUT) -> T:
        async def wrapper() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Any:
        """Start ``coro`` on the loop; returns its ``concurrent.futures.Future``."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Blocking:
    """A view of an async client (or one of its namespaces) whose calls block.

    Awaitable results are awaited on the loop thread; anything else (streams, context
    managers) is returned as is, for tests that drive it on the loop themselves.
    """

    def __init__(self, target: Any, loop: LoopThread) -> None:
        self._target = target
        self._loop = loop

    @property
    def target(self) -> Any:
        """The wrapped async object, for tests that drive it on the loop themselves."""
        return self._target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, Dispatcher):
            return Blocking(value, self._loop)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            return self._loop.run(result) if inspect.isawaitable(result) else result

        return call


@pytest.fixture(scope="session")
def ours() -> Iterator[ServerProcess]:
    with fresh_database_url() as url, ServerProcess(url, api_keys=",".join(KEYS)) as srv:
        yield srv


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def sync_client(ours: ServerProcess) -> Iterator[OpenIntentClient]:
    with OpenIntentClient(ours.base_url, KEYS[0], "it-agent") as client:
        yield client


@pytest.fixture(scope="session")
def async_client(ours: ServerProcess, loop_thread: LoopThread) -> Iterator[AsyncOpenIntentClient]:
    client = AsyncOpenIntentClient(ours.base_url, KEYS[0], "it-agent")
    yield client
    loop_thread.run(client.close())


@pytest.fixture(scope="session")
def other_client(ours: ServerProcess) -> Iterator[OpenIntentClient]:
    """A second principal (another API key)."""
    with OpenIntentClient(ours.base_url, KEYS[1], "other-agent") as client:
        yield client


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: ``(mode, name)`` of each client method called through ``api`` that the server answered
#: (a result, or an error with an HTTP status); ``name`` is ``"namespace.method"`` for the
#: sub-API views. Streams, queues and lease context managers count when created.
CALLED: set[tuple[str, str]] = set()
#: The subset of ``CALLED`` whose call returned a result (no error).
SUCCEEDED: set[tuple[str, str]] = set()


class Recording:
    """``api`` as the tests see it: the client (or a namespace) that fills ``CALLED``."""

    def __init__(self, target: Any, mode: str, prefix: str = "") -> None:
        self._target = target
        self._mode = mode
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name == "target":
            raise AttributeError("call the client through api so that the call is recorded")
        value = getattr(self._target, name)
        if isinstance(value, Dispatcher | Blocking):  # a namespace view
            return Recording(value, self._mode, f"{self._prefix}{name}.")
        if not callable(value):
            return value
        key = (self._mode, self._prefix + name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = value(*args, **kwargs)
            except OpenIntentError as exc:
                if exc.status_code is not None:  # the server answered
                    CALLED.add(key)
                raise
            CALLED.add(key)
            SUCCEEDED.add(key)
            return result

        return call


def client_for(mode: str, base_url: str, api_key: str, agent_id: str, loop: LoopThread) -> Any:
    """A new client of ``mode`` (async: made blocking), recorded like ``api``."""
    if mode == "sync":
        return Recording(OpenIntentClient(base_url, api_key, agent_id), mode)
    return Recording(Blocking(AsyncOpenIntentClient(base_url, api_key, agent_id), loop), mode)


@pytest.fixture
def api(
    mode: str,
    sync_client: OpenIntentClient,
    async_client: AsyncOpenIntentClient,
    loop_thread: LoopThread,
) -> Any:
    """The client under test: the sync client, or the async one made blocking."""
    target = sync_client if mode == "sync" else Blocking(async_client, loop_thread)
    return Recording(target, mode)


@pytest.fixture
def called() -> set[tuple[str, str]]:
    return CALLED


@pytest.fixture
def succeeded() -> set[tuple[str, str]]:
    return SUCCEEDED


@pytest.fixture
def new_api(mode: str, ours: ServerProcess, loop_thread: LoopThread) -> Iterator[Any]:
    """A factory of fresh clients of ``mode`` with their own pool, recorded like ``api``."""
    made: list[Any] = []

    def make(agent_id: str, api_key: str = KEYS[0]) -> Any:
        made.append(client_for(mode, ours.base_url, api_key, agent_id, loop_thread))
        return made[-1]

    yield make
    for client in made:
        client.close()  # closing twice is harmless


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The coverage checks read ``CALLED``: they run after every other test."""
    last = [i for i in items if i.name.startswith("test_every_public_method")]
    items[:] = [i for i in items if i not in last] + last


@pytest.fixture
def c(sync_client: OpenIntentClient) -> OpenIntentClient:
    """The sync client, for setting up what the method under test needs."""
    return sync_client


@pytest.fixture
def on_loop(loop_thread: LoopThread) -> Callable[[Awaitable[Any]], Any]:
    return loop_thread.run
