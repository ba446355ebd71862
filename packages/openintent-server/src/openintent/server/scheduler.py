"""The in-process scheduler: periodic jobs every server process runs.

Each job runs in its own asyncio task, every ``every`` seconds, from start-up to
shutdown (``app.py`` starts it after the database opens and stops it before the
database closes). Jobs keep their invariants in the database, never in this process:
every firing and transition is claimed by a conditional write, so several processes on
one PostgreSQL (or granian workers) each running a scheduler do the work once; more
processes only mean more chances per interval.

Jobs: agent health and drain deadlines (RFC-0016), cron triggers, event triggers and
queued trigger firings (RFC-0017). Other areas can add theirs with :meth:`Scheduler.add`.
A failing pass is logged and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from openintent.server.services import Services

__all__ = ["Job", "Scheduler", "build_scheduler"]

log = logging.getLogger("openintent.server.scheduler")

Job = Callable[[], Awaitable[Any]]
#: How often a failing job is reported again (it is retried every interval).
REPEAT_ERROR_LOG = 60.0


@attrs.define
class _Entry:
    name: str
    every: float
    job: Job
    last_error_log: float = 0.0


class Scheduler:
    def __init__(self, *, stop_timeout: float = 5.0) -> None:
        self._entries: list[_Entry] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.stop_timeout = stop_timeout

    @property
    def jobs(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def add(self, name: str, every: float, job: Job) -> None:
        if every <= 0:
            raise ValueError(f"job {name!r}: interval must be positive")
        self._entries.append(_Entry(name, every, job))

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopping = asyncio.Event()
        for entry in self._entries:
            self._tasks.append(
                asyncio.create_task(self._loop(entry), name=f"openintent-{entry.name}")
            )

    async def stop(self) -> None:
        """Let running passes finish (a pass cancelled mid-query could keep a database
        connection checked out), then end the loops; cancel only what overstays."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        self._stopping.set()
        _, late = await asyncio.wait(tasks, timeout=self.stop_timeout)
        for task in late:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> None:
        """One pass of every job, in order (for tests and tools)."""
        for entry in self._entries:
            await entry.job()

    async def _loop(self, entry: _Entry) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await entry.job()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep running: the database may be restarting
                if started - entry.last_error_log >= REPEAT_ERROR_LOG:
                    entry.last_error_log = started
                    log.exception(
                        "scheduled job %s failed; retrying every %ss", entry.name, entry.every
                    )
            pause = max(0.0, entry.every - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)


def build_scheduler(services: Services) -> Scheduler:
    """The server's jobs, for the areas that are installed."""
    scheduler = Scheduler()
    agents = services.registry.get("agents")
    if agents is not None:
        scheduler.add("agent-health", 0.25, agents.sweep)
    triggers = services.registry.get("triggers")
    if triggers is not None:
        scheduler.add("trigger-schedules", 0.2, triggers.run_schedules)
        scheduler.add("trigger-events", 0.25, triggers.run_events)
        scheduler.add("trigger-queue", 1.0, triggers.run_queue)
    leases = services.registry.get("leases")
    if leases is not None:
        # Lapsed scope leases are retired and announced (LEASE_RELEASED) once each.
        scheduler.add("lease-expiry", 1.0, leases.expire_due)
    tasks = services.registry.get("tasks")
    if tasks is not None:
        # Task deadlines and checkpoint timeouts take effect without waiting for a read.
        scheduler.add("task-deadlines", 1.0, tasks.sweep_all)
    return scheduler
