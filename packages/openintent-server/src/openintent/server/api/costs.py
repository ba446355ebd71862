"""Routes of the costs area (not built yet)."""

from __future__ import annotations

from typing import Any

__all__ = ["CONTROLLERS"]

CONTROLLERS: list[Any] = []
