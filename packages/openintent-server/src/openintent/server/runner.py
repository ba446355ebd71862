"""``OpenIntentServer``: runs the app under granian (one or more worker processes)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from litestar import Litestar

from openintent.server.app import create_app
from openintent.server.config import ServerConfig

__all__ = ["OpenIntentServer"]

# Long-lived SSE responses would otherwise hold a graceful shutdown open indefinitely.
KILL_TIMEOUT_SECONDS = 5


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
            self._app = create_app(self.config)
        return self._app

    def run(self) -> None:
        """Serve until interrupted (SIGINT/SIGTERM); blocks."""
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

    async def run_async(self) -> None:
        """Run inside an existing event loop (one process)."""
        import granian.server.embed as embed

        server = embed.Server(
            self.app, address=self.config.host, port=self.config.port, interface="asgi"
        )
        try:
            await server.serve()
        except asyncio.CancelledError:
            await server.shutdown()
            raise
