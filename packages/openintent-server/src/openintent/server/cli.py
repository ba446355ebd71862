"""``openintent-server``: flags > ``OPENINTENT_*`` environment > defaults."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from openintent.server.config import LOG_LEVELS, ServerConfig
from openintent.server.runner import OpenIntentServer

__all__ = ["config_from_args", "main"]


def _parser() -> argparse.ArgumentParser:
    from openintent.server import __version__

    p = argparse.ArgumentParser(
        prog="openintent-server", description="Run the OpenIntent Coordination Protocol server."
    )
    p.add_argument("--host", help="bind address (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument(
        "--database-url",
        help="sqlite:///path.db (default sqlite:///./openintent.db) or postgresql://user:pass@host/db",
    )
    p.add_argument("--api-keys", help="comma-separated accepted X-API-Key values")
    p.add_argument("--workers", type=int, help="worker processes (default 1)")
    p.add_argument("--log-level", choices=LOG_LEVELS, help="log level (default info)")
    p.add_argument("--max-body-size", type=int, help="largest accepted request body in bytes")
    p.add_argument("--secret-key", help="key that encrypts stored credentials")
    p.add_argument(
        "--tool-allow-hosts",
        metavar="HOSTS",
        help="comma-separated hosts, addresses or CIDR networks the tool proxy may call "
        "although they are loopback or private (default: public addresses only)",
    )
    p.add_argument(
        "--memory-episodic-capacity",
        type=int,
        metavar="N",
        help="episodic memory entries kept per agent before LRU eviction; 0 = unlimited "
        "(default 1000)",
    )
    p.add_argument("--debug", action="store_true", default=None, help="verbose errors in logs")
    p.add_argument("--version", action="version", version=f"openintent-server {__version__}")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> ServerConfig:
    """The configuration the command line names (flags over ``OPENINTENT_*`` over defaults)."""
    args = _parser().parse_args(argv)
    return ServerConfig.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        api_keys=args.api_keys,
        workers=args.workers,
        log_level=args.log_level,
        max_body_size=args.max_body_size,
        secret_key=args.secret_key,
        tool_allow_hosts=args.tool_allow_hosts,
        memory_episodic_capacity=args.memory_episodic_capacity,
        debug=args.debug,
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = config_from_args(argv)
    except (TypeError, ValueError) as exc:
        print(f"openintent-server: {exc}", file=sys.stderr)
        return 2
    if config.workers > 1 and config.database_url.startswith("sqlite"):
        print(
            "openintent-server: several workers need PostgreSQL (live streams are per process "
            "with SQLite); use --workers 1 or --database-url postgresql://…",
            file=sys.stderr,
        )
        return 2
    print(
        f"OpenIntent server {config.host}:{config.port} — database {config.database_url}\n"
        f"  API docs:  http://127.0.0.1:{config.port}/docs\n"
        f"  discovery: http://127.0.0.1:{config.port}/.well-known/openintent.json",
        flush=True,
    )
    OpenIntentServer(config=config).run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
