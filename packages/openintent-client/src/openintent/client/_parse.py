"""Readers from decoded JSON to results, tolerant of both servers' list shapes.

The reference server answers some lists as bare arrays and others wrapped in an object
(``{"children": [...]}``); every list reader here accepts both. Unknown keys are left
to the models, which ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, Self, TypeVar

from openintent.exceptions import ValidationError

__all__ = ["items", "model", "models", "nothing", "raw", "raw_list"]


class _Model(Protocol):
    @classmethod
    def from_dict(cls, data: Any) -> Self: ...


ModelT = TypeVar("ModelT", bound=_Model)

# Keys some servers use for a page of results when the resource name is not the key.
_GENERIC_KEYS = ("items", "data", "results")


def items(data: Any, key: str) -> list[Any]:
    """The list in ``data``: a bare array, or the array under ``key`` of an object."""
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        for name in (key, *_GENERIC_KEYS):
            value = data.get(name)
            if isinstance(value, list):
                return value
    raise ValidationError(
        f"expected a list or an object with {key!r}, got {type(data).__name__}",
        errors=[f"unexpected list shape for {key!r}"],
    )


def model(cls: type[ModelT]) -> Callable[[Any], ModelT]:
    """Reader of one ``cls`` object."""
    return cls.from_dict


def models(cls: type[ModelT], key: str) -> Callable[[Any], list[ModelT]]:
    """Reader of a list of ``cls`` objects, bare or wrapped under ``key``."""

    def read(data: Any) -> list[ModelT]:
        return [cls.from_dict(item) for item in items(data, key)]

    return read


def raw(data: Any) -> dict[str, Any]:
    """The decoded object itself (``{}`` for an empty answer), as the reference returns it."""
    if data is None:
        return {}
    if isinstance(data, Mapping):
        return dict(data)
    raise ValidationError(f"expected an object, got {type(data).__name__}")


def raw_list(key: str) -> Callable[[Any], list[dict[str, Any]]]:
    """Reader of a list of plain objects, bare or wrapped under ``key``."""

    def read(data: Any) -> list[dict[str, Any]]:
        return [dict(item) if isinstance(item, Mapping) else item for item in items(data, key)]

    return read


def nothing(_: Any) -> None:
    """For calls whose answer carries nothing the caller needs."""
