#!/usr/bin/env python3
"""Side-by-side HTTP benchmark of our server and the reference server (openintent 0.17.0).

    python3 bench/run.py                      # everything, both servers, 1 and 32 connections
    python3 bench/run.py --scenarios get,patch --duration 5 --targets ours

Each (scenario, server) pair gets a fresh server process on a free 127.0.0.1 port with a
fresh SQLite file; the two servers never run at the same time. Load comes from wrk (see
README.md for why), one wrk thread per connection; SSE fan-out and fixtures use small
stdlib clients. Results: JSON (--json) and a Markdown report (--markdown).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from api import KEY, Api  # noqa: E402
from procs import (  # noqa: E402
    RunningServer,
    ServerSpec,
    io_stall_seconds,
    set_autogroup_nice,
    system_busy_seconds,
)
from report import render  # noqa: E402
from sse import run_fanout  # noqa: E402

REPO = HERE.parent
LUA = HERE / "wrk" / "scenario.lua"
HTTP_SCENARIOS = ["create", "get", "patch", "append", "lease", "list"]
ALL = [*HTTP_SCENARIOS, "sse", "scale"]
REF_VENV = Path("/tmp/oi-ref-bench")
REF_SETUP = (
    f"{REPO}/.venv/bin/uv venv -p 3.11 {REF_VENV} && VIRTUAL_ENV={REF_VENV} "
    f'{REPO}/.venv/bin/uv pip install "openintent[server]==0.17.0"'
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- wrk ------------------------------------------------------------------------------


def wrk(
    url: str, mode: str, fixture: Path, conns: int, seconds: float, tag: str, extra: str = ""
) -> dict[str, Any]:
    cmd = [
        "wrk", f"-t{conns}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
        "-s", str(LUA), url, "--", mode, str(fixture), KEY, tag, extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    match = re.search(r"^BENCH_JSON (.*)$", out, re.M)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out}\n{err}")
    return json.loads(match.group(1))


def wait_quiet(server: RunningServer, args: argparse.Namespace) -> float:
    """Wait until the rest of the machine is idle (other people's jobs share this box):
    CPU used by other processes <= --quiet-cores and I/O stalls <= --quiet-io of the time.

    Returns the CPU (cores) used by everything except our server over the last sample.
    """
    deadline = time.monotonic() + args.quiet_timeout
    while True:
        busy0, srv0, io0 = system_busy_seconds(), server.cpu(), io_stall_seconds()
        time.sleep(2)
        other = (system_busy_seconds() - busy0 - (server.cpu() - srv0)) / 2
        io = (io_stall_seconds() - io0) / 2
        quiet = other <= args.quiet_cores and io <= args.quiet_io
        if quiet or time.monotonic() > deadline:
            if not quiet:
                log(
                    f"machine still busy (others: {other:.2f} cores, I/O stall {io:.0%}); measuring anyway"
                )
            return other
        log(f"waiting for a quiet machine: others use {other:.2f} cores, I/O stall {io:.0%}")
        time.sleep(5)


def settle(server: RunningServer) -> None:
    """Let requests that wrk abandoned at its deadline finish before the next step."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        c0 = server.cpu()
        time.sleep(0.3)
        if server.cpu() - c0 < 0.02:
            return


def wrk_once(
    server: RunningServer, mode: str, fixture: Path, conns: int, seconds: float, tag: str,
    args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    """One measured wrk run plus the CPU that the server, wrk and others used meanwhile."""
    other_before = wait_quiet(server, args)
    server_cpu0 = server.cpu()
    busy0, io0 = system_busy_seconds(), io_stall_seconds()
    self_cpu0 = os.times()
    raw = wrk(server.base_url, mode, fixture, conns, seconds, tag)
    self_cpu1 = os.times()
    busy, io = system_busy_seconds() - busy0, io_stall_seconds() - io0
    server_cpu = server.cpu() - server_cpu0
    settle(server)
    # wrk is our only child that ran meanwhile: its CPU shows up in children_* times.
    gen_cpu = (self_cpu1.children_user - self_cpu0.children_user) + (
        self_cpu1.children_system - self_cpu0.children_system
    )
    secs = raw["duration_us"] / 1e6
    per_op = 2 if mode == "lease" else 1  # a lease cycle is acquire + release
    errors = sum(raw["errors"].values())
    return {
        "connections": conns,
        "seconds": secs,
        "requests": raw["requests"],
        "ops_per_s": raw["requests"] / secs / per_op,
        "requests_per_s": raw["requests"] / secs,
        "latency_ms": {k: v / 1000 for k, v in raw["latency_us"]["p"].items()}
        | {"mean": raw["latency_us"]["mean"] / 1000, "max": raw["latency_us"]["max"] / 1000},
        "errors": raw["errors"],
        "error_count": errors,
        "server_cpu_cores": server_cpu / secs,
        "generator_cpu_cores": gen_cpu / secs,
        "other_cpu_cores": max(0.0, busy - server_cpu - gen_cpu) / secs,
        "other_cpu_cores_before": other_before,
        "io_stall_fraction": io / secs,
    }


def measure(
    server: RunningServer, api: Api, ids: list[str], fixture: Path, mode: str, conns: int,
    seconds: float, tag: str, args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    """A measured run, repeated (up to --retries times) while other processes on the
    machine took more than --max-other cores during it; the least disturbed run is kept."""
    best: dict[str, Any] | None = None
    for attempt in range(args.retries + 1):
        write_fixture(fixture, api, ids, refresh=mode == "patch")
        run = wrk_once(server, mode, fixture, conns, seconds, f"{tag}a{attempt}", args)
        run["attempts"] = attempt + 1
        if best is None or run["other_cpu_cores"] < best["other_cpu_cores"]:
            best = run
        if run["other_cpu_cores"] <= args.max_other:
            break
        log(f"  disturbed: other processes used {run['other_cpu_cores']:.2f} cores; again")
    assert best is not None
    return best


# -- fixtures -------------------------------------------------------------------------


def write_fixture(path: Path, api: Api, ids: list[str], refresh: bool) -> None:
    rows = []
    for intent_id in ids:
        version = api.intent(intent_id)["version"] if refresh else 1
        rows.append(f"{intent_id} {version}")
    path.write_text("\n".join(rows) + "\n")


def build_fixture(api: Api, scenario: str, conns: int) -> list[str]:
    if scenario == "create":
        return []
    if scenario == "list":
        intent_id = api.create_intent("list fixture")["id"]
        api.append_many(intent_id, 1000)
        got = len(api.events(intent_id))
        if got != 1000:
            raise RuntimeError(f"list fixture returned {got} events, not 1000")
        return [intent_id]
    return api.intents_many(conns)  # one intent per connection


def http_scenario(
    spec: ServerSpec, scenario: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    server = RunningServer(
        spec, workdir / f"{scenario}-{spec.name}", db_dir=args.db_dir, nice=args.nice
    )
    server.start()
    try:
        api = Api(server.port)
        ids = build_fixture(api, scenario, max(args.connections))
        fixture = server.workdir / "fixture.txt"
        write_fixture(fixture, api, ids, refresh=False)
        log(f"{spec.name} {scenario}: warm-up {args.warmup}s")
        wrk(server.base_url, scenario, fixture, max(args.connections), args.warmup, "warmup")
        settle(server)
        runs = []
        for i, conns in enumerate(args.connections):
            run = measure(
                server, api, ids, fixture, scenario, conns, args.duration, f"run{i}", args
            )
            log(
                f"{spec.name} {scenario} c={conns}: {run['ops_per_s']:.0f} ops/s, "
                f"p99 {run['latency_ms']['99']:.1f} ms, errors {run['error_count']}, "
                f"server {run['server_cpu_cores']:.2f} cores, wrk {run['generator_cpu_cores']:.3f}, "
                f"others {run['other_cpu_cores']:.2f}"
            )
            runs.append(run)
    finally:
        memory = server.stop()
    return {"runs": runs, "memory": memory}


def sse_scenario(spec: ServerSpec, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    server = RunningServer(spec, workdir / f"sse-{spec.name}", db_dir=args.db_dir, nice=args.nice)
    server.start()
    try:
        api = Api(server.port)
        runs = []
        for writers in args.connections:
            intent_id = api.create_intent("sse fixture")["id"]
            api.append_many(intent_id, 20, threads=1)  # warm the write path
            other = wait_quiet(server, args)
            res = run_fanout(
                server.port, intent_id, args.subscribers, args.sse_events, writers, server.workdir
            )
            log(
                f"{spec.name} sse writers={writers}: delivered {res['delivered']}/{res['expected']}, "
                f"p99 from ack {res['from_ack_ms']['99']:.1f} ms"
            )
            res["other_cpu_cores_before"] = other
            runs.append(res)
    finally:
        memory = server.stop()
    return {"runs": runs, "memory": memory}


def count_intents(api: Api) -> int:
    try:
        return int(api.call("GET", "/api/v1/intents?limit=1")["total"])
    except (RuntimeError, KeyError, TypeError):
        return -1  # the reference has no GET /intents


def scale_scenario(spec: ServerSpec, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Same requests at 1k and at --scale-max intents in the database."""
    server = RunningServer(spec, workdir / f"scale-{spec.name}", db_dir=args.db_dir, nice=args.nice)
    server.start()
    levels = []
    try:
        api = Api(server.port)
        conns = max(args.connections)
        ids = api.intents_many(conns)
        api.intents_many(1000 - conns)
        fixture = server.workdir / "fixture.txt"
        write_fixture(fixture, api, ids, refresh=False)
        wrk(server.base_url, "get", fixture, conns, args.warmup, "warmup")
        for target in (1000, args.scale_max):
            have = count_intents(api)
            rate = 300.0  # creates/s, refined after each round
            while have < target:
                log(f"{spec.name} scale: filling to {target} intents (have {have})")
                # Each wrk thread stops sending after its quota, but wrk itself always
                # runs its full duration, so rounds are sized from the measured rate.
                left = target - have
                secs = min(60, max(1, round(left / rate * 1.2)))
                t0 = time.monotonic()
                wrk(server.base_url, "fill", fixture, conns, secs, "fill", str(-(-left // conns)))
                settle(server)
                now = count_intents(api)
                rate = max(50.0, (now - have) / (time.monotonic() - t0))
                have = now
            level: dict[str, Any] = {"intents_before": count_intents(api), "runs": {}}
            for mode in ("get", "patch", "append", "create"):
                level["runs"][mode] = []
                for c in args.connections:
                    run = measure(
                        server,
                        api,
                        ids,
                        fixture,
                        mode,
                        c,
                        args.scale_duration,
                        f"s{target}{mode}{c}",
                        args,
                    )
                    run["intents_before"] = count_intents(api)
                    log(
                        f"{spec.name} scale@{target} {mode} c={c}: {run['ops_per_s']:.0f} ops/s "
                        f"p50 {run['latency_ms']['50']:.2f} p99 {run['latency_ms']['99']:.2f} ms"
                    )
                    level["runs"][mode].append(run)
            level["intents_after"] = count_intents(api)
            levels.append(level)
    finally:
        memory = server.stop()
    return {"levels": levels, "memory": memory}


# -- snapshot of our server -------------------------------------------------------------


def snapshot(workdir: Path) -> tuple[str, dict[str, Any]]:
    """Freeze the working tree's server (others may edit it during a long run): copy
    packages/, pyproject.toml and uv.lock, and sync an environment from the lock file."""
    import hashlib
    import shutil

    snap = workdir / "snapshot"
    shutil.rmtree(snap, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")
    shutil.copytree(REPO / "packages", snap / "packages", ignore=ignore)
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, snap / name)
    env = os.environ | {
        "UV_PROJECT_ENVIRONMENT": str(snap / ".venv"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    cmd = [
        str(REPO / ".venv/bin/uv"),
        "sync",
        "--frozen",
        "--all-packages",
        "--all-extras",
        "--no-dev",
    ]
    log("building the snapshot environment: " + " ".join(cmd[1:]))
    subprocess.run([*cmd, "--offline"], cwd=snap, env=env, check=False, capture_output=True)
    if not (snap / ".venv/bin/openintent-server").exists():
        subprocess.run(cmd, cwd=snap, env=env, check=True, capture_output=True)
    digest = hashlib.sha256()
    for path in sorted((snap / "packages").rglob("*.py")):
        digest.update(path.relative_to(snap).as_posix().encode() + b"\0" + path.read_bytes())
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "packages"], capture_output=True, text=True
    )
    facts = {
        "git_head": head.stdout.strip(),
        "uncommitted_files_under_packages": len(dirty.stdout.splitlines()),
        "sources_sha256": digest.hexdigest()[:16],
    }
    return str(snap / ".venv/bin/openintent-server"), facts


# -- machine facts --------------------------------------------------------------------


def _pkg_versions(python: str, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        f"for n in {names!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    try:
        return json.loads(subprocess.check_output([python, "-c", code], text=True))
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {}


def _autogroup() -> str:
    try:
        return Path("/proc/self/autogroup").read_text().strip()
    except OSError:
        return "n/a"


def _filesystem(path: Path) -> str:
    """Type of the filesystem holding ``path`` (longest matching mount point)."""
    path = path.resolve()
    best, fstype = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _dev, mount, kind, *_ = line.split()
        if (path.as_posix() + "/").startswith(mount.rstrip("/") + "/") and len(mount) > len(best):
            best, fstype = mount, kind
    return f"{fstype} ({best})"


def machine_facts(specs: list[ServerSpec]) -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "?"
    )  # fmt: skip
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    facts: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        .stdout.split("\n")[0]
        .strip(),
        "runner_python": platform.python_version(),
        "servers": {},
    }
    packages = ["openintent", "openintent-server", "litestar", "granian", "uvloop", "piccolo",
                "cattrs", "msgspec", "orjson", "fastapi", "uvicorn", "sqlalchemy", "pydantic"]  # fmt: skip
    for spec in specs:
        python = str(Path(spec.executable).parent / "python")
        facts["servers"][spec.name] = {
            "command": " ".join(spec.command(0, Path("<fresh>.db"))).replace("--port 0", "--port <free>"),
            "python": subprocess.check_output([python, "-c", "import platform;print(platform.python_version())"], text=True).strip(),
            "packages": _pkg_versions(python, packages),
        }  # fmt: skip
    return facts


# -- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--targets", default="ours,ref", help="comma list of ours,ref (order = run order)"
    )
    p.add_argument("--scenarios", default=",".join(ALL), help=f"comma list of {','.join(ALL)}")
    p.add_argument("--connections", default="1,32", help="connection counts (default 1,32)")
    p.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=3, help="warm-up seconds per server/scenario")
    p.add_argument("--subscribers", type=int, default=50)
    p.add_argument("--sse-events", type=int, default=200)
    p.add_argument("--scale-max", type=int, default=100_000)
    p.add_argument("--scale-duration", type=float, default=5)
    p.add_argument("--scale-targets", default="ours", help="servers for the scale scenario")
    p.add_argument("--ours", default=str(REPO / ".venv/bin/openintent-server"))
    p.add_argument(
        "--snapshot",
        action="store_true",
        help="run our server from a frozen copy of the working tree (own venv from uv.lock)",
    )
    p.add_argument("--ref", default=str(REF_VENV / "bin/openintent-server"))
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the runner and everything it starts (e.g. -15; needs root)",
    )
    p.add_argument(
        "--quiet-cores",
        type=float,
        default=0.15,
        help="before each measured run wait until other processes use at most this many cores",
    )
    p.add_argument(
        "--quiet-io",
        type=float,
        default=0.05,
        help="... and until I/O stalls (/proc/pressure/io 'some') take at most this share of time",
    )
    p.add_argument(
        "--quiet-timeout", type=float, default=900, help="give up waiting after this many seconds"
    )
    p.add_argument(
        "--max-other",
        type=float,
        default=0.25,
        help="repeat a measured run when other processes used more cores than this during it",
    )
    p.add_argument("--retries", type=int, default=3, help="repeats allowed per measured run")
    p.add_argument(
        "--db-dir",
        type=Path,
        default=None,
        help="put the SQLite files here (e.g. /dev/shm to take the disk out); default: workdir",
    )
    p.add_argument(
        "--workdir", default=None, help="where databases and logs go (default: a temp dir)"
    )
    p.add_argument("--json", default=None, help="write raw results here")
    p.add_argument("--markdown", default=None, help="write the Markdown report here")
    args = p.parse_args(argv)
    args.connections = [int(c) for c in args.connections.split(",")]
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.scale_targets = [t.strip() for t in args.scale_targets.split(",") if t.strip()]
    unknown = set(args.scenarios) - set(ALL)
    if unknown:
        p.error(f"unknown scenarios: {sorted(unknown)}")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the running server is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    if args.nice:
        # Children (servers, wrk, SSE clients) inherit it: on a box shared with other jobs
        # the measured processes then get the CPU they ask for.
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
        set_autogroup_nice("self", args.nice)
    specs = {
        "ours": ServerSpec("ours", args.ours, "ours"),
        "ref": ServerSpec("ref", args.ref, "reference 0.17.0"),
    }
    if "ref" in args.targets and not Path(args.ref).exists():
        print(f"reference server missing; install it with:\n  {REF_SETUP}", file=sys.stderr)
        return 2
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="oi-bench-"))
    source: dict[str, Any] = {"ours_executable": args.ours}
    if args.snapshot and "ours" in args.targets:
        exe, facts = snapshot(workdir)
        specs["ours"] = ServerSpec("ours", exe, "ours")
        source = {"ours_executable": exe, "snapshot": facts}
    targets = [specs[t] for t in args.targets]
    command = "python3 bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command.strip(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "markdown")}
        | {"effective_nice": os.getpriority(os.PRIO_PROCESS, 0), "autogroup": _autogroup()},
        "machine": machine_facts(targets),
        "database_filesystem": _filesystem(args.db_dir or workdir),
        "source": source,
        "http": {},
        "sse": {},
        "scale": {},
    }
    log(f"workdir {workdir}")
    for scenario in args.scenarios:
        for spec in targets:
            if scenario in HTTP_SCENARIOS:
                results["http"].setdefault(scenario, {})[spec.name] = http_scenario(
                    spec, scenario, args, workdir
                )
            elif scenario == "sse":
                results["sse"][spec.name] = sse_scenario(spec, args, workdir)
            elif scenario == "scale" and spec.name in args.scale_targets:
                results["scale"][spec.name] = scale_scenario(spec, args, workdir)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    markdown = render(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    if args.markdown:
        Path(args.markdown).write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
