#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster for tests, from the machine's PostgreSQL binaries.

    python3 scripts/pg_cluster.py -- pytest tests/server -m postgres   # run one command
    python3 scripts/pg_cluster.py                                       # print the URL, wait
    python3 scripts/pg_cluster.py --check                               # start, SELECT 1, stop

The cluster lives in a fresh temp dir, listens on 127.0.0.1 at a free port (and on a
socket in that dir), has one database ``openintent_test`` and trusts local logins. The
command (or the waiting shell) gets ``OPENINTENT_TEST_PG_URL``; afterwards the server is
stopped and the dir removed. As root the server runs as the ``postgres`` OS user, because
``initdb`` refuses to run as root. The binaries are found under
``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package) unless
``OPENINTENT_PG_BINDIR`` names their directory. The noxfile imports this module.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["DATABASE", "URL_ENV", "cluster", "find_bindir"]

URL_ENV = "OPENINTENT_TEST_PG_URL"
DATABASE = "openintent_test"
SUPERUSER = "postgres"
# Durability is worthless for a cluster deleted after the run; these make tests faster.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def find_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl, newest major version first; None if absent."""
    override = os.environ.get("OPENINTENT_PG_BINDIR")
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    newest = max(found, key=lambda p: _major(Path(p).parent.parent.name))
    return Path(newest).parent


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root to the postgres user (nothing otherwise)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise RuntimeError(
            "running as root, but there is no 'postgres' OS user to run the server as "
            "(Debian's postgresql package creates it)"
        ) from None
    env = dict(os.environ, HOME=entry.pw_dir, USER=SUPERUSER, LOGNAME=SUPERUSER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": env}


@contextlib.contextmanager
def cluster(bindir: Path | None = None) -> Iterator[str]:
    """Start a cluster, yield its ``postgresql://`` URL, then stop and delete it."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries found (apt-get install postgresql)")
    run_as = _run_as()
    base = Path(tempfile.mkdtemp(prefix="openintent-pg-"))
    data, log = base / "data", base / "server.log"
    port = _free_port()
    started = False

    def pg(tool: str, *args: str) -> None:
        subprocess.run(
            [str(bindir / tool), *args], check=True, cwd=base, stdout=subprocess.DEVNULL, **run_as
        )

    try:
        if run_as:
            os.chown(base, run_as["user"], run_as["group"])
        pg("initdb", "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale")
        options = " ".join(
            [f"-h 127.0.0.1 -p {port} -k {base}", *(f"-c {s}" for s in FAST_SETTINGS)]
        )
        pg("pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(log), "-o", options)
        started = True
        pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, DATABASE)
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    except subprocess.CalledProcessError:
        if log.exists():
            sys.stderr.write(log.read_text(errors="replace"))
        raise
    finally:
        if started:
            with contextlib.suppress(subprocess.CalledProcessError):
                pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _check(bindir: Path) -> int:
    """Start a cluster, run ``SELECT 1`` through psql, stop it: proves the mechanics."""
    with cluster(bindir) as url:
        out = subprocess.run(
            [str(bindir / "psql"), url, "-XAtc", "SELECT 1"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"pg_cluster: {url} answered SELECT 1 -> {out}")
        return 0 if out == "1" else 1


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    bindir = find_bindir()
    if bindir is None:
        print("pg_cluster: no PostgreSQL binaries (apt-get install postgresql)", file=sys.stderr)
        return 2
    if argv[:1] == ["--check"]:
        return _check(bindir)
    command = argv[1:] if argv[:1] == ["--"] else argv
    signal.signal(signal.SIGTERM, _terminate)  # so `kill` still removes the cluster
    with cluster(bindir) as url:
        if command:
            return subprocess.run(command, env=dict(os.environ, **{URL_ENV: url})).returncode
        print(f"export {URL_ENV}={url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()  # until Ctrl-C or SIGTERM
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
