"""Proves that openintent-core + openintent-client alone make a working client install.

Run by ``nox -s isolation`` with ``python -I`` inside a fresh environment that holds only
the core and client wheels and their declared dependencies. It checks that

* ``from openintent import Intent, OpenIntentClient`` works (or the names given as
  arguments), loaded from that environment and not from a source tree;
* the server stack cannot be imported: a client that needs it (an import, or a
  dependency declared by mistake) makes one of these imports succeed;
* no other distribution's part of the ``openintent`` namespace is present.

Prints one line per check and exits 1 if any failed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

REQUIRED_NAMES = ("Intent", "OpenIntentClient")
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


def main(argv: list[str]) -> int:
    names = tuple(argv) or REQUIRED_NAMES
    failures = check_names(names) + check_absent()
    for failure in failures:
        print(f"FAIL  {failure}")
    verdict = "FAILED" if failures else "passed"
    print(f"isolation probe {verdict}: {len(failures)} failure(s) in {sys.prefix}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
