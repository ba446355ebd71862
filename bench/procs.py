"""Server processes for the benchmark: start, wait until ready, watch RSS/CPU via /proc, stop.

Stdlib only, so the runner works with any Python >= 3.11 and never shares an
environment with either server.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "RunningServer",
    "ServerSpec",
    "free_port",
    "io_stall_seconds",
    "system_busy_seconds",
    "tree_pids",
]

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may contain spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_pids(root: int) -> list[int]:
    kids, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def system_busy_seconds() -> float:
    """CPU time spent by everything on the machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def io_stall_seconds() -> float:
    """Time some task waited on I/O (pressure stall information), 0 where unavailable."""
    try:
        line = Path("/proc/pressure/io").read_text().split("\n", 1)[0]
    except OSError:
        return 0.0
    return int(line.rsplit("total=", 1)[1]) / 1e6


def set_autogroup_nice(pid: int | str, nice: int) -> bool:
    """With kernel.sched_autogroup_enabled, CPU is shared between autogroups (one per
    session) before nice values count, so a process's own nice does not help against
    other sessions' jobs: the autogroup needs the nice value too."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        return False
    return True


@dataclass
class ServerSpec:
    name: str  # "ours" | "ref"
    executable: str
    label: str  # shown in reports

    def command(self, port: int, db: Path) -> list[str]:
        return [
            self.executable,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--database-url", f"sqlite:///{db}",
            "--log-level", "warning",
        ]  # fmt: skip


@dataclass
class RunningServer:
    spec: ServerSpec
    workdir: Path
    db_dir: Path | None = None  # where the SQLite file goes (default: workdir)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)
    peak_total_rss_kb: int = 0
    hwm_kb: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    nice: int = 0  # also applied to the server's autogroup (see set_autogroup_nice)
    db: Path | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _watch: threading.Thread | None = None

    def start(self, timeout: float = 90.0) -> None:
        self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        base = self.db_dir / self.workdir.name if self.db_dir else self.workdir
        base.mkdir(parents=True, exist_ok=True)
        db = self.db = base / f"{self.spec.name}.db"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        log = (self.workdir / f"{self.spec.name}.log").open("wb")
        self.proc = subprocess.Popen(
            self.spec.command(self.port, db),
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
        )  # fmt: skip
        if self.nice:
            set_autogroup_nice(self.proc.pid, self.nice)
        try:
            self._wait_ready(timeout, log.name)
        except BaseException:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise
        self.pids = tree_pids(self.proc.pid)
        self._watch = threading.Thread(target=self._sample, daemon=True)
        self._watch.start()

    def _wait_ready(self, timeout: float, log_name: str) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited early; see {log_name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.spec.name} not ready after {timeout}s")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/.well-known/openintent.json")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_total_rss_kb = max(
                self.peak_total_rss_kb, sum(_status_kb(p, "VmRSS") for p in self.pids)
            )
            self._read_hwm()

    def _read_hwm(self) -> None:
        for pid in self.pids:
            hwm = _status_kb(pid, "VmHWM")
            if hwm:
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
                if pid not in self.names:
                    role = "main" if pid == self.pids[0] else "child"
                    self.names[pid] = f"{role} {pid}"

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> dict[str, object]:
        """Stop the process tree and return its memory figures (KiB)."""
        self._read_hwm()
        self._stop.set()
        if self._watch:
            self._watch.join()
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        if self.db_dir:  # e.g. tmpfs: give the memory back
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        return {
            "peak_total_rss_kb": self.peak_total_rss_kb,
            "vm_hwm_kb": {self.names.get(p, str(p)): kb for p, kb in self.hwm_kb.items()},
            "vm_hwm_sum_kb": sum(self.hwm_kb.values()),
        }
