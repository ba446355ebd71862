"""Base class of every authenticated controller."""

from __future__ import annotations

from litestar import Controller

from openintent.server.http.auth import require_api_key

__all__ = ["ApiController"]


class ApiController(Controller):
    guards = [require_api_key]  # noqa: RUF012 - litestar reads the class attribute
