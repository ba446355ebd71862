"""Proves that openintent-core + openintent-client alone make a working client install.

Run by ``nox -s isolation`` with ``python -I`` inside a fresh environment that holds only
the core and client wheels and their declared dependencies. It checks that

* ``from openintent import Intent, OpenIntentClient`` works (or the names given as
  arguments), loaded from that environment and not from a source tree;
* the server stack cannot be imported: a client that needs it (an import, or a
  dependency declared by mistake) makes one of these imports succeed;
* no other distribution's part of the ``openintent`` namespace is present;
* every module of ``openintent.client`` imports, and both clients make real requests
  (to a stdlib HTTP server on loopback: discovery, and an intent created and parsed).

Prints one line per check and exits 1 if any failed.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import pkgutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REQUIRED_NAMES = ("Intent", "OpenIntentClient", "AsyncOpenIntentClient", "SSEStream")
SERVER_STACK = ("litestar", "piccolo", "granian", "aiosqlite", "asyncpg")
OTHER_PORTIONS = ("openintent.server", "openintent.agents", "openintent.adapters")


def _inside_env(path: str) -> bool:
    return Path(path).resolve().is_relative_to(Path(sys.prefix).resolve())


def check_names(names: tuple[str, ...]) -> list[str]:
    failures = []
    openintent = importlib.import_module("openintent")
    for portion in openintent.__path__:
        if not _inside_env(portion):
            failures.append(f"openintent is loaded from {portion}, outside {sys.prefix}")
    for name in names:
        try:
            # Same lookup as `from openintent import <name>` (module __getattr__ included).
            getattr(openintent, name)
        except (ImportError, AttributeError) as exc:
            failures.append(f"from openintent import {name}: {type(exc).__name__}: {exc}")
        else:
            print(f"ok    from openintent import {name}")
    return failures


def check_absent() -> list[str]:
    failures = []
    for module in SERVER_STACK:
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # present, but broken: not what we are testing
                failures.append(f"import {module}: unexpected {exc!r}")
            else:
                print(f"ok    import {module} fails: {exc}")
        else:
            failures.append(f"import {module} succeeded ({found.__file__})")
    for portion in OTHER_PORTIONS:
        if importlib.util.find_spec(portion) is not None:
            failures.append(f"find_spec({portion!r}) is not None: that distribution is installed")
        else:
            print(f"ok    find_spec({portion!r}) is None")
    return failures


class _Answers(BaseHTTPRequestHandler):
    """Just enough of the protocol for one discovery and one intent creation."""

    def _send(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/.well-known/openintent.json":
            self._send({"version": "probe"})
        else:
            self._send({"detail": "not found"}, 404)

    def do_POST(self) -> None:
        sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        intent = {"id": "i-1", "title": sent["title"], "version": 1, "status": "draft",
                  "state": sent.get("state", {}), "unknown_key": True}  # fmt: skip
        self._send(intent, 201)

    def log_message(self, *args: Any) -> None:
        pass


def check_client_works() -> list[str]:
    failures = []
    client_package = importlib.import_module("openintent.client")
    for module in pkgutil.walk_packages(client_package.__path__, "openintent.client."):
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            failures.append(f"import {module.name}: {exc!r}")
    importlib.import_module("openintent.streaming")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    from openintent.client import AsyncOpenIntentClient, OpenIntentClient

    async def async_round_trip() -> str:
        async with AsyncOpenIntentClient(base_url, "key", "probe") as client:
            return (await client.create_intent("async probe")).title

    try:
        with OpenIntentClient(base_url, "key", "probe") as client:
            client.discover()
            titles = [client.create_intent("sync probe").title, asyncio.run(async_round_trip())]
    except Exception as exc:
        failures.append(f"client round trip: {type(exc).__name__}: {exc}")
    else:
        if titles != ["sync probe", "async probe"]:
            failures.append(f"client round trip parsed {titles}")
        else:
            print("ok    both clients: requests sent, answers parsed")
    finally:
        server.shutdown()
        server.server_close()
    return failures


def main(argv: list[str]) -> int:
    names = tuple(argv) or REQUIRED_NAMES
    failures = check_names(names) + check_absent() + check_client_works()
    for failure in failures:
        print(f"FAIL  {failure}")
    verdict = "FAILED" if failures else "passed"
    print(f"isolation probe {verdict}: {len(failures)} failure(s) in {sys.prefix}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
