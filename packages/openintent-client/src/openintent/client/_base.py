"""The client surface shared by both modes: construction and the endpoint table.

Every protocol method is listed here once, as ``name = endpoint(definition)``; the
definitions live in ``endpoints/<area>.py``. ``OpenIntentClient`` and
``AsyncOpenIntentClient`` subclass this with their mode and add only what is
inherently mode-specific (opening and closing the HTTP pool, context managers, SSE
stream objects).

Where the reference sync and async clients disagree on a signature (sdk.md 3.16), the
one definition accepts both call styles; each such definition documents how
(``create_intent``, ``add_attachment``, ``record_failure``, ``subscribe``,
``set_retry_policy``). Methods the reference had on one client only are on both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from openintent.client._endpoint import Context, Dispatcher, M, endpoint
from openintent.client._transport import TransportOptions
from openintent.client.endpoints import (
    access,
    attachments,
    costs,
    federation,
    governance,
    graphs,
    identity,
    intents,
    leases,
    lifecycle,
    messaging,
    observability,
    planning,
    portfolios,
    retry,
    streams,
    subscriptions,
    vaults,
)
from openintent.client.endpoints import (
    coordinator as coordinator_ops,
)
from openintent.client.endpoints import (
    memory as memory_ops,
)
from openintent.client.endpoints import (
    triggers as trigger_ops,
)
from openintent.client.namespaces import (
    AgentsAPI,
    CoordinatorAPI,
    MemoryAPI,
    TasksAPI,
    ToolsAPI,
    TriggersAPI,
)

__all__ = ["ClientBase"]

_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class ClientBase(Dispatcher[M]):
    """Protocol methods shared by the sync and async clients (see the module docstring).

    ``api_key`` and ``agent_id`` may be omitted (README and quickstart do); they then
    come from ``OPENINTENT_API_KEY`` / ``OPENINTENT_AGENT_ID`` or default to ``""`` and
    ``"anonymous"``. ``timeout`` is in seconds (or an ``httpx.Timeout``). Transport
    failures of idempotent requests are retried ``max_retries`` times with exponential
    back-off from ``retry_backoff`` seconds; ``idempotency_keys=True`` adds an
    ``Idempotency-Key`` header to creates, which also makes them retryable.
    ``transport`` replaces httpx's network transport (tests use ``httpx.MockTransport``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        agent_id: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        *,
        max_retries: int = 2,
        retry_backoff: float = 0.25,
        idempotency_keys: bool = False,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENINTENT_API_KEY", "")
        self.agent_id = agent_id or os.environ.get("OPENINTENT_AGENT_ID") or "anonymous"
        self.timeout = timeout
        self.options = TransportOptions(
            max_retries=max_retries, backoff=retry_backoff, idempotency_keys=idempotency_keys
        )
        self._extra_headers = dict(headers or {})
        self._open(transport)

    def _open(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> None:
        raise NotImplementedError

    @property
    def headers(self) -> dict[str, str]:
        """Headers sent with every request (and every SSE connection)."""
        headers = {"X-Agent-ID": self.agent_id, **self._extra_headers}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        return headers

    def _http_options(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
        timeout = (
            self.timeout if isinstance(self.timeout, httpx.Timeout) else httpx.Timeout(self.timeout)
        )
        return {
            "base_url": self.base_url,
            "headers": self.headers,
            "timeout": timeout,
            "limits": _LIMITS,
        }

    def _context(self) -> Context:
        return self

    def _stream_args(self, kind: str, ident: str) -> dict[str, Any]:
        """URL, 404 fall-backs and headers of one SSE stream (see ``endpoints.streams``)."""
        url, *fallbacks = (self.base_url + path for path in streams.stream_paths(kind, ident))
        return {"url": url, "headers": self.headers, "fallback_urls": fallbacks}

    def _queue_target(
        self, intent_id: str | None, portfolio_id: str | None, agent_id: str | None
    ) -> tuple[str, str]:
        """The stream an event queue reads: intent, else portfolio, else an agent's."""
        if intent_id:
            return "intents", intent_id
        if portfolio_id:
            return "portfolios", portfolio_id
        return "agents", agent_id or self.agent_id

    # -- sub-API views (namespaces.py) -------------------------------------------------

    @property
    def tasks(self) -> TasksAPI[M]:
        return TasksAPI(self)

    @property
    def memory(self) -> MemoryAPI[M]:
        return MemoryAPI(self)

    @property
    def agents(self) -> AgentsAPI[M]:
        return AgentsAPI(self)

    @property
    def triggers(self) -> TriggersAPI[M]:
        return TriggersAPI(self)

    @property
    def tools(self) -> ToolsAPI[M]:
        return ToolsAPI(self)

    @property
    def coordinator(self) -> CoordinatorAPI[M]:
        return CoordinatorAPI(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, agent_id={self.agent_id!r})"

    # -- discovery, RFC-0001 intents ---------------------------------------------------
    discover = endpoint(intents.discover)
    get_server_config = endpoint(intents.get_server_config)
    create_intent = endpoint(intents.create_intent)
    get_intent = endpoint(intents.get_intent)
    list_intents = endpoint(intents.list_intents)
    update_state = endpoint(intents.update_state)
    set_status = endpoint(intents.set_status)
    log_event = endpoint(intents.log_event)
    get_events = endpoint(intents.get_events)
    assign_agent = endpoint(intents.assign_agent)
    unassign_agent = endpoint(intents.unassign_agent)
    patch_state = endpoint(intents.patch_state)
    complete_intent = endpoint(intents.complete_intent)

    # -- RFC-0003 leases (``lease()`` is mode-specific: see _sync.py / _async.py) -------
    acquire_lease = endpoint(leases.acquire_lease)
    release_lease = endpoint(leases.release_lease)
    get_leases = endpoint(leases.get_leases)
    renew_lease = endpoint(leases.renew_lease)

    # -- RFC-0002 graphs (sync-only in the reference; on both clients here) ------------
    create_child_intent = endpoint(graphs.create_child_intent)
    get_children = endpoint(graphs.get_children)
    get_descendants = endpoint(graphs.get_descendants)
    get_ancestors = endpoint(graphs.get_ancestors)
    get_dependencies = endpoint(graphs.get_dependencies)
    get_dependents = endpoint(graphs.get_dependents)
    add_dependency = endpoint(graphs.add_dependency)
    remove_dependency = endpoint(graphs.remove_dependency)
    get_ready_intents = endpoint(graphs.get_ready_intents)
    get_blocked_intents = endpoint(graphs.get_blocked_intents)
    get_intent_graph = endpoint(graphs.get_intent_graph)

    # -- RFC-0004 governance, arbitration, escalations, approvals ----------------------
    request_arbitration = endpoint(governance.request_arbitration)
    record_decision = endpoint(governance.record_decision)
    get_decisions = endpoint(governance.get_decisions)
    escalate_to_human = endpoint(governance.escalate_to_human)
    list_escalations = endpoint(governance.list_escalations)
    resolve_escalation = endpoint(governance.resolve_escalation)
    request_approval = endpoint(governance.request_approval)
    get_approval_status = endpoint(governance.get_approval_status)
    approve_approval = endpoint(governance.approve_approval)
    deny_approval = endpoint(governance.deny_approval)
    set_governance_policy = endpoint(governance.set_governance_policy)
    get_governance_policy = endpoint(governance.get_governance_policy)
    remove_governance_policy = endpoint(governance.remove_governance_policy)

    # -- RFC-0005 attachments ----------------------------------------------------------
    add_attachment = endpoint(attachments.add_attachment)
    get_attachments = endpoint(attachments.get_attachments)
    delete_attachment = endpoint(attachments.delete_attachment)

    # -- RFC-0006 webhook subscriptions (SSE streams: see the mode classes) ------------
    subscribe = endpoint(subscriptions.subscribe)
    get_subscriptions = endpoint(subscriptions.get_subscriptions)
    unsubscribe = endpoint(subscriptions.unsubscribe)

    # -- RFC-0007 portfolios -----------------------------------------------------------
    create_portfolio = endpoint(portfolios.create_portfolio)
    get_portfolio = endpoint(portfolios.get_portfolio)
    list_portfolios = endpoint(portfolios.list_portfolios)
    update_portfolio_status = endpoint(portfolios.update_portfolio_status)
    add_intent_to_portfolio = endpoint(portfolios.add_intent_to_portfolio)
    remove_intent_from_portfolio = endpoint(portfolios.remove_intent_from_portfolio)
    get_portfolio_intents = endpoint(portfolios.get_portfolio_intents)
    get_intent_portfolios = endpoint(portfolios.get_intent_portfolios)

    # -- RFC-0008 LLM, tool-call and stream events -------------------------------------
    log_tool_call_started = endpoint(observability.log_tool_call_started)
    log_tool_call_completed = endpoint(observability.log_tool_call_completed)
    log_tool_call_failed = endpoint(observability.log_tool_call_failed)
    log_llm_request_started = endpoint(observability.log_llm_request_started)
    log_llm_request_completed = endpoint(observability.log_llm_request_completed)
    log_llm_request_failed = endpoint(observability.log_llm_request_failed)
    start_stream = endpoint(observability.start_stream)
    log_stream_chunk = endpoint(observability.log_stream_chunk)
    complete_stream = endpoint(observability.complete_stream)
    cancel_stream = endpoint(observability.cancel_stream)

    # -- RFC-0009 costs, RFC-0010 retry policies and failures --------------------------
    record_cost = endpoint(costs.record_cost)
    get_costs = endpoint(costs.get_costs)
    set_retry_policy = endpoint(retry.set_retry_policy)
    get_retry_policy = endpoint(retry.get_retry_policy)
    record_failure = endpoint(retry.record_failure)
    get_failures = endpoint(retry.get_failures)

    # -- RFC-0011 access control -------------------------------------------------------
    get_acl = endpoint(access.get_acl)
    set_acl = endpoint(access.set_acl)
    grant_access = endpoint(access.grant_access)
    revoke_access = endpoint(access.revoke_access)
    request_access = endpoint(access.request_access)
    list_access_requests = endpoint(access.list_access_requests)
    approve_access_request = endpoint(access.approve_access_request)
    deny_access_request = endpoint(access.deny_access_request)

    # -- RFC-0012 tasks and plans ------------------------------------------------------
    create_task = endpoint(planning.create_task)
    get_task = endpoint(planning.get_task)
    list_tasks = endpoint(planning.list_tasks)
    update_task = endpoint(planning.update_task)
    create_plan = endpoint(planning.create_plan)
    get_plan = endpoint(planning.get_plan)
    list_plans = endpoint(planning.list_plans)
    update_plan = endpoint(planning.update_plan)

    # -- RFC-0013 coordinator leases and decision records ------------------------------
    create_coordinator_lease = endpoint(coordinator_ops.create_coordinator_lease)
    get_coordinator_lease = endpoint(coordinator_ops.get_coordinator_lease)
    list_coordinator_leases = endpoint(coordinator_ops.list_coordinator_leases)
    coordinator_heartbeat = endpoint(coordinator_ops.coordinator_heartbeat)
    create_decision_record = endpoint(coordinator_ops.create_decision_record)
    list_decision_records = endpoint(coordinator_ops.list_decision_records)

    # -- RFC-0014 vaults, grants, tools ------------------------------------------------
    create_vault = endpoint(vaults.create_vault)
    get_vault = endpoint(vaults.get_vault)
    create_credential = endpoint(vaults.create_credential)
    get_credential = endpoint(vaults.get_credential)
    create_tool_grant = endpoint(vaults.create_tool_grant)
    get_tool_grant = endpoint(vaults.get_tool_grant)
    list_agent_grants = endpoint(vaults.list_agent_grants)
    revoke_grant = endpoint(vaults.revoke_grant)
    record_invocation = endpoint(vaults.record_invocation)
    list_invocations = endpoint(vaults.list_invocations)
    invoke_tool = endpoint(vaults.invoke_tool)

    # -- RFC-0015 memory ---------------------------------------------------------------
    create_memory = endpoint(memory_ops.create_memory)
    get_memory = endpoint(memory_ops.get_memory)
    list_memory = endpoint(memory_ops.list_memory)
    update_memory = endpoint(memory_ops.update_memory)
    delete_memory = endpoint(memory_ops.delete_memory)

    # -- RFC-0016 agent lifecycle ------------------------------------------------------
    register_agent = endpoint(lifecycle.register_agent)
    get_agent_record = endpoint(lifecycle.get_agent_record)
    list_agents = endpoint(lifecycle.list_agents)
    agent_heartbeat = endpoint(lifecycle.agent_heartbeat)
    update_agent_status = endpoint(lifecycle.update_agent_status)

    # -- RFC-0017 triggers -------------------------------------------------------------
    create_trigger = endpoint(trigger_ops.create_trigger)
    get_trigger = endpoint(trigger_ops.get_trigger)
    list_triggers = endpoint(trigger_ops.list_triggers)
    update_trigger = endpoint(trigger_ops.update_trigger)
    fire_trigger = endpoint(trigger_ops.fire_trigger)
    delete_trigger = endpoint(trigger_ops.delete_trigger)

    # -- RFC-0018 identity, RFC-0019 verifiable logs -----------------------------------
    register_identity = endpoint(identity.register_identity)
    complete_identity_challenge = endpoint(identity.complete_identity_challenge)
    get_identity = endpoint(identity.get_identity)
    verify_signature = endpoint(identity.verify_signature)
    rotate_key = endpoint(identity.rotate_key)
    verify_event_chain = endpoint(identity.verify_event_chain)
    list_checkpoints = endpoint(identity.list_checkpoints)
    get_checkpoint = endpoint(identity.get_checkpoint)
    get_merkle_proof = endpoint(identity.get_merkle_proof)
    verify_consistency = endpoint(identity.verify_consistency)

    # -- RFC-0021 channels and messages ------------------------------------------------
    create_channel = endpoint(messaging.create_channel)
    list_channels = endpoint(messaging.list_channels)
    get_channel = endpoint(messaging.get_channel)
    close_channel = endpoint(messaging.close_channel)
    send_message = endpoint(messaging.send_message)
    reply_to = endpoint(messaging.reply_to)
    list_messages = endpoint(messaging.list_messages)
    get_message = endpoint(messaging.get_message)
    mark_read = endpoint(messaging.mark_read)
    ask = endpoint(messaging.ask)

    # -- RFC-0022/0023 federation (dicts: core has no federation models) ---------------
    federation_status = endpoint(federation.federation_status)
    list_federated_agents = endpoint(federation.list_federated_agents)
    federation_dispatch = endpoint(federation.federation_dispatch)
    federation_receive = endpoint(federation.federation_receive)
    send_federation_callback = endpoint(federation.send_federation_callback)
    federation_discover = endpoint(federation.federation_discover)
