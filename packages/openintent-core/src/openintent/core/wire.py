"""Wire constants shared by client, server and agents: paths, headers, keys, event names.

Path templates are absolute (they include :data:`API_PREFIX`) and name their
parameters ``{intent_id}``, ``{lease_id}`` and so on; fill them with :func:`format_path`.
Sources: ``spec/README.md`` C1-C3, C11, C14 and the endpoint tables of rfc-0001 to
rfc-0017. :data:`ROUTES` lists every route the reference server serves in that scope;
:data:`CLIENT_ONLY_ROUTES` the ones its client calls although that server lacks them
(our server serves both). Event types are plain strings: the server writes some the
reference client's ``EventType`` enum does not know (:data:`EVENTS_MISSING_FROM_CLIENT_ENUM`).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

__all__ = [  # noqa: RUF022 - grouped by area, like the module
    "format_path",
    "template_params",
    # base, discovery
    "API_PREFIX",
    "PATH_WELL_KNOWN",
    "PATH_WELL_KNOWN_COMPAT",
    "PATH_SERVER_CONFIG",
    # headers, media types, keys
    "HEADER_API_KEY",
    "HEADER_AGENT_ID",
    "HEADER_IF_MATCH",
    "HEADER_ETAG",
    "HEADER_LAST_EVENT_ID",
    "HEADER_IDEMPOTENCY_KEY",
    "MEDIA_JSON",
    "MEDIA_EVENT_STREAM",
    "DEV_API_KEYS",
    # RFC-0001
    "PATH_INTENTS",
    "PATH_INTENT",
    "PATH_INTENT_STATE",
    "PATH_INTENT_STATUS",
    "PATH_INTENT_EVENTS",
    "PATH_INTENT_AGENTS",
    "PATH_INTENT_AGENT",
    "PATH_INTENT_SUSPEND_RESPOND",
    # RFC-0002
    "PATH_INTENT_CHILDREN",
    "PATH_INTENT_DESCENDANTS",
    "PATH_INTENT_ANCESTORS",
    "PATH_INTENT_DEPENDENCIES",
    "PATH_INTENT_DEPENDENCY",
    "PATH_INTENT_DEPENDENTS",
    "PATH_INTENT_READY",
    "PATH_INTENT_BLOCKED",
    "PATH_INTENT_GRAPH",
    # RFC-0003
    "PATH_INTENT_LEASES",
    "PATH_INTENT_LEASE",
    # RFC-0004 / RFC-0013
    "PATH_INTENT_ARBITRATE",
    "PATH_INTENT_DECISIONS",
    "PATH_DECISIONS",
    "PATH_INTENT_ESCALATIONS",
    "PATH_ESCALATIONS",
    "PATH_ESCALATION_RESOLVE",
    "PATH_INTENT_APPROVALS",
    "PATH_INTENT_APPROVAL",
    "PATH_INTENT_APPROVAL_APPROVE",
    "PATH_INTENT_APPROVAL_DENY",
    "PATH_INTENT_GOVERNANCE",
    "PATH_COORDINATORS",
    "PATH_COORDINATOR",
    "PATH_COORDINATOR_HEARTBEAT",
    "PATH_INTENT_COORDINATORS",
    "PATH_INTENT_COORDINATOR_DECISIONS",
    # RFC-0005
    "PATH_INTENT_ATTACHMENTS",
    "PATH_INTENT_ATTACHMENT",
    # RFC-0006
    "PATH_SUBSCRIBE_INTENT",
    "PATH_SUBSCRIBE_PORTFOLIO",
    "PATH_SUBSCRIBE_AGENT",
    "PATH_INTENT_SUBSCRIBE",
    "PATH_PORTFOLIO_SUBSCRIBE",
    "PATH_AGENT_SUBSCRIBE",
    "PATH_SUBSCRIPTIONS",
    "PATH_SUBSCRIPTION",
    "SSE_PING_COMMENT",
    "SSE_KEEPALIVE_SECONDS",
    "SSE_QUEUE_SIZE",
    "SSE_AGENT_ASSIGNED",
    "SSE_STATE_CHANGED",
    "SSE_STATUS_CHANGED",
    "SSE_LEASE_RELEASED",
    "SSE_INTENT_COMPLETED",
    "SSE_PORTFOLIO_CREATED",
    "SSE_INTENT_ADDED",
    "SSE_INTENT_REMOVED",
    # RFC-0007
    "PATH_PORTFOLIOS",
    "PATH_PORTFOLIO",
    "PATH_PORTFOLIO_STATUS",
    "PATH_PORTFOLIO_INTENTS",
    "PATH_PORTFOLIO_INTENT",
    "PATH_INTENT_PORTFOLIOS",
    # RFC-0009 / RFC-0010
    "PATH_INTENT_COSTS",
    "PATH_INTENT_RETRY_POLICY",
    "PATH_INTENT_FAILURES",
    # RFC-0011
    "PATH_INTENT_ACL",
    "PATH_INTENT_ACL_ENTRIES",
    "PATH_INTENT_ACL_ENTRY",
    "PATH_INTENT_ACCESS_REQUESTS",
    "PATH_INTENT_ACCESS_REQUEST_APPROVE",
    "PATH_INTENT_ACCESS_REQUEST_DENY",
    # RFC-0012
    "PATH_TASKS",
    "PATH_TASK",
    "PATH_INTENT_TASKS",
    "PATH_PLANS",
    "PATH_PLAN",
    "PATH_INTENT_PLANS",
    # RFC-0014
    "PATH_VAULTS",
    "PATH_VAULT",
    "PATH_CREDENTIALS",
    "PATH_CREDENTIAL",
    "PATH_GRANTS",
    "PATH_GRANT",
    "PATH_GRANT_INVOCATIONS",
    "PATH_AGENT_GRANTS",
    "PATH_INVOCATIONS",
    "PATH_TOOLS_INVOKE",
    # RFC-0015
    "PATH_MEMORY",
    "PATH_MEMORY_ENTRY",
    "PATH_AGENT_MEMORY",
    # RFC-0016
    "PATH_AGENTS",
    "PATH_AGENTS_REGISTER",
    "PATH_AGENT_RECORD",
    "PATH_AGENT_HEARTBEAT",
    "PATH_AGENT_STATUS",
    # RFC-0017
    "PATH_TRIGGERS",
    "PATH_TRIGGER",
    "PATH_TRIGGER_FIRE",
    # route tables
    "ROUTES",
    "CLIENT_ONLY_ROUTES",
    # event types
    "EVENT_INTENT_CREATED",
    "EVENT_STATE_PATCHED",
    "EVENT_STATUS_CHANGED",
    "EVENT_AGENT_ASSIGNED",
    "EVENT_AGENT_UNASSIGNED",
    "EVENT_COMMENT",
    "EVENT_CONSTRAINT_ADDED",
    "EVENT_CONSTRAINT_REMOVED",
    "EVENT_DEPENDENCY_ADDED",
    "EVENT_DEPENDENCY_REMOVED",
    "EVENT_LEASE_ACQUIRED",
    "EVENT_LEASE_RENEWED",
    "EVENT_LEASE_RELEASED",
    "EVENT_ARBITRATION_REQUESTED",
    "EVENT_DECISION_RECORDED",
    "EVENT_ESCALATION_INITIATED",
    "EVENT_ESCALATION_RESOLVED",
    "EVENT_GOVERNANCE_POLICY_SET",
    "EVENT_GOVERNANCE_POLICY_REMOVED",
    "EVENT_GOVERNANCE_APPROVAL_GRANTED",
    "EVENT_GOVERNANCE_APPROVAL_DENIED",
    "EVENT_GOVERNANCE_VIOLATION",
    "EVENT_ATTACHMENT_ADDED",
    "EVENT_PORTFOLIO_CREATED",
    "EVENT_ADDED_TO_PORTFOLIO",
    "EVENT_REMOVED_FROM_PORTFOLIO",
    "EVENT_FAILURE_RECORDED",
    "EVENT_ACCESS_GRANTED",
    "EVENT_ACCESS_REVOKED",
    "EVENT_ACCESS_EXPIRED",
    "EVENT_ACCESS_REQUESTED",
    "EVENT_ACCESS_REQUEST_APPROVED",
    "EVENT_ACCESS_REQUEST_DENIED",
    "EVENT_INTENT_SUSPENDED",
    "EVENT_INTENT_RESUMED",
    "EVENTS_INTENTS",
    "EVENTS_GRAPHS",
    "EVENTS_LEASING",
    "EVENTS_GOVERNANCE",
    "EVENTS_ATTACHMENTS",
    "EVENTS_PORTFOLIOS",
    "EVENTS_RETRY",
    "EVENTS_ACCESS",
    "EVENTS_LLM",
    "EVENTS_TASKS",
    "EVENTS_PLANS",
    "EVENTS_COORDINATOR",
    "EVENTS_TOOLS",
    "EVENTS_MEMORY",
    "EVENTS_AGENTS",
    "EVENTS_TRIGGERS",
    "EVENTS_SUSPENSION",
    "SERVER_WRITTEN_EVENTS",
    "EVENTS_MISSING_FROM_CLIENT_ENUM",
]

# -- helpers ------------------------------------------------------------------------------

_PARAM = re.compile(r"\{([a-z_]+)\}")
# RFC 3986 "pchar" minus "/", "?" and "#": ids such as "ns:agent" stay readable.
_SAFE = "!$&'()*+,;=:@"


def template_params(template: str) -> tuple[str, ...]:
    """The parameter names of ``template`` in order (``"{intent_id}"`` -> ``"intent_id"``)."""
    return tuple(_PARAM.findall(template))


def format_path(template: str, /, **params: str | int) -> str:
    """Fill ``template``; every parameter must be given, non-empty, and nothing else.

    Values are percent-encoded, so an id containing ``/`` or ``?`` stays one segment.
    """
    names = template_params(template)
    missing = [name for name in names if name not in params]
    unknown = sorted(set(params) - set(names))
    if missing or unknown:
        raise ValueError(f"{template}: missing {missing}, unexpected {unknown}")
    empty = [name for name in names if str(params[name]) == ""]
    if empty:
        raise ValueError(f"{template}: empty value for {empty}")
    return _PARAM.sub(lambda m: quote(str(params[m.group(1)]), safe=_SAFE), template)


# -- base path and discovery (C1, C2) ----------------------------------------------------

API_PREFIX: Final = "/api/v1"
PATH_WELL_KNOWN: Final = "/.well-known/openintent.json"
PATH_WELL_KNOWN_COMPAT: Final = "/.well-known/openintent-compat.json"
PATH_SERVER_CONFIG: Final = "/api/v1/server/config"

# -- headers, media types, keys (C1, C3, C6, rfc-0006) ---------------------------------

HEADER_API_KEY: Final = "X-API-Key"
HEADER_AGENT_ID: Final = "X-Agent-ID"
HEADER_IF_MATCH: Final = "If-Match"
HEADER_ETAG: Final = "ETag"
HEADER_LAST_EVENT_ID: Final = "Last-Event-ID"
HEADER_IDEMPOTENCY_KEY: Final = "Idempotency-Key"
MEDIA_JSON: Final = "application/json"
MEDIA_EVENT_STREAM: Final = "text/event-stream"

#: The key set a server accepts when none is configured (development only).
DEV_API_KEYS: Final[tuple[str, ...]] = ("dev-user-key", "agent-research-key", "agent-synth-key")

# -- RFC-0001 intents ---------------------------------------------------------------------

PATH_INTENTS: Final = "/api/v1/intents"
PATH_INTENT: Final = "/api/v1/intents/{intent_id}"
PATH_INTENT_STATE: Final = "/api/v1/intents/{intent_id}/state"
PATH_INTENT_STATUS: Final = "/api/v1/intents/{intent_id}/status"
PATH_INTENT_EVENTS: Final = "/api/v1/intents/{intent_id}/events"
PATH_INTENT_AGENTS: Final = "/api/v1/intents/{intent_id}/agents"
PATH_INTENT_AGENT: Final = "/api/v1/intents/{intent_id}/agents/{agent_id}"
PATH_INTENT_SUSPEND_RESPOND: Final = "/api/v1/intents/{intent_id}/suspend/respond"  # RFC-0025

# -- RFC-0002 graphs ----------------------------------------------------------------------

PATH_INTENT_CHILDREN: Final = "/api/v1/intents/{intent_id}/children"
PATH_INTENT_DESCENDANTS: Final = "/api/v1/intents/{intent_id}/descendants"
PATH_INTENT_ANCESTORS: Final = "/api/v1/intents/{intent_id}/ancestors"
PATH_INTENT_DEPENDENCIES: Final = "/api/v1/intents/{intent_id}/dependencies"
PATH_INTENT_DEPENDENCY: Final = "/api/v1/intents/{intent_id}/dependencies/{dependency_id}"
PATH_INTENT_DEPENDENTS: Final = "/api/v1/intents/{intent_id}/dependents"
PATH_INTENT_READY: Final = "/api/v1/intents/{intent_id}/ready"
PATH_INTENT_BLOCKED: Final = "/api/v1/intents/{intent_id}/blocked"
PATH_INTENT_GRAPH: Final = "/api/v1/intents/{intent_id}/graph"

# -- RFC-0003 leasing ---------------------------------------------------------------------

PATH_INTENT_LEASES: Final = "/api/v1/intents/{intent_id}/leases"
PATH_INTENT_LEASE: Final = "/api/v1/intents/{intent_id}/leases/{lease_id}"

# -- RFC-0004 governance and RFC-0013 coordinators ----------------------------------------

PATH_INTENT_ARBITRATE: Final = "/api/v1/intents/{intent_id}/arbitrate"
# POST records an RFC-0004 decision; GET lists RFC-0013 decision records.
PATH_INTENT_DECISIONS: Final = "/api/v1/intents/{intent_id}/decisions"
PATH_DECISIONS: Final = "/api/v1/decisions"
PATH_INTENT_ESCALATIONS: Final = "/api/v1/intents/{intent_id}/escalations"
PATH_ESCALATIONS: Final = "/api/v1/escalations"
PATH_ESCALATION_RESOLVE: Final = "/api/v1/escalations/{escalation_id}/resolve"
PATH_INTENT_APPROVALS: Final = "/api/v1/intents/{intent_id}/approvals"
PATH_INTENT_APPROVAL: Final = "/api/v1/intents/{intent_id}/approvals/{approval_id}"
PATH_INTENT_APPROVAL_APPROVE: Final = "/api/v1/intents/{intent_id}/approvals/{approval_id}/approve"
PATH_INTENT_APPROVAL_DENY: Final = "/api/v1/intents/{intent_id}/approvals/{approval_id}/deny"
PATH_INTENT_GOVERNANCE: Final = "/api/v1/intents/{intent_id}/governance"
PATH_COORDINATORS: Final = "/api/v1/coordinators"
PATH_COORDINATOR: Final = "/api/v1/coordinators/{lease_id}"
PATH_COORDINATOR_HEARTBEAT: Final = "/api/v1/coordinators/{lease_id}/heartbeat"
PATH_INTENT_COORDINATORS: Final = "/api/v1/intents/{intent_id}/coordinators"
PATH_INTENT_COORDINATOR_DECISIONS: Final = "/api/v1/intents/{intent_id}/coordinator-decisions"

# -- RFC-0005 attachments -----------------------------------------------------------------

PATH_INTENT_ATTACHMENTS: Final = "/api/v1/intents/{intent_id}/attachments"
PATH_INTENT_ATTACHMENT: Final = "/api/v1/intents/{intent_id}/attachments/{attachment_id}"

# -- RFC-0006 subscriptions ---------------------------------------------------------------

# The reference server's SSE paths: lower-case protocol event names.
PATH_SUBSCRIBE_INTENT: Final = "/api/v1/subscribe/intents/{intent_id}"
PATH_SUBSCRIBE_PORTFOLIO: Final = "/api/v1/subscribe/portfolios/{portfolio_id}"
PATH_SUBSCRIBE_AGENT: Final = "/api/v1/subscribe/agents/{agent_id}"
# The paths the reference client and agent runtime open: upper-case runtime names.
PATH_INTENT_SUBSCRIBE: Final = "/api/v1/intents/{intent_id}/subscribe"
PATH_PORTFOLIO_SUBSCRIBE: Final = "/api/v1/portfolios/{portfolio_id}/subscribe"
PATH_AGENT_SUBSCRIBE: Final = "/api/v1/agents/{agent_id}/subscribe"
# Webhook subscriptions (called by the reference client only).
PATH_SUBSCRIPTIONS: Final = "/api/v1/subscriptions"
PATH_SUBSCRIPTION: Final = "/api/v1/subscriptions/{subscription_id}"

SSE_PING_COMMENT: Final = "ping"  # sent as the comment line ": ping"
SSE_KEEPALIVE_SECONDS: Final = 15
SSE_QUEUE_SIZE: Final = 100  # per-stream buffer of the reference server

# Event names the reference agent runtime routes on (client-style paths).
SSE_AGENT_ASSIGNED: Final = "AGENT_ASSIGNED"
SSE_STATE_CHANGED: Final = "STATE_CHANGED"
SSE_STATUS_CHANGED: Final = "STATUS_CHANGED"
SSE_LEASE_RELEASED: Final = "LEASE_RELEASED"
SSE_INTENT_COMPLETED: Final = "INTENT_COMPLETED"
# Portfolio stream names of the reference server (no event-log counterpart).
SSE_PORTFOLIO_CREATED: Final = "portfolio_created"
SSE_INTENT_ADDED: Final = "intent_added"
SSE_INTENT_REMOVED: Final = "intent_removed"

# -- RFC-0007 portfolios ------------------------------------------------------------------

PATH_PORTFOLIOS: Final = "/api/v1/portfolios"
PATH_PORTFOLIO: Final = "/api/v1/portfolios/{portfolio_id}"
PATH_PORTFOLIO_STATUS: Final = "/api/v1/portfolios/{portfolio_id}/status"
PATH_PORTFOLIO_INTENTS: Final = "/api/v1/portfolios/{portfolio_id}/intents"
PATH_PORTFOLIO_INTENT: Final = "/api/v1/portfolios/{portfolio_id}/intents/{intent_id}"
PATH_INTENT_PORTFOLIOS: Final = "/api/v1/intents/{intent_id}/portfolios"

# -- RFC-0009 costs, RFC-0010 retry -------------------------------------------------------

PATH_INTENT_COSTS: Final = "/api/v1/intents/{intent_id}/costs"
PATH_INTENT_RETRY_POLICY: Final = "/api/v1/intents/{intent_id}/retry-policy"
PATH_INTENT_FAILURES: Final = "/api/v1/intents/{intent_id}/failures"

# -- RFC-0011 access control --------------------------------------------------------------

PATH_INTENT_ACL: Final = "/api/v1/intents/{intent_id}/acl"
PATH_INTENT_ACL_ENTRIES: Final = "/api/v1/intents/{intent_id}/acl/entries"
PATH_INTENT_ACL_ENTRY: Final = "/api/v1/intents/{intent_id}/acl/entries/{entry_id}"
PATH_INTENT_ACCESS_REQUESTS: Final = "/api/v1/intents/{intent_id}/access-requests"
PATH_INTENT_ACCESS_REQUEST_APPROVE: Final = (
    "/api/v1/intents/{intent_id}/access-requests/{request_id}/approve"
)
PATH_INTENT_ACCESS_REQUEST_DENY: Final = (
    "/api/v1/intents/{intent_id}/access-requests/{request_id}/deny"
)

# -- RFC-0012 tasks and plans -------------------------------------------------------------

PATH_TASKS: Final = "/api/v1/tasks"
PATH_TASK: Final = "/api/v1/tasks/{task_id}"
PATH_INTENT_TASKS: Final = "/api/v1/intents/{intent_id}/tasks"
PATH_PLANS: Final = "/api/v1/plans"
PATH_PLAN: Final = "/api/v1/plans/{plan_id}"
PATH_INTENT_PLANS: Final = "/api/v1/intents/{intent_id}/plans"

# -- RFC-0014 vaults, credentials, grants, tools ------------------------------------------

PATH_VAULTS: Final = "/api/v1/vaults"
PATH_VAULT: Final = "/api/v1/vaults/{vault_id}"
PATH_CREDENTIALS: Final = "/api/v1/credentials"
PATH_CREDENTIAL: Final = "/api/v1/credentials/{credential_id}"
PATH_GRANTS: Final = "/api/v1/grants"
PATH_GRANT: Final = "/api/v1/grants/{grant_id}"
PATH_GRANT_INVOCATIONS: Final = "/api/v1/grants/{grant_id}/invocations"
PATH_AGENT_GRANTS: Final = "/api/v1/agents/{agent_id}/grants"
PATH_INVOCATIONS: Final = "/api/v1/invocations"
PATH_TOOLS_INVOKE: Final = "/api/v1/tools/invoke"

# -- RFC-0015 memory ----------------------------------------------------------------------

PATH_MEMORY: Final = "/api/v1/memory"
PATH_MEMORY_ENTRY: Final = "/api/v1/memory/{entry_id}"
PATH_AGENT_MEMORY: Final = "/api/v1/agents/{agent_id}/memory"

# -- RFC-0016 agent lifecycle -------------------------------------------------------------

PATH_AGENTS: Final = "/api/v1/agents"
PATH_AGENTS_REGISTER: Final = "/api/v1/agents/register"
PATH_AGENT_RECORD: Final = "/api/v1/agents/{agent_id}/record"
PATH_AGENT_HEARTBEAT: Final = "/api/v1/agents/{agent_id}/heartbeat"
PATH_AGENT_STATUS: Final = "/api/v1/agents/{agent_id}/status"

# -- RFC-0017 triggers --------------------------------------------------------------------

PATH_TRIGGERS: Final = "/api/v1/triggers"
PATH_TRIGGER: Final = "/api/v1/triggers/{trigger_id}"
PATH_TRIGGER_FIRE: Final = "/api/v1/triggers/{trigger_id}/fire"

# -- route tables -------------------------------------------------------------------------

#: (method, template) of every route the reference server serves in this scope.
ROUTES: Final[tuple[tuple[str, str], ...]] = (
    ("GET", PATH_WELL_KNOWN),
    ("GET", PATH_WELL_KNOWN_COMPAT),
    ("GET", PATH_SERVER_CONFIG),
    # RFC-0001
    ("POST", PATH_INTENTS),
    ("GET", PATH_INTENT),
    ("POST", PATH_INTENT_STATE),
    ("POST", PATH_INTENT_STATUS),
    ("GET", PATH_INTENT_EVENTS),
    ("POST", PATH_INTENT_EVENTS),
    ("GET", PATH_INTENT_AGENTS),
    ("POST", PATH_INTENT_AGENTS),
    ("POST", PATH_INTENT_SUSPEND_RESPOND),
    # RFC-0002
    ("POST", PATH_INTENT_CHILDREN),
    ("GET", PATH_INTENT_CHILDREN),
    ("GET", PATH_INTENT_DESCENDANTS),
    ("GET", PATH_INTENT_ANCESTORS),
    ("GET", PATH_INTENT_DEPENDENCIES),
    ("POST", PATH_INTENT_DEPENDENCIES),
    ("DELETE", PATH_INTENT_DEPENDENCY),
    ("GET", PATH_INTENT_DEPENDENTS),
    ("GET", PATH_INTENT_READY),
    ("GET", PATH_INTENT_BLOCKED),
    ("GET", PATH_INTENT_GRAPH),
    # RFC-0003
    ("GET", PATH_INTENT_LEASES),
    ("POST", PATH_INTENT_LEASES),
    ("PATCH", PATH_INTENT_LEASE),
    ("DELETE", PATH_INTENT_LEASE),
    # RFC-0004
    ("POST", PATH_INTENT_ARBITRATE),
    ("POST", PATH_INTENT_DECISIONS),
    ("GET", PATH_INTENT_DECISIONS),
    ("POST", PATH_DECISIONS),
    ("POST", PATH_INTENT_ESCALATIONS),
    ("GET", PATH_ESCALATIONS),
    ("POST", PATH_ESCALATION_RESOLVE),
    ("POST", PATH_INTENT_APPROVALS),
    ("GET", PATH_INTENT_APPROVAL),
    ("POST", PATH_INTENT_APPROVAL_APPROVE),
    ("POST", PATH_INTENT_APPROVAL_DENY),
    ("PUT", PATH_INTENT_GOVERNANCE),
    ("GET", PATH_INTENT_GOVERNANCE),
    ("DELETE", PATH_INTENT_GOVERNANCE),
    # RFC-0005
    ("GET", PATH_INTENT_ATTACHMENTS),
    ("POST", PATH_INTENT_ATTACHMENTS),
    ("DELETE", PATH_INTENT_ATTACHMENT),
    # RFC-0006
    ("GET", PATH_SUBSCRIBE_INTENT),
    ("GET", PATH_SUBSCRIBE_PORTFOLIO),
    ("GET", PATH_SUBSCRIBE_AGENT),
    # RFC-0007
    ("POST", PATH_PORTFOLIOS),
    ("GET", PATH_PORTFOLIOS),
    ("GET", PATH_PORTFOLIO),
    ("PATCH", PATH_PORTFOLIO_STATUS),
    ("GET", PATH_PORTFOLIO_INTENTS),
    ("POST", PATH_PORTFOLIO_INTENTS),
    ("DELETE", PATH_PORTFOLIO_INTENT),
    ("GET", PATH_INTENT_PORTFOLIOS),
    # RFC-0009, RFC-0010
    ("POST", PATH_INTENT_COSTS),
    ("GET", PATH_INTENT_COSTS),
    ("PUT", PATH_INTENT_RETRY_POLICY),
    ("GET", PATH_INTENT_RETRY_POLICY),
    ("POST", PATH_INTENT_FAILURES),
    ("GET", PATH_INTENT_FAILURES),
    # RFC-0011
    ("GET", PATH_INTENT_ACL),
    ("PUT", PATH_INTENT_ACL),
    ("POST", PATH_INTENT_ACL_ENTRIES),
    ("DELETE", PATH_INTENT_ACL_ENTRY),
    ("POST", PATH_INTENT_ACCESS_REQUESTS),
    ("GET", PATH_INTENT_ACCESS_REQUESTS),
    ("POST", PATH_INTENT_ACCESS_REQUEST_APPROVE),
    ("POST", PATH_INTENT_ACCESS_REQUEST_DENY),
    # RFC-0012
    ("POST", PATH_TASKS),
    ("GET", PATH_TASK),
    ("GET", PATH_INTENT_TASKS),
    ("PATCH", PATH_TASK),
    ("POST", PATH_PLANS),
    ("GET", PATH_PLAN),
    ("GET", PATH_INTENT_PLANS),
    ("PATCH", PATH_PLAN),
    # RFC-0013
    ("POST", PATH_COORDINATORS),
    ("GET", PATH_COORDINATOR),
    ("GET", PATH_INTENT_COORDINATORS),
    ("POST", PATH_COORDINATOR_HEARTBEAT),
    # RFC-0014
    ("POST", PATH_VAULTS),
    ("GET", PATH_VAULT),
    ("POST", PATH_CREDENTIALS),
    ("GET", PATH_CREDENTIAL),
    ("POST", PATH_GRANTS),
    ("GET", PATH_GRANT),
    ("GET", PATH_AGENT_GRANTS),
    ("DELETE", PATH_GRANT),
    ("POST", PATH_INVOCATIONS),
    ("GET", PATH_GRANT_INVOCATIONS),
    ("POST", PATH_TOOLS_INVOKE),
    # RFC-0015
    ("POST", PATH_MEMORY),
    ("GET", PATH_MEMORY_ENTRY),
    ("GET", PATH_AGENT_MEMORY),
    ("PATCH", PATH_MEMORY_ENTRY),
    ("DELETE", PATH_MEMORY_ENTRY),
    # RFC-0016
    ("POST", PATH_AGENTS_REGISTER),
    ("GET", PATH_AGENT_RECORD),
    ("GET", PATH_AGENTS),
    ("POST", PATH_AGENT_HEARTBEAT),
    ("PATCH", PATH_AGENT_STATUS),
    # RFC-0017
    ("POST", PATH_TRIGGERS),
    ("GET", PATH_TRIGGER),
    ("GET", PATH_TRIGGERS),
    ("PATCH", PATH_TRIGGER),
    ("POST", PATH_TRIGGER_FIRE),
    ("DELETE", PATH_TRIGGER),
)

#: (method, template) the reference client calls but the reference server does not serve
#: (C14, plus ``list_decision_records``); shapes are in the RFC files.
CLIENT_ONLY_ROUTES: Final[tuple[tuple[str, str], ...]] = (
    ("GET", PATH_INTENTS),
    ("DELETE", PATH_INTENT_AGENT),
    ("POST", PATH_SUBSCRIPTIONS),
    ("GET", PATH_SUBSCRIPTIONS),
    ("DELETE", PATH_SUBSCRIPTION),
    ("GET", PATH_INTENT_SUBSCRIBE),
    ("GET", PATH_PORTFOLIO_SUBSCRIBE),
    ("GET", PATH_AGENT_SUBSCRIBE),
    ("GET", PATH_INTENT_COORDINATOR_DECISIONS),
)

# -- event types (C11 and the RFC files) --------------------------------------------------
# The ``EVENT_*`` names below are the ones the reference server writes or that its
# client's ``EventType`` enum defines for the areas of this scope; the ``EVENTS_*`` sets
# list every name of an area (RFC names included) for routing and validation.

# RFC-0001
EVENT_INTENT_CREATED: Final = "intent_created"
EVENT_STATE_PATCHED: Final = "state_patched"
EVENT_STATUS_CHANGED: Final = "status_changed"
EVENT_AGENT_ASSIGNED: Final = "agent_assigned"
EVENT_AGENT_UNASSIGNED: Final = "agent_unassigned"
EVENT_COMMENT: Final = "comment"
EVENT_CONSTRAINT_ADDED: Final = "constraint_added"
EVENT_CONSTRAINT_REMOVED: Final = "constraint_removed"
# RFC-0002
EVENT_DEPENDENCY_ADDED: Final = "dependency_added"
EVENT_DEPENDENCY_REMOVED: Final = "dependency_removed"
# RFC-0003
EVENT_LEASE_ACQUIRED: Final = "lease_acquired"
EVENT_LEASE_RENEWED: Final = "lease_renewed"  # not in the client enum
EVENT_LEASE_RELEASED: Final = "lease_released"
# RFC-0004 / RFC-0013
EVENT_ARBITRATION_REQUESTED: Final = "arbitration_requested"
EVENT_DECISION_RECORDED: Final = "decision_recorded"
EVENT_ESCALATION_INITIATED: Final = "escalation_initiated"  # not in the client enum
EVENT_ESCALATION_RESOLVED: Final = "escalation_resolved"  # not in the client enum
EVENT_GOVERNANCE_POLICY_SET: Final = "governance.policy_set"
EVENT_GOVERNANCE_POLICY_REMOVED: Final = "governance.policy_removed"
EVENT_GOVERNANCE_APPROVAL_GRANTED: Final = "governance.approval_granted"
EVENT_GOVERNANCE_APPROVAL_DENIED: Final = "governance.approval_denied"
EVENT_GOVERNANCE_VIOLATION: Final = "governance.violation"
# RFC-0005 / RFC-0007 / RFC-0010 (in the client enum; the reference never writes them)
EVENT_ATTACHMENT_ADDED: Final = "attachment_added"
EVENT_PORTFOLIO_CREATED: Final = "portfolio_created"
EVENT_ADDED_TO_PORTFOLIO: Final = "added_to_portfolio"
EVENT_REMOVED_FROM_PORTFOLIO: Final = "removed_from_portfolio"
EVENT_FAILURE_RECORDED: Final = "failure_recorded"
# RFC-0011
EVENT_ACCESS_GRANTED: Final = "access_granted"
EVENT_ACCESS_REVOKED: Final = "access_revoked"
EVENT_ACCESS_EXPIRED: Final = "access_expired"
EVENT_ACCESS_REQUESTED: Final = "access_requested"
EVENT_ACCESS_REQUEST_APPROVED: Final = "access_request_approved"
EVENT_ACCESS_REQUEST_DENIED: Final = "access_request_denied"
# RFC-0025 (touches RFC-0001 status writes)
EVENT_INTENT_SUSPENDED: Final = "intent.suspended"
EVENT_INTENT_RESUMED: Final = "intent.resumed"

EVENTS_INTENTS: Final = frozenset(
    {
        EVENT_INTENT_CREATED,
        EVENT_STATE_PATCHED,
        EVENT_STATUS_CHANGED,
        EVENT_AGENT_ASSIGNED,
        EVENT_AGENT_UNASSIGNED,
        EVENT_COMMENT,
        EVENT_CONSTRAINT_ADDED,
        EVENT_CONSTRAINT_REMOVED,
    }
)
EVENTS_GRAPHS: Final = frozenset({EVENT_DEPENDENCY_ADDED, EVENT_DEPENDENCY_REMOVED})
EVENTS_LEASING: Final = frozenset({EVENT_LEASE_ACQUIRED, EVENT_LEASE_RENEWED, EVENT_LEASE_RELEASED})
EVENTS_GOVERNANCE: Final = frozenset(
    {
        EVENT_ARBITRATION_REQUESTED,
        EVENT_DECISION_RECORDED,
        EVENT_ESCALATION_INITIATED,
        EVENT_ESCALATION_RESOLVED,
        EVENT_GOVERNANCE_POLICY_SET,
        EVENT_GOVERNANCE_POLICY_REMOVED,
        EVENT_GOVERNANCE_APPROVAL_GRANTED,
        EVENT_GOVERNANCE_APPROVAL_DENIED,
        EVENT_GOVERNANCE_VIOLATION,
        "governance.approval_enforced",
    }
)
EVENTS_ATTACHMENTS: Final = frozenset({EVENT_ATTACHMENT_ADDED})
EVENTS_PORTFOLIOS: Final = frozenset(
    {
        EVENT_PORTFOLIO_CREATED,
        EVENT_ADDED_TO_PORTFOLIO,
        EVENT_REMOVED_FROM_PORTFOLIO,
        "portfolio.member_suspended",
        "portfolio.member_resumed",
    }
)
EVENTS_RETRY: Final = frozenset({EVENT_FAILURE_RECORDED})
EVENTS_ACCESS: Final = frozenset(
    {
        EVENT_ACCESS_GRANTED,
        EVENT_ACCESS_REVOKED,
        EVENT_ACCESS_EXPIRED,
        EVENT_ACCESS_REQUESTED,
        EVENT_ACCESS_REQUEST_APPROVED,
        EVENT_ACCESS_REQUEST_DENIED,
    }
)
# RFC-0008: posted by clients through the generic events endpoint.
EVENTS_LLM: Final = frozenset(
    {
        "llm_request_started",
        "llm_request_completed",
        "llm_request_failed",
        "tool_call_started",
        "tool_call_completed",
        "tool_call_failed",
        "stream_started",
        "stream_chunk",
        "stream_completed",
        "stream_cancelled",
    }
)
# RFC-0012
EVENTS_TASKS: Final = frozenset(
    {
        "task.blocked",
        "task.cancelled",
        "task.claimed",
        "task.completed",
        "task.created",
        "task.delegated",
        "task.escalated",
        "task.failed",
        "task.progress",
        "task.ready",
        "task.retrying",
        "task.skipped",
        "task.started",
        "task.unblocked",
    }
)
# RFC-0012
EVENTS_PLANS: Final = frozenset(
    {
        "plan.activated",
        "plan.checkpoint_approved",
        "plan.checkpoint_reached",
        "plan.checkpoint_rejected",
        "plan.completed",
        "plan.created",
        "plan.failed",
        "plan.paused",
        "plan.resumed",
    }
)
# RFC-0013
EVENTS_COORDINATOR: Final = frozenset(
    {
        "coordinator.decision",
        "coordinator.escalation_resolved",
        "coordinator.failed_over",
        "coordinator.guardrails_updated",
        "coordinator.handoff",
        "coordinator.heartbeat",
        "coordinator.paused",
        "coordinator.plan_overridden",
        "coordinator.replaced",
        "coordinator.resumed",
        "coordinator.stalled",
        "coordinator.unresponsive",
    }
)
# RFC-0014
EVENTS_TOOLS: Final = frozenset(
    {
        "credential.created",
        "credential.expired",
        "credential.revoked",
        "credential.rotated",
        "grant.created",
        "grant.delegated",
        "grant.expired",
        "grant.resumed",
        "grant.revoked",
        "grant.suspended",
        "tool.denied",
        "tool.invoked",
    }
)
# RFC-0015
EVENTS_MEMORY: Final = frozenset(
    {
        "memory.archived",
        "memory.created",
        "memory.deleted",
        "memory.evicted",
        "memory.expired",
        "memory.updated",
    }
)
# RFC-0016
EVENTS_AGENTS: Final = frozenset(
    {"agent.lifecycle", "agent.registered", "agent.status_changed", "agent.dead"}
)
# RFC-0017
EVENTS_TRIGGERS: Final = frozenset(
    {"trigger.fired", "trigger.skipped", "trigger.cascade_limit", "trigger.namespace_blocked"}
)
# RFC-0025
EVENTS_SUSPENSION: Final = frozenset(
    {
        EVENT_INTENT_SUSPENDED,
        EVENT_INTENT_RESUMED,
        "intent.suspension_expired",
        "intent.suspension_renotified",
        "intent.suspension_escalated",
        "engagement.decision",
    }
)

#: What the reference server itself writes to intent event logs (C11).
SERVER_WRITTEN_EVENTS: Final = frozenset(
    {
        EVENT_INTENT_CREATED,
        EVENT_STATE_PATCHED,
        EVENT_STATUS_CHANGED,
        EVENT_AGENT_ASSIGNED,
        EVENT_DEPENDENCY_ADDED,
        EVENT_DEPENDENCY_REMOVED,
        EVENT_LEASE_ACQUIRED,
        EVENT_LEASE_RENEWED,
        EVENT_LEASE_RELEASED,
        EVENT_ARBITRATION_REQUESTED,
        EVENT_DECISION_RECORDED,
        EVENT_ESCALATION_INITIATED,
        EVENT_ESCALATION_RESOLVED,
        EVENT_GOVERNANCE_POLICY_SET,
        EVENT_GOVERNANCE_POLICY_REMOVED,
        EVENT_GOVERNANCE_APPROVAL_GRANTED,
        EVENT_GOVERNANCE_APPROVAL_DENIED,
        EVENT_GOVERNANCE_VIOLATION,
        EVENT_ACCESS_GRANTED,
        EVENT_ACCESS_REVOKED,
        EVENT_ACCESS_REQUESTED,
        EVENT_ACCESS_REQUEST_APPROVED,
        EVENT_ACCESS_REQUEST_DENIED,
        EVENT_INTENT_RESUMED,
    }
)

#: Server-written types the reference client's ``get_events`` cannot parse (C11, C13).
EVENTS_MISSING_FROM_CLIENT_ENUM: Final = frozenset(
    {EVENT_LEASE_RENEWED, EVENT_ESCALATION_INITIATED, EVENT_ESCALATION_RESOLVED}
)
