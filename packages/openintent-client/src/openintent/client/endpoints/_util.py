"""Small helpers shared by the endpoint definitions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from urllib.parse import quote

from openintent.core.converter import format_timestamp

__all__ = ["API", "api", "if_match", "iso", "value_of", "without_none"]

API = "/api/v1"


def api(*segments: object) -> str:
    """``/api/v1/<seg>/<seg>...`` with each segment percent-encoded (ids are free-form)."""
    return API + "".join("/" + quote(str(s), safe="") for s in segments)


def if_match(version: int) -> dict[str, str | None]:
    """The optimistic-concurrency header: a bare decimal integer (spec C6)."""
    return {"If-Match": str(int(version))}


def value_of(value: Any) -> Any:
    """The wire value of an enum member; plain strings pass through (README passes them)."""
    return value.value if isinstance(value, enum.Enum) else value


def iso(value: dt.datetime | str | None) -> str | None:
    """A timestamp for a request body: naive UTC ISO, as the reference server stores it."""
    if value is None or isinstance(value, str):
        return value
    return format_timestamp(value)


def without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
