"""Task dependencies and delegation trees.

``depends_on`` must name tasks of the same intent (422 otherwise); a change through
``PATCH`` (ours: ``depends_on`` in the body, while the task is still ``pending``) that
would close a cycle is 400. A task leaves ``pending`` for work only once every
dependency is ``completed`` or ``skipped``; the moment the last one finishes, the task
is promoted to ``ready`` (``task.ready``). ``blocks`` is computed. A task blocked on
its delegated sub-tasks runs again once they are all done.
"""

from __future__ import annotations

from openintent.exceptions import ConflictError, ValidationError
from openintent.server.services._checks import text
from openintent.server.services.tasks.records import _S, DELEGATED, FORCE, RESOLVED, Row
from openintent.server.services.tasks_common import SYSTEM_ACTOR
from openintent.server.store.database import dump_json
from openintent.server.store.tasks_tables import TaskDependencyRow, TaskRow

__all__ = ["TaskDependencies"]


class TaskDependencies:
    """Dependency edges, cycle checks and promotions (mixed into ``TaskService``)."""

    async def _promote_dependents(self, row: Row) -> None:
        """Dependents whose last unfinished dependency this was become ``ready``."""
        edges = await TaskDependencyRow.select(TaskDependencyRow.task_id).where(
            TaskDependencyRow.depends_on_id == row["id"]
        )
        ids = [e["task_id"] for e in edges]
        if not ids:
            return
        waiting = (
            await TaskRow.select()
            .where(TaskRow.id.is_in(ids) & (TaskRow.status == _S.PENDING.value))
            .order_by(TaskRow.seq)
        )
        for dependent in waiting:
            if not await self._unresolved(dependent):
                await self.move(dependent, _S.READY, SYSTEM_ACTOR, mode=FORCE)

    async def promote_if_ready(self, row: Row) -> None:
        """``pending -> ready`` when the dependencies allow it (plan activation)."""
        if row["status"] == _S.PENDING.value and not await self._unresolved(row):
            await self.move(row, _S.READY, SYSTEM_ACTOR, mode=FORCE)

    async def _resume_parent(self, row: Row) -> None:
        """A task waiting on its delegated sub-tasks runs again once they are all done."""
        parent_id = row["parent_task_id"]
        if parent_id is None:
            return
        parents = await TaskRow.select().where(TaskRow.id == parent_id)
        if not parents or parents[0]["status"] != _S.BLOCKED.value:
            return
        if parents[0]["blocked_reason"] != DELEGATED:
            return
        children = await TaskRow.select(TaskRow.status).where(TaskRow.parent_task_id == parent_id)
        if all(c["status"] in RESOLVED for c in children):
            await self.move(
                parents[0],
                _S.RUNNING,
                SYSTEM_ACTOR,
                mode=FORCE,
                note={"resolution": "sub_tasks_completed"},
            )

    async def require_tasks(self, intent_id: str, ids: list[str], field: str) -> None:
        if not ids:
            return
        for i, value in enumerate(ids):
            text(f"{field}[{i}]", value)
        rows = await TaskRow.select(TaskRow.id).where(
            TaskRow.id.is_in(ids) & (TaskRow.intent_id == intent_id)
        )
        missing = [i for i in ids if i not in {r["id"] for r in rows}]
        if missing:
            raise ValidationError(
                f"{field}: no task {', '.join(missing)} in this intent",
                errors=[
                    {
                        "loc": ["body", field],
                        "msg": f"unknown task {m} (tasks of the same intent only)",
                    }
                    for m in missing
                ],
            )

    async def _write_edges(self, intent_id: str, task_id: str, deps: list[str]) -> None:
        await TaskDependencyRow.delete().where(TaskDependencyRow.task_id == task_id)
        if deps:
            await TaskDependencyRow.insert(
                *[
                    TaskDependencyRow(intent_id=intent_id, task_id=task_id, depends_on_id=d)
                    for d in deps
                ]
            )

    async def _replace_dependencies(self, row: Row, deps: list[str]) -> Row:
        if row["status"] != _S.PENDING.value:
            raise ConflictError(
                "Dependencies can change only while the task is pending",
                current_version=row["version"],
                status_code=409,
            )
        await self.require_tasks(row["intent_id"], deps, "depends_on")
        cycle = await self._cycle(row["id"], deps)
        if cycle is not None:
            message = "Dependency would create cycle: " + " -> ".join(cycle)
            raise ValidationError(
                message,
                errors=[{"loc": ["body", "depends_on"], "msg": "would create a cycle"}],
                status_code=400,
            )
        await self._write_edges(row["intent_id"], row["id"], deps)
        # Part of the PATCH's one version bump: written straight, not compare-and-set.
        await TaskRow.update({TaskRow.depends_on: dump_json(deps)}).where(TaskRow.id == row["id"])
        return await self.row(row["id"])

    async def _cycle(self, task_id: str, deps: list[str]) -> list[str] | None:
        """The chain from ``task_id`` back to itself through ``deps``, if any."""
        if task_id in deps:
            return [task_id, task_id]
        came_from = dict.fromkeys(deps, task_id)
        frontier = list(deps)
        while frontier:
            edges = await TaskDependencyRow.select().where(
                TaskDependencyRow.task_id.is_in(frontier)
            )
            frontier = []
            for edge in edges:
                dep, node = edge["depends_on_id"], edge["task_id"]
                if dep == task_id:
                    chain = [node]
                    while chain[-1] != task_id:
                        chain.append(came_from[chain[-1]])
                    return [task_id, *reversed(chain[:-1]), task_id]
                if dep not in came_from:
                    came_from[dep] = node
                    frontier.append(dep)
        return None

    async def _depth(self, task_id: str) -> int:
        """How many parents ``task_id`` has (its delegation depth)."""
        depth, current, seen = 0, task_id, {task_id}
        while True:
            rows = await TaskRow.select(TaskRow.parent_task_id).where(TaskRow.id == current)
            parent = rows[0]["parent_task_id"] if rows else None
            if parent is None or parent in seen:
                return depth
            depth, current = depth + 1, parent
            seen.add(parent)
