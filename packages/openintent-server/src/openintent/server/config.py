"""Server configuration: flags > ``OPENINTENT_*`` environment > defaults.

Deployments of the reference set ``OPENINTENT_API_KEYS`` and ``DATABASE_URL``; both keep
working, but an explicit argument always wins (the reference lets the environment
override the command line, which surprises operators).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["DEFAULT_API_KEYS", "DEFAULT_DATABASE_URL", "ServerConfig"]

DEFAULT_API_KEYS = frozenset({"dev-user-key", "agent-research-key", "agent-synth-key"})
DEFAULT_DATABASE_URL = "sqlite:///./openintent.db"
LOG_LEVELS = ("debug", "info", "warning", "error")


def _keys(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    keys = frozenset(k.strip() for k in value if k and k.strip())
    if not keys:
        raise ValueError("at least one API key is required")
    return keys


def _log_level(value: str) -> str:
    level = value.lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def _host_list(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(h.strip().lower() for h in value if h and h.strip())


def _positive(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


@attrs.define(kw_only=True)
class ServerConfig:
    """Everything the server process needs; usable as ``ServerConfig(port=..., ...)``."""

    host: str = "0.0.0.0"
    port: int = attrs.field(default=8000, validator=_positive)
    database_url: str = DEFAULT_DATABASE_URL
    api_keys: frozenset[str] = attrs.field(default=DEFAULT_API_KEYS, converter=_keys)
    cors_origins: list[str] = attrs.field(factory=lambda: ["*"])
    debug: bool = False
    log_level: str = attrs.field(default="info", converter=_log_level)
    workers: int = attrs.field(default=1, validator=_positive)
    protocol_version: str = "0.1"
    suspension_default_retry_policy: dict[str, Any] | None = None
    max_body_size: int = attrs.field(default=10 * 1024 * 1024, validator=_positive)
    sse_ping_interval: float = 15.0
    secret_key: str | None = None
    # RFC-0014 tool proxy: hosts (names, addresses or CIDR networks) it may call although
    # they are loopback/private; empty = public addresses only.
    tool_allow_hosts: frozenset[str] = attrs.field(default=frozenset(), converter=_host_list)
    # RFC-0015: episodic entries kept per agent before LRU eviction; 0 = unlimited.
    memory_episodic_capacity: int = attrs.field(default=1000, validator=attrs.validators.ge(0))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        """Defaults, then the environment, then explicit ``overrides`` (not ``None``)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        url = env.get("OPENINTENT_DATABASE_URL") or env.get("DATABASE_URL")
        if url:
            values["database_url"] = url
        if env.get("OPENINTENT_API_KEYS"):
            values["api_keys"] = env["OPENINTENT_API_KEYS"]
        if env.get("OPENINTENT_HOST"):
            values["host"] = env["OPENINTENT_HOST"]
        if env.get("OPENINTENT_PORT"):
            values["port"] = int(env["OPENINTENT_PORT"])
        if env.get("OPENINTENT_WORKERS"):
            values["workers"] = int(env["OPENINTENT_WORKERS"])
        if env.get("OPENINTENT_LOG_LEVEL"):
            values["log_level"] = env["OPENINTENT_LOG_LEVEL"]
        if env.get("OPENINTENT_DEBUG"):
            values["debug"] = env["OPENINTENT_DEBUG"].strip().lower() in ("1", "true", "yes")
        if env.get("OPENINTENT_CORS_ORIGINS"):
            values["cors_origins"] = [o.strip() for o in env["OPENINTENT_CORS_ORIGINS"].split(",")]
        if env.get("OPENINTENT_MAX_BODY_SIZE"):
            values["max_body_size"] = int(env["OPENINTENT_MAX_BODY_SIZE"])
        if env.get("OPENINTENT_SECRET_KEY"):
            values["secret_key"] = env["OPENINTENT_SECRET_KEY"]
        if env.get("OPENINTENT_TOOL_ALLOW_HOSTS"):
            values["tool_allow_hosts"] = env["OPENINTENT_TOOL_ALLOW_HOSTS"]
        if env.get("OPENINTENT_MEMORY_EPISODIC_CAPACITY"):
            values["memory_episodic_capacity"] = int(env["OPENINTENT_MEMORY_EPISODIC_CAPACITY"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes :meth:`from_env` rebuild this config in a worker."""
        env = {
            "OPENINTENT_DATABASE_URL": self.database_url,
            "OPENINTENT_API_KEYS": ",".join(sorted(self.api_keys)),
            "OPENINTENT_HOST": self.host,
            "OPENINTENT_PORT": str(self.port),
            "OPENINTENT_WORKERS": str(self.workers),
            "OPENINTENT_LOG_LEVEL": self.log_level,
            "OPENINTENT_DEBUG": "true" if self.debug else "false",
            "OPENINTENT_CORS_ORIGINS": ",".join(self.cors_origins),
            "OPENINTENT_MAX_BODY_SIZE": str(self.max_body_size),
        }
        if self.secret_key:
            env["OPENINTENT_SECRET_KEY"] = self.secret_key
        if self.tool_allow_hosts:
            env["OPENINTENT_TOOL_ALLOW_HOSTS"] = ",".join(sorted(self.tool_allow_hosts))
        env["OPENINTENT_MEMORY_EPISODIC_CAPACITY"] = str(self.memory_episodic_capacity)
        return env
