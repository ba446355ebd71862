"""Who is acting: the API key's identity, and the agent it says it acts for."""

from __future__ import annotations

import attrs

__all__ = ["Principal"]


@attrs.frozen
class Principal:
    """``key`` is the principal (the reference uses the key string as identity);
    ``agent_id`` comes from ``X-Agent-ID`` when the caller sends it."""

    key: str
    agent_id: str | None = None

    @property
    def actor(self) -> str:
        """The name written on server-generated events and leases (reference: the key)."""
        return self.key

    def fallback(self, value: str | None) -> str:
        """A body's actor field, else ``X-Agent-ID``, else the key (spec README C3)."""
        return value or self.agent_id or self.key
