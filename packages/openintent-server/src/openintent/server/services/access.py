"""Rules of the access area (not built yet)."""

from __future__ import annotations

from openintent.server.services import Services

__all__ = ["install"]


def install(services: Services) -> None:
    return None
