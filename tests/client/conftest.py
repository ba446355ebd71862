"""Client test fixtures: a recording mock transport and a restartable loopback SSE server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Answers requests from a queue of responses (or a function) and keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response | Exception | Handler] = []

    def reply(self, *items: httpx.Response | Exception | Handler) -> Recorder:
        self.responses.extend(items)
        return self

    def json(self, status: int = 200, body: Any = None) -> Recorder:
        return self.reply(httpx.Response(status, json=body))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.responses:
            return httpx.Response(200, json={})
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            # A fresh copy: a response object is consumed by the client that reads it.
            return httpx.Response(item.status_code, headers=item.headers, content=item.content)
        return item(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def transport(recorder: Recorder) -> httpx.MockTransport:
    return httpx.MockTransport(recorder)


@pytest.fixture
def async_transport(recorder: Recorder) -> httpx.MockTransport:
    async def handle(request: httpx.Request) -> httpx.Response:
        return recorder(request)

    return httpx.MockTransport(handle)


# -- a loopback SSE server that keeps its event log across restarts --------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EventLog:
    """The "database" of the fake server: survives server restarts."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.cond = threading.Condition()

    def publish(self, name: str, data: dict[str, Any]) -> int:
        with self.cond:
            event_id = len(self.events) + 1
            self.events.append((event_id, name, data))
            self.cond.notify_all()
            return event_id


class FakeSSEServer:
    """Serves ``/api/v1/subscribe/intents/<id>`` from an :class:`EventLog`.

    Replays after ``Last-Event-ID`` — inclusively when ``replay_inclusive`` (a sloppy
    server the client must de-duplicate). ``missing_paths`` answer 404; ``status`` forces
    another status for every stream request. ``restart()`` drops every connection and
    listens again on the same port.
    """

    def __init__(self) -> None:
        self.log = EventLog()
        self.port = _free_port()
        self.replay_inclusive = False
        self.missing_paths: set[str] = set()
        self.status = 200
        self.retry_ms: int | None = None
        self.seen_headers: list[dict[str, str]] = []
        self._generation = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        owner = self
        generation = self._generation

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path in owner.missing_paths or owner.status != 200:
                    status = 404 if self.path in owner.missing_paths else owner.status
                    body = json.dumps({"detail": "nope"}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.close_connection = True  # a stream has no length: end it by closing
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                last = int(self.headers.get("Last-Event-ID") or 0)
                cursor = last - 1 if (owner.replay_inclusive and last) else last
                try:
                    if owner.retry_ms is not None:
                        self.wfile.write(f"retry: {owner.retry_ms}\n\n".encode())
                    while owner._generation == generation:
                        with owner.log.cond:
                            pending = owner.log.events[cursor:]
                            if not pending:
                                owner.log.cond.wait(0.05)
                                pending = owner.log.events[cursor:]
                        for event_id, name, data in pending:
                            if owner._generation != generation:
                                return
                            frame = f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n"
                            self.wfile.write(frame.encode())
                            cursor = event_id
                        if not pending:
                            self.wfile.write(b": ping\n\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._generation += 1  # ends every open stream handler
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        time.sleep(0.1)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def sse_server() -> Iterator[FakeSSEServer]:
    server = FakeSSEServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
