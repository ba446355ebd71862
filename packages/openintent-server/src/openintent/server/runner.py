"""``OpenIntentServer``: serves the app with granian.

One worker (the default, and the only choice on SQLite) is served inside the calling
process, on its event loop: there is no supervisor process holding a second copy of
the interpreter and the application. Several workers run as granian worker processes
under a supervisor, each importing the application itself (``asgi.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING, Any

from openintent.server.config import ServerConfig

if TYPE_CHECKING:
    from granian.server.embed import Server as EmbeddedServer
    from litestar import Litestar

__all__ = ["OpenIntentServer"]

# Long-lived SSE responses would otherwise hold a graceful shutdown open indefinitely.
KILL_TIMEOUT_SECONDS = 5


class _DropExperimentalNotice(logging.Filter):
    """granian warns on every start that in-process serving is experimental; our own
    tests cover what we rely on (serving, SIGTERM with open streams, kill -9)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


class OpenIntentServer:
    """``OpenIntentServer(config=ServerConfig(...)).run()``; the reference's keyword form
    ``OpenIntentServer(host=..., port=..., database_url=..., api_keys=...)`` works too."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        database_url: str | None = None,
        api_keys: Any = None,
        *,
        config: ServerConfig | None = None,
        **overrides: Any,
    ) -> None:
        explicit = {"host": host, "port": port, "database_url": database_url, "api_keys": api_keys}
        explicit.update(overrides)
        if config is None:
            config = ServerConfig.from_env(**explicit)
        else:
            changes = {k: v for k, v in explicit.items() if v is not None}
            if changes:
                import attrs

                config = attrs.evolve(config, **changes)
        self.config = config
        self._app: Litestar | None = None

    @property
    def app(self) -> Litestar:
        if self._app is None:
            from openintent.server.app import create_app

            self._app = create_app(self.config)
        return self._app

    def run(self) -> None:
        """Serve until interrupted (SIGINT/SIGTERM); blocks."""
        if self.config.workers == 1:
            import uvloop

            uvloop.run(self._serve_until_signalled())
        else:
            self._run_worker_processes()

    async def run_async(self) -> None:
        """Serve inside the running event loop until cancelled (or :meth:`run`'s signals)."""
        server = self._embedded()
        try:
            await server.serve()
        except asyncio.CancelledError:
            await server.shutdown()
            raise

    async def _serve_until_signalled(self) -> None:
        server = self._embedded()
        from openintent.server.app import freeze_startup_objects

        freeze_startup_objects()

        def stop() -> None:
            # Open SSE streams end first (clients resume with Last-Event-ID), so the
            # graceful stop only waits for ordinary requests.
            self.app.state.db.bus.end_streams()
            server.stop()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        try:
            await server.serve()
        except TimeoutError:
            # granian gave up waiting for in-flight requests after KILL_TIMEOUT_SECONDS.
            logging.getLogger("openintent.server").warning(
                "requests still running %ss after the stop signal were cut off",
                KILL_TIMEOUT_SECONDS,
            )

    def _embedded(self) -> EmbeddedServer:
        from granian.constants import Interfaces
        from granian.log import LogLevels
        from granian.server.embed import Server

        server = Server(
            self.app,
            address=self.config.host,
            port=self.config.port,
            interface=Interfaces.ASGI,
            log_level=LogLevels(self.config.log_level),
        )
        server.workers_kill_timeout = KILL_TIMEOUT_SECONDS
        logging.getLogger("_granian").addFilter(_DropExperimentalNotice())
        return server

    def _run_worker_processes(self) -> None:
        from granian.constants import Interfaces, Loops
        from granian.log import LogLevels
        from granian.server import Server

        os.environ.update(self.config.to_env())
        server = Server(
            "openintent.server.asgi:app_from_env",
            address=self.config.host,
            port=self.config.port,
            interface=Interfaces.ASGI,
            workers=self.config.workers,
            loop=Loops.uvloop,
            log_level=LogLevels(self.config.log_level),
            workers_kill_timeout=KILL_TIMEOUT_SECONDS,
            factory=True,
        )
        server.serve()
