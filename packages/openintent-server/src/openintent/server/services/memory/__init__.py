"""RFC-0015 rules: agent memory with real tiers, expiry, eviction and ownership.

The reference stores independent rows and interprets nothing; here:

* **One entry per (agent, namespace, key).** ``POST /api/v1/memory`` stores: a second
  store of the same key updates the entry (new value, fields the body names, ``version``
  + 1) and answers 200 as the first did. Semantic entries are also unique per
  ``(namespace, key)`` across agents. A store may not move an entry to another tier
  (409). Unique indexes hold the rule across server processes.
* **Identity and access.** The acting agent is ``X-Agent-ID``; the principal is the API
  key. An entry belongs to its ``agent_id`` and is private to it: a caller may read or
  change it when it acts as that agent (``X-Agent-ID`` equals the entry's
  ``agent_id``, as in ``/agents/{agent_id}/memory`` with the path's id) or when its key
  created the entry (a coordinator or operator writing for an agent keeps access to
  what it wrote). Anyone else gets 403. **Semantic entries are shared**: every caller
  may read them; only the owner changes or deletes them. Listings return only the
  entries the caller may read.
* **Tiers.** ``working``: task-scoped; :meth:`MemoryService.end_task` (called by the
  tasks area when a task completes, fails or is cancelled) archives the task's working
  entries, and entries whose ttl is ``task_lifetime``, into a ``memory.archived``
  event on the intent and deletes them. ``episodic``: per-agent capacity
  (``ServerConfig.memory_episodic_capacity``, default 1000, 0 = unlimited); storing past
  it evicts the least recently used unpinned entries, lower priority first
  (``memory.evicted``); when only pinned entries are left, 429. ``semantic``: shared
  knowledge, see above; ``curated_by`` names the agent that last wrote it.
* **TTL.** ``expires_at`` (explicit) wins over ``ttl``; a ``duration:`` ttl counts from
  the last write. Expired entries are never returned, and are deleted
  (``memory.expired``) by the next memory write.
* **LRU** means least recently *used*: reading an entry by id, or writing it, counts;
  appearing in a listing does not.
* **Events.** ``memory.created|updated|deleted|evicted|expired|archived`` (payloads
  without values) on the agent's stream, and in the intent's log when the entry's
  ``scope.intent_id`` names an intent.

Modules: ``service`` (``MemoryService``: ownership and reads), ``writes``, ``retention``
(end of task, expiry, eviction, events), ``records`` (limits, filter, row mapping).
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.memory.records import MAX_VALUE_BYTES, MemoryConflict, MemoryFilter
from openintent.server.services.memory.service import MemoryService

__all__ = ["MAX_VALUE_BYTES", "MemoryConflict", "MemoryFilter", "MemoryService", "install"]


def install(services: Services) -> None:
    services.add("memory", MemoryService(services.db))
