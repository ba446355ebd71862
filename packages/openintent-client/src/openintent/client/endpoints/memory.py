"""RFC-0015: agent memory (flat methods; ``client.memory`` views are in namespaces.py)."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call, Flow
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing
from openintent.client.endpoints._util import api, if_match, value_of
from openintent.models.enums import MemoryType
from openintent.models.memory import MemoryEntry

__all__ = ["create_memory", "delete_memory", "get_memory", "list_memory", "update_memory"]


def create_memory(
    ctx: Context,
    /,
    agent_id: str,
    namespace: str,
    key: str,
    value: dict[str, Any],
    memory_type: MemoryType | str = "working",
    **kwargs: Any,
) -> Call[MemoryEntry]:
    """Store an entry (keywords such as ``tags``, ``scope``, ``ttl``, ``pinned`` pass through)."""
    body = {
        "agent_id": agent_id,
        "namespace": namespace,
        "key": key,
        "value": value,
        "memory_type": value_of(memory_type),
        **{k: value_of(v) for k, v in kwargs.items()},
    }
    return Call("POST", api("memory"), model(MemoryEntry), json=body, create=True)


def get_memory(ctx: Context, /, entry_id: str) -> Call[MemoryEntry]:
    return Call("GET", api("memory", entry_id), model(MemoryEntry))


def list_memory(
    ctx: Context,
    /,
    agent_id: str,
    namespace: str | None = None,
    memory_type: MemoryType | str | None = None,
    tags: list[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Call[list[MemoryEntry]]:
    """An agent's entries; ``tags`` must all match (also checked here: the reference
    server ignores the parameter)."""
    wanted = set(tags or ())
    read_all = models(MemoryEntry, "entries")

    def read(data: Any) -> list[MemoryEntry]:
        entries = read_all(data)
        return [e for e in entries if wanted <= set(e.tags)] if wanted else entries

    params = {
        "limit": limit,
        "offset": offset,
        "namespace": namespace or None,
        "memory_type": value_of(memory_type) or None,
        "tags": ",".join(tags) if tags else None,
    }
    return Call("GET", api("agents", agent_id, "memory"), read, params=params)


def update_memory(ctx: Context, /, entry_id: str, version: int, **kwargs: Any) -> Call[MemoryEntry]:
    body = {k: value_of(v) for k, v in kwargs.items()}
    return Call(
        "PATCH", api("memory", entry_id), model(MemoryEntry), json=body, headers=if_match(version)
    )


def delete_memory(ctx: Context, /, entry_id: str) -> Call[None]:
    return Call("DELETE", api("memory", entry_id), nothing)


# -- operations behind ``client.memory`` (namespaces.py) ------------------------------

DEFAULT_NAMESPACE = "default"


def _as_object(value: Any) -> dict[str, Any]:
    # The wire value is an object; other values are wrapped so they round-trip.
    return value if isinstance(value, dict) else {"value": value}


def _matches(entry: MemoryEntry, key: str | None, query: str | None) -> bool:
    if key is not None and entry.key != key:
        return False
    if query:
        text = f"{entry.key} {entry.value}".lower()
        return query.lower() in text
    return True


def query_memory(
    ctx: Context,
    /,
    agent_id: str,
    namespace: str | None = None,
    key: str | None = None,
    tags: list[str] | None = None,
    limit: int = 100,
    memory_type: MemoryType | str | None = None,
    query: str | None = None,
) -> Flow[list[MemoryEntry]]:
    """Entries of an agent filtered by namespace, key, tags (all), type and a substring."""
    entries = yield from list_memory(ctx, agent_id, namespace, memory_type, tags, max(limit, 100))
    return [e for e in entries if _matches(e, key, query)][:limit]


def store_memory(
    ctx: Context,
    /,
    agent_id: str,
    key: str,
    value: Any,
    memory_type: MemoryType | str = "episodic",
    tags: list[str] | None = None,
    namespace: str | None = None,
    **kwargs: Any,
) -> Flow[MemoryEntry]:
    """Create or update the entry ``(agent_id, namespace, key)``; returns it."""
    ns = namespace or DEFAULT_NAMESPACE
    found = yield from query_memory(ctx, agent_id, ns, key=key)
    fields = {"value": _as_object(value), **kwargs}
    if tags is not None:
        fields["tags"] = list(tags)
    if found:
        entry = found[0]
        return (yield from update_memory(ctx, entry.id, entry.version, **fields))
    created = create_memory(ctx, agent_id, ns, key, fields.pop("value"), memory_type, **fields)
    return (yield from created)


def forget_memory(
    ctx: Context, /, agent_id: str, key: str, namespace: str | None = None
) -> Flow[int]:
    """Delete every entry with ``key`` (in ``namespace`` when given); how many were removed."""
    found = yield from query_memory(ctx, agent_id, namespace, key=key)
    for entry in found:
        yield from delete_memory(ctx, entry.id)
    return len(found)


def pin_memory(
    ctx: Context, /, agent_id: str, key: str, namespace: str | None = None
) -> Flow[MemoryEntry | None]:
    """Pin the entry with ``key`` (exempt from eviction); ``None`` when there is none."""
    found = yield from query_memory(ctx, agent_id, namespace, key=key)
    if not found:
        return None
    entry = found[0]
    return (yield from update_memory(ctx, entry.id, entry.version, pinned=True))
