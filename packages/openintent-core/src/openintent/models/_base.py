"""Shared behaviour of protocol models: ``to_dict`` / ``from_dict`` through the codec."""

from __future__ import annotations

from typing import Any, Self

from openintent.core.converter import structure, to_dict

__all__ = ["WireModel"]


class WireModel:
    """Mixin for attrs models; the reference SDK's ``to_dict``/``from_dict`` names."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the protocol's wire keys."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Parse decoded JSON; unknown keys are ignored, bad values raise ``ValidationError``."""
        return structure(data, cls)
