"""RFC-0002 rules: child intents, dependency edits and the read-only graph views.

Parent and dependencies are columns of the intent row (``parent_id``, ``depends_on``);
this module adds no tables. Writes follow ``services.intents``: one transaction, the
guards of other areas, the conditional version bump, the event in the same commit.

Where we differ from the reference (spec rfc-0002), without changing any shape its
client reads: dependency ids must name existing intents (422, as on ``POST /intents``),
so no child is left "blocked" forever by a typo. Completion gating lives in
``IntentService.set_status_json``. On PostgreSQL every dependency addition takes one advisory
lock, so two concurrent additions cannot each pass the cycle check and close a cycle
together; SQLite write transactions are serial already.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.core.status import dependencies_met
from openintent.exceptions import ConflictError, NotFoundError, ValidationError
from openintent.models import (
    ChildIntentCreateRequest,
    DependencyAddRequest,
    EventType,
    GraphEdge,
    GraphEdgeType,
    GraphNode,
    Intent,
    IntentCreateRequest,
    IntentGraph,
)
from openintent.server.services import Services, idempotency
from openintent.server.services.events import record_event
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import (
    IntentService,
    intent_from_request,
    intent_from_row,
)
from openintent.server.services.principal import Principal
from openintent.server.store.database import Database, dump_json
from openintent.server.store.tables import IntentRow

__all__ = ["GraphService", "install"]

# Key of the PostgreSQL advisory lock serialising dependency edits ("OI" 0002).
GRAPH_LOCK_KEY = 0x4F490002


class GraphService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    # -- writes -----------------------------------------------------------------------

    async def create_child(
        self,
        principal: Principal,
        parent_id: str,
        req: ChildIntentCreateRequest,
        idempotency_key: str | None = None,
    ) -> Intent:
        depends_on = list(dict.fromkeys(req.depends_on))
        async with self.db.write():
            key = idempotency.scoped_key(principal, f"child:{parent_id}", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return Intent.from_dict(stored)
            rows = await IntentRow.select().where(IntentRow.id == parent_id).limit(1)
            if not rows:
                raise NotFoundError("Parent intent not found", status_code=404)
            parent = intent_from_row(rows[0])
            await self.intents.check(WriteAttempt(principal, parent, "child"))
            await self.intents.require_dependencies(depends_on)
            # The child starts as a draft, is the caller's and has no governance policy.
            request = IntentCreateRequest(
                title=req.title,
                description=req.description,
                parent_intent_id=parent_id,
                depends_on=depends_on,
                constraints=req.constraints,
                state=req.state,
            )
            child = intent_from_request(request, principal.actor, utcnow())
            await self.intents.insert(child)
            await record_event(
                child.id,
                EventType.INTENT_CREATED,
                principal.actor,
                {"parent_id": parent_id, "depends_on": depends_on},
            )
            if idempotency_key:
                await idempotency.record(key, to_wire(child))
        return child

    async def add_dependency(
        self, principal: Principal, intent_id: str, if_match: int, req: DependencyAddRequest
    ) -> Intent:
        dependency_id = req.dependency_id
        async with self.db.write():
            await self._lock_graph()
            current = await self.intents.get(intent_id)
            if not await IntentRow.exists().where(IntentRow.id == dependency_id):
                raise NotFoundError("Dependency intent not found", status_code=404)
            await self.intents.check(
                WriteAttempt(principal, current, "dependencies", extra={"add": dependency_id})
            )
            _check_version(current, if_match)
            if dependency_id in current.depends_on:
                raise ValidationError(
                    "Dependency already exists",
                    errors=[{"loc": ["body", "dependency_id"], "msg": "already a dependency"}],
                    status_code=400,
                )
            await self._check_acyclic(intent_id, [*current.depends_on, dependency_id])
            updated = await self.intents.bump(
                current, depends_on=dump_json([*current.depends_on, dependency_id])
            )
            await record_event(
                intent_id,
                EventType.DEPENDENCY_ADDED,
                principal.actor,
                {"dependency_id": dependency_id},
            )
        return updated

    async def remove_dependency(
        self, principal: Principal, intent_id: str, if_match: int, dependency_id: str
    ) -> Intent:
        async with self.db.write():
            current = await self.intents.get(intent_id)
            await self.intents.check(
                WriteAttempt(principal, current, "dependencies", extra={"remove": dependency_id})
            )
            _check_version(current, if_match)
            # As the reference: a version bump and an event even if it was no dependency.
            remaining = [d for d in current.depends_on if d != dependency_id]
            updated = await self.intents.bump(current, depends_on=dump_json(remaining))
            await record_event(
                intent_id,
                EventType.DEPENDENCY_REMOVED,
                principal.actor,
                {"dependency_id": dependency_id},
            )
        return updated

    # -- reads ------------------------------------------------------------------------

    async def children(self, intent_id: str) -> list[Intent]:
        await self.intents.require(intent_id)
        return (await self._children_of([intent_id])).get(intent_id, [])

    async def descendants(self, intent_id: str) -> list[Intent]:
        """Depth-first pre-order: a child, its whole subtree, then the next child."""
        await self.intents.require(intent_id)
        below: dict[str, list[Intent]] = {}
        level = [intent_id]
        while level:  # one query per tree level
            found = await self._children_of(level)
            below.update(found)
            level = [c.id for kids in found.values() for c in kids if c.id not in below]
        ordered: list[Intent] = []
        stack = list(reversed(below.get(intent_id, [])))
        seen = {intent_id}
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            ordered.append(node)
            stack.extend(reversed(below.get(node.id, [])))
        return ordered

    async def ancestors(self, intent_id: str) -> list[Intent]:
        """Nearest parent first, up to the root; stops at a parent that does not exist."""
        current = await self.intents.get(intent_id)
        chain: list[Intent] = []
        seen = {intent_id}
        parent_id = current.parent_intent_id
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            parent = await self._find(parent_id)
            if parent is None:
                break
            chain.append(parent)
            parent_id = parent.parent_intent_id
        return chain

    async def dependencies(self, intent_id: str) -> list[Intent]:
        """The existing intents among ``depends_on``, in that order."""
        current = await self.intents.get(intent_id)
        found = await self._by_id(current.depends_on)
        return [found[d] for d in current.depends_on if d in found]

    async def dependents(self, intent_id: str) -> list[Intent]:
        """Every intent whose ``depends_on`` names ``intent_id``."""
        await self.intents.require(intent_id)
        # depends_on is JSON text: narrow with LIKE, then decide on the parsed list.
        rows = (
            await IntentRow.select()
            .where(IntentRow.depends_on.like(f"%{dump_json(intent_id)}%"))
            .order_by(IntentRow.created_at)
            .order_by(IntentRow.id)
        )
        return [i for i in map(intent_from_row, rows) if intent_id in i.depends_on]

    async def ready_and_blocked(self, intent_id: str) -> tuple[list[Intent], list[Intent]]:
        """Immediate children split by whether all their dependencies are completed.

        As the reference: only dependency status counts, not the child's own status;
        a dependency that does not exist keeps a child blocked.
        """
        kids = await self.children(intent_id)
        statuses = {
            i.id: i.status.value
            for i in (await self._by_id([d for k in kids for d in k.depends_on])).values()
        }
        ready: list[Intent] = []
        blocked: list[Intent] = []
        for kid in kids:
            met = dependencies_met(statuses.get(d) for d in kid.depends_on)
            (ready if met else blocked).append(kid)
        return ready, blocked

    async def graph(self, intent_id: str) -> IntentGraph:
        """The reference traversal (spec rfc-0002 "Graph response"), without recursion.

        Depth-first from the root, each id visited once: the node, a ``parent`` edge if
        it has a parent (the parent node itself only if reached otherwise), then for
        each dependency a ``dependency`` edge and that dependency's traversal, then
        each child's traversal. Unknown dependency ids give an edge and no node.
        """
        await self.intents.require(intent_id)
        nodes: list[GraphNode] = []
        edges: list[GraphEdge] = []
        visited: set[str] = set()
        # Work items, popped from the end: ("visit", id) or ("edge", from, to, type).
        stack: list[tuple[Any, ...]] = [("visit", intent_id)]
        while stack:
            item = stack.pop()
            if item[0] == "edge":
                edges.append(GraphEdge(from_id=item[1], to_id=item[2], type=item[3]))
                continue
            node_id = item[1]
            if node_id in visited:
                continue
            visited.add(node_id)
            intent = await self._find(node_id)
            if intent is None:
                continue
            nodes.append(
                GraphNode(
                    id=intent.id,
                    title=intent.title,
                    status=intent.status,
                    parent_id=intent.parent_intent_id,
                    depends_on=list(intent.depends_on),
                )
            )
            if intent.parent_intent_id is not None:
                edges.append(
                    GraphEdge(
                        from_id=intent.parent_intent_id, to_id=intent.id, type=GraphEdgeType.PARENT
                    )
                )
            todo: list[tuple[Any, ...]] = []
            for dep in intent.depends_on:
                todo += [("edge", dep, intent.id, GraphEdgeType.DEPENDENCY), ("visit", dep)]
            kids = (await self._children_of([intent.id])).get(intent.id, [])
            todo += [("visit", kid.id) for kid in kids]
            stack.extend(reversed(todo))
        return IntentGraph.build(intent_id, nodes, edges)

    # -- helpers ----------------------------------------------------------------------

    async def _find(self, intent_id: str) -> Intent | None:
        rows = await IntentRow.select().where(IntentRow.id == intent_id).limit(1)
        return intent_from_row(rows[0]) if rows else None

    async def _by_id(self, ids: Iterable[str]) -> dict[str, Intent]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        rows = await IntentRow.select().where(IntentRow.id.is_in(wanted))
        return {row["id"]: intent_from_row(row) for row in rows}

    async def _children_of(self, parent_ids: list[str]) -> dict[str, list[Intent]]:
        """Children of each parent, in creation order."""
        rows = (
            await IntentRow.select()
            .where(IntentRow.parent_id.is_in(parent_ids))
            .order_by(IntentRow.created_at)
            .order_by(IntentRow.id)
        )
        found: dict[str, list[Intent]] = {}
        for row in rows:
            found.setdefault(row["parent_id"], []).append(intent_from_row(row))
        return found

    async def _check_acyclic(self, intent_id: str, depends_on: list[str]) -> None:
        """400 if following ``depends_on`` transitively leads back to ``intent_id``.

        ``detail`` keeps the reference's text (the id twice); ``message`` names the path.
        """
        path = await self._cycle(intent_id, depends_on)
        if path is None:
            return
        raise ValidationError(
            "Dependency would create cycle: " + " -> ".join(path),
            errors=[{"loc": ["body", "dependency_id"], "msg": "would create a cycle"}],
            status_code=400,
            response={"detail": f"Dependency would create cycle: {intent_id} -> {intent_id}"},
        )

    async def _cycle(self, intent_id: str, depends_on: list[str]) -> list[str] | None:
        """The dependency chain from ``intent_id`` back to itself, breadth-first; or None."""
        if intent_id in depends_on:
            return [intent_id, intent_id]
        reached_from = dict.fromkeys(depends_on, intent_id)
        frontier = list(reached_from)
        while frontier:
            found = await self._by_id(frontier)
            nxt: list[str] = []
            for node_id in frontier:
                for dep in found[node_id].depends_on if node_id in found else ():
                    if dep == intent_id:
                        chain = [node_id]
                        while chain[-1] != intent_id:
                            chain.append(reached_from[chain[-1]])
                        return [*reversed(chain), intent_id]
                    if dep not in reached_from:
                        reached_from[dep] = node_id
                        nxt.append(dep)
            frontier = nxt
        return None

    async def _lock_graph(self) -> None:
        if not self.db.is_sqlite:
            await IntentRow.raw("SELECT pg_advisory_xact_lock({})", GRAPH_LOCK_KEY)


def _check_version(current: Intent, if_match: int) -> None:
    if current.version != if_match:
        raise ConflictError("Version conflict", current_version=current.version, status_code=409)


def install(services: Services) -> None:
    services.add("graphs", GraphService(services.db, services.intents))
