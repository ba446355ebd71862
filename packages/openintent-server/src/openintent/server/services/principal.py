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
        """The name written on events, leases and records this caller creates.

        The acting agent (``X-Agent-ID``) when the caller names one, else the key as the
        reference does. Naming the agent keeps one caller's API key out of what other
        callers can read; ownership checks still compare keys (see ``key``).
        """
        return self.agent_id or self.key

    def fallback(self, value: str | None) -> str:
        """A body's actor field, else ``X-Agent-ID``, else the key (spec README C3)."""
        return value or self.agent_id or self.key
