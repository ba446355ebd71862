"""Typed usage of both clients, checked by mypy (not collected by pytest).

``mypy --strict tests/client/typing_examples_client.py`` must pass: every call here is
checked against the single endpoint definition, sync results are plain values and async
results are awaitables.
"""

from __future__ import annotations

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.models import Intent, IntentLease, MemoryEntry, Task


def sync_usage(client: OpenIntentClient) -> tuple[Intent, Task, MemoryEntry]:
    intent: Intent = client.create_intent("t", "d", depends_on=["x"])
    intent = client.set_status(intent.id, intent.version, "completed")
    lease: IntentLease
    with client.lease(intent.id, "scope") as lease:
        assert lease.scope == "scope"
    task: Task = client.tasks.create(intent.id, "name", assigned_to="bob")
    entry: MemoryEntry = client.memory.store("agent", "key", {"v": 1})
    return intent, task, entry


async def async_usage(client: AsyncOpenIntentClient) -> tuple[Intent, Task]:
    intent: Intent = await client.create_intent("t", "d", None, None, {"max_cost": 1})
    async with client.lease(intent.id, "scope") as lease:
        assert lease.scope == "scope"
    task: Task = await client.tasks.create(intent.id, "name")
    async for event in client.subscribe_sse(intent.id):
        assert event.type
        break
    return intent, task
