"""RFC-0016 rules: the agent registry, heartbeats, health, drain and deregistration.

Status in force. The stored ``status`` is the last one written; what every read
reports, and what every rule acts on, is derived from it and the silence since the
last heartbeat (or since registration, before the first one): past
``unhealthy_after_seconds`` an active agent is ``unhealthy``, past ``dead_after_seconds``
any live agent is ``dead`` (thresholds from its ``heartbeat_config``, RFC defaults
30/90/300 s). The scheduler's :meth:`AgentService.sweep` writes those transitions with
their events soon after they happen; any write on the agent writes them first.

Transitions (each one writes ``agent.lifecycle`` ``{agent_id, previous_status,
new_status, reason, timestamp}`` on the agent's log, plus ``agent.dead`` on death):

* registration: ``registering -> active`` (also ``agent.registered``). Registering an
  id again (``POST /agents/register``) replaces the record's fields and makes it
  ``active`` again, whatever its status; ``POST /agents`` (the RFC's endpoint) answers
  409 for an agent that is still live instead.
* heartbeat: ``unhealthy -> active`` (``heartbeat_resumed``); a heartbeat saying
  ``draining`` starts a drain; while draining, a heartbeat reporting no load and no
  tasks completes it (``draining -> deregistered``). Heartbeats of ``dead`` or
  ``deregistered`` agents are refused with 410.
* ``PATCH …/status`` (operator): ``draining`` (optional ``drain_timeout_seconds``),
  ``dead``, ``deregistered``, or ``active`` to cancel a drain. Health states are
  derived, never set; other changes are 409. ``If-Match`` is honoured when sent.
* drain timeout: at ``drain_started_at + drain_timeout_seconds`` a draining agent is
  ``deregistered``, or ``dead`` if it still reported work and has gone silent.

A draining, dead or deregistered agent takes no new assignments (write guard on
``assign``, 409). Agents that never registered can still be assigned, as in the
reference. ``version`` increases on every registration and status change (heartbeats
are liveness data and leave it alone, so an operator's ``If-Match`` stays valid).

Per-agent writes lock the agent's row (``FOR UPDATE`` on PostgreSQL; SQLite writes are
serial), so a heartbeat and a sweep in two processes cannot both act on a stale read.

Modules: ``service`` (``AgentService``), ``transitions`` (locks, transitions, their
events), ``records`` (status groups, row mapping, status in force, checks).
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.agents.records import Clock, agent_from_row
from openintent.server.services.agents.service import AgentService

__all__ = ["AgentService", "Clock", "agent_from_row", "install"]


def install(services: Services) -> None:
    service = AgentService(services.db)
    services.add("agents", service)
    services.intents.guards.append(service.guard)
