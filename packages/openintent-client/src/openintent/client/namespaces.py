"""Sub-API views: ``client.tasks``, ``client.memory``, ``client.agents``, ``client.triggers``,
``client.tools``, ``client.coordinator``.

The README and the agent framework use these names (the reference had none). Each view
is a thin :class:`Dispatcher` over its client: the same endpoint definitions, bound by
the same descriptor, so ``client.tasks.create(...)`` blocks on ``OpenIntentClient`` and
is awaitable on ``AsyncOpenIntentClient``. The flat methods stay the primary API.
"""

from __future__ import annotations

from typing import Any

from openintent.client._call import Program
from openintent.client._endpoint import Context, Dispatcher, M, endpoint
from openintent.client.endpoints import coordinator, lifecycle, memory, planning, triggers, vaults

__all__ = ["AgentsAPI", "CoordinatorAPI", "MemoryAPI", "TasksAPI", "ToolsAPI", "TriggersAPI"]


class _View(Dispatcher[M]):
    """Runs its endpoints through the owning client."""

    __slots__ = ("_client",)

    def __init__(self, client: Dispatcher[M]) -> None:
        self._client = client

    def _context(self) -> Context:
        return self._client._context()

    def _run(self, program: Program[Any]) -> Any:
        return self._client._run(program)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


# ``list`` is assigned last in each class body: it shadows the builtin from there on.


class TasksAPI(_View[M]):
    """RFC-0012 tasks: ``create(intent_id, title, assigned_to=None, **fields)`` and friends."""

    __slots__ = ()
    create = endpoint(planning.add_task)
    get = endpoint(planning.get_task)
    update = endpoint(planning.update_task)
    update_status = endpoint(planning.set_task_status)
    complete = endpoint(planning.complete_task)
    fail = endpoint(planning.fail_task)
    list = endpoint(planning.list_tasks)


class MemoryAPI(_View[M]):
    """RFC-0015 memory by key: ``store`` upserts, ``recall``/``query`` filter, ``delete`` forgets."""

    __slots__ = ()
    store = endpoint(memory.store_memory)
    recall = endpoint(memory.query_memory)
    query = endpoint(memory.query_memory)
    get = endpoint(memory.get_memory)
    update = endpoint(memory.update_memory)
    delete = endpoint(memory.forget_memory)
    pin = endpoint(memory.pin_memory)
    list = endpoint(memory.list_memory)


class AgentsAPI(_View[M]):
    """RFC-0016 agent lifecycle."""

    __slots__ = ()
    register = endpoint(lifecycle.register_agent)
    get = endpoint(lifecycle.get_agent_record)
    heartbeat = endpoint(lifecycle.agent_heartbeat)
    update_status = endpoint(lifecycle.update_agent_status)
    drain = endpoint(lifecycle.drain_agent)
    deregister = endpoint(lifecycle.deregister_agent)
    list = endpoint(lifecycle.list_agents)


class TriggersAPI(_View[M]):
    """RFC-0017 triggers."""

    __slots__ = ()
    create = endpoint(triggers.create_trigger)
    get = endpoint(triggers.get_trigger)
    update = endpoint(triggers.update_trigger)
    fire = endpoint(triggers.fire_trigger)
    delete = endpoint(triggers.delete_trigger)
    list = endpoint(triggers.list_triggers)


class ToolsAPI(_View[M]):
    """RFC-0014 vaults, credentials, grants and tool invocation."""

    __slots__ = ()
    create_vault = endpoint(vaults.create_vault)
    get_vault = endpoint(vaults.get_vault)
    create_credential = endpoint(vaults.create_credential)
    get_credential = endpoint(vaults.get_credential)
    grant = endpoint(vaults.create_tool_grant)
    get_grant = endpoint(vaults.get_tool_grant)
    grants = endpoint(vaults.list_agent_grants)
    revoke = endpoint(vaults.revoke_grant)
    invoke = endpoint(vaults.invoke_tool)
    record_invocation = endpoint(vaults.record_invocation)
    invocations = endpoint(vaults.list_invocations)


class CoordinatorAPI(_View[M]):
    """RFC-0013 coordinator leases and decision records."""

    __slots__ = ()
    create_lease = endpoint(coordinator.create_coordinator_lease)
    get_lease = endpoint(coordinator.get_coordinator_lease)
    list_leases = endpoint(coordinator.list_coordinator_leases)
    heartbeat = endpoint(coordinator.coordinator_heartbeat)
    record_decision = endpoint(coordinator.create_decision_record)
    decisions = endpoint(coordinator.list_decision_records)
