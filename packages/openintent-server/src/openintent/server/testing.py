"""Helpers for tests of code that talks to an OpenIntent server.

``ServerProcess`` runs the real server (granian, a loopback port, its own database) in a
child process; ``fresh_database_url`` gives an empty SQLite file or, when
``OPENINTENT_TEST_PG_URL`` names a PostgreSQL server, a new empty database on it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
import httpx

__all__ = [
    "DEV_KEY",
    "SSEMessage",
    "ServerProcess",
    "free_port",
    "fresh_database_url",
    "iter_sse",
    "wait_until_ready",
]

DEV_KEY = "dev-user-key"


@attrs.frozen
class SSEMessage:
    event: str
    data: str
    id: str | None = None


def iter_sse(lines: Iterable[str]) -> Iterator[SSEMessage]:
    """Parse Server-Sent Events from decoded lines (comments and pings are skipped)."""
    event, data, last_id = "message", [], None
    for line in lines:
        if line == "":
            if data:
                yield SSEMessage(event=event, data="\n".join(data), id=last_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(
    base_url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server at {base_url} not ready after {timeout} s")


@contextlib.contextmanager
def fresh_database_url(directory: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """An empty database for one test: PostgreSQL when configured, else a SQLite file."""
    pg = os.environ.get("OPENINTENT_TEST_PG_URL")
    if not pg:
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            yield f"sqlite:///{Path(tmp) / 'openintent.db'}"
        return
    import asyncio

    import asyncpg

    name = f"oi_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(pg)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class ServerProcess:
    """``with ServerProcess(database_url) as srv: srv.base_url`` — a real server process."""

    def __init__(
        self,
        database_url: str,
        *,
        api_keys: str = "dev-user-key,agent-research-key,agent-synth-key",
        port: int | None = None,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_keys = api_keys
        self.workers = workers
        self.env = dict(env or {})
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> ServerProcess:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        env = {**os.environ, **self.env}
        for var in ("OPENINTENT_API_KEYS", "DATABASE_URL", "OPENINTENT_DATABASE_URL"):
            env.pop(var, None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openintent.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--database-url",
                self.database_url,
                "--api-keys",
                self.api_keys,
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
                *self.extra_args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            # Own process group: granian forks workers, and a crash (SIGKILL) of the
            # main process must take them along instead of leaving them serving.
            start_new_session=True,
        )
        try:
            wait_until_ready(self.base_url, proc=self.proc)
        except Exception as exc:
            self._kill_group()
            tail = self.log_tail()
            self.kill()
            raise RuntimeError(f"{exc}; server log:\n{tail}") from exc
        return self

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the server's stderr (for failure messages)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            return self.proc.wait()
        finally:
            self._kill_group()  # any worker that outlived its parent
            self._log.close()

    def kill(self) -> None:
        """SIGKILL to the server and its workers, as a crash of the host would."""
        if self.proc is not None:
            self._kill_group()
            self.proc.wait()
            self._log.close()

    def _kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
