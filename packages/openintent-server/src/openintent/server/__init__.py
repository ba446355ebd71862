"""OpenIntent protocol server: ``OpenIntentServer``, ``ServerConfig``, ``create_app``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from openintent.server.app import create_app
from openintent.server.config import ServerConfig
from openintent.server.runner import OpenIntentServer
from openintent.server.store.database import Database

try:
    __version__ = version("openintent-server")
except PackageNotFoundError:  # pragma: no cover - source tree without metadata
    __version__ = "0.0.0"

__all__ = ["Database", "OpenIntentServer", "ServerConfig", "create_app"]
