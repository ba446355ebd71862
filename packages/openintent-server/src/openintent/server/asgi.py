"""Entry point for granian worker processes: the config travels in the environment."""

from __future__ import annotations

from litestar import Litestar

from openintent.server.app import create_app, freeze_startup_objects
from openintent.server.config import ServerConfig

__all__ = ["app_from_env"]


def app_from_env() -> Litestar:
    app = create_app(ServerConfig.from_env())
    freeze_startup_objects()
    return app
