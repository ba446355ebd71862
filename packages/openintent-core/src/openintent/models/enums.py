"""Every enumeration of the protocol, with the values that go on the wire.

All are ``StrEnum``: a member compares equal to its wire string, so user code may
pass ``"completed"`` where ``IntentStatus.COMPLETED`` is expected.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AccessPolicy",
    "AccessRequestStatus",
    "AgentStatus",
    "ApprovalStatus",
    "AuthType",
    "ChannelStatus",
    "CheckpointTimeoutAction",
    "CompletionMode",
    "CompositeMode",
    "CoordinatorScope",
    "CoordinatorStatus",
    "CoordinatorType",
    "CostType",
    "CredentialStatus",
    "DecisionType",
    "DeduplicationMode",
    "EscalationPriority",
    "EscalationStatus",
    "EventType",
    "EvictionPolicy",
    "GrantSource",
    "GrantStatus",
    "GuardrailExceedAction",
    "IntentStatus",
    "InvocationStatus",
    "LeaseStatus",
    "MemberPolicy",
    "MembershipRole",
    "MemoryPriority",
    "MemorySensitivity",
    "MemoryType",
    "MessageStatus",
    "MessageType",
    "Permission",
    "PlanFailureAction",
    "PlanState",
    "PortfolioStatus",
    "ResponseType",
    "RetryStrategy",
    "StreamStatus",
    "TaskStatus",
    "TriggerState",
    "TriggerType",
    "WriteScope",
]


class IntentStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    BLOCKED = "blocked"
    SUSPENDED_AWAITING_INPUT = "suspended_awaiting_input"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class EventType(StrEnum):
    """Event types: the reference client's 126 plus three the reference server writes.

    Fields typed ``EventType | str`` keep unknown types as plain strings, so a custom
    event never breaks reading a log.
    """

    INTENT_CREATED = "intent_created"
    STATE_PATCHED = "state_patched"
    STATUS_CHANGED = "status_changed"
    AGENT_ASSIGNED = "agent_assigned"
    AGENT_UNASSIGNED = "agent_unassigned"
    CONSTRAINT_ADDED = "constraint_added"
    CONSTRAINT_REMOVED = "constraint_removed"
    DEPENDENCY_ADDED = "dependency_added"
    DEPENDENCY_REMOVED = "dependency_removed"
    LEASE_ACQUIRED = "lease_acquired"
    LEASE_RELEASED = "lease_released"
    ARBITRATION_REQUESTED = "arbitration_requested"
    DECISION_RECORDED = "decision_recorded"
    ATTACHMENT_ADDED = "attachment_added"
    PORTFOLIO_CREATED = "portfolio_created"
    ADDED_TO_PORTFOLIO = "added_to_portfolio"
    REMOVED_FROM_PORTFOLIO = "removed_from_portfolio"
    FAILURE_RECORDED = "failure_recorded"
    COMMENT = "comment"
    TOOL_CALL_STARTED = "tool_call_started"
    TOOL_CALL_COMPLETED = "tool_call_completed"
    TOOL_CALL_FAILED = "tool_call_failed"
    LLM_REQUEST_STARTED = "llm_request_started"
    LLM_REQUEST_COMPLETED = "llm_request_completed"
    LLM_REQUEST_FAILED = "llm_request_failed"
    STREAM_STARTED = "stream_started"
    STREAM_CHUNK = "stream_chunk"
    STREAM_COMPLETED = "stream_completed"
    STREAM_CANCELLED = "stream_cancelled"
    ACCESS_GRANTED = "access_granted"
    ACCESS_REVOKED = "access_revoked"
    ACCESS_EXPIRED = "access_expired"
    ACCESS_REQUESTED = "access_requested"
    ACCESS_REQUEST_APPROVED = "access_request_approved"
    ACCESS_REQUEST_DENIED = "access_request_denied"
    TASK_CREATED = "task.created"
    TASK_READY = "task.ready"
    TASK_CLAIMED = "task.claimed"
    TASK_STARTED = "task.started"
    TASK_PROGRESS = "task.progress"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_RETRYING = "task.retrying"
    TASK_BLOCKED = "task.blocked"
    TASK_UNBLOCKED = "task.unblocked"
    TASK_DELEGATED = "task.delegated"
    TASK_ESCALATED = "task.escalated"
    TASK_CANCELLED = "task.cancelled"
    TASK_SKIPPED = "task.skipped"
    PLAN_CREATED = "plan.created"
    PLAN_ACTIVATED = "plan.activated"
    PLAN_PAUSED = "plan.paused"
    PLAN_RESUMED = "plan.resumed"
    PLAN_COMPLETED = "plan.completed"
    PLAN_FAILED = "plan.failed"
    PLAN_CHECKPOINT_REACHED = "plan.checkpoint_reached"
    PLAN_CHECKPOINT_APPROVED = "plan.checkpoint_approved"
    PLAN_CHECKPOINT_REJECTED = "plan.checkpoint_rejected"
    COORDINATOR_DECISION = "coordinator.decision"
    COORDINATOR_HEARTBEAT = "coordinator.heartbeat"
    COORDINATOR_PAUSED = "coordinator.paused"
    COORDINATOR_RESUMED = "coordinator.resumed"
    COORDINATOR_REPLACED = "coordinator.replaced"
    COORDINATOR_UNRESPONSIVE = "coordinator.unresponsive"
    COORDINATOR_FAILED_OVER = "coordinator.failed_over"
    COORDINATOR_HANDOFF = "coordinator.handoff"
    COORDINATOR_PLAN_OVERRIDDEN = "coordinator.plan_overridden"
    COORDINATOR_GUARDRAILS_UPDATED = "coordinator.guardrails_updated"
    COORDINATOR_STALLED = "coordinator.stalled"
    COORDINATOR_ESCALATION_RESOLVED = "coordinator.escalation_resolved"
    GOVERNANCE_POLICY_SET = "governance.policy_set"
    GOVERNANCE_POLICY_REMOVED = "governance.policy_removed"
    GOVERNANCE_APPROVAL_GRANTED = "governance.approval_granted"
    GOVERNANCE_APPROVAL_DENIED = "governance.approval_denied"
    GOVERNANCE_VIOLATION = "governance.violation"
    TOOL_INVOKED = "tool.invoked"
    TOOL_DENIED = "tool.denied"
    GRANT_CREATED = "grant.created"
    GRANT_DELEGATED = "grant.delegated"
    GRANT_REVOKED = "grant.revoked"
    GRANT_EXPIRED = "grant.expired"
    GRANT_SUSPENDED = "grant.suspended"
    GRANT_RESUMED = "grant.resumed"
    CREDENTIAL_CREATED = "credential.created"
    CREDENTIAL_ROTATED = "credential.rotated"
    CREDENTIAL_EXPIRED = "credential.expired"
    CREDENTIAL_REVOKED = "credential.revoked"
    MEMORY_CREATED = "memory.created"
    MEMORY_UPDATED = "memory.updated"
    MEMORY_DELETED = "memory.deleted"
    MEMORY_ARCHIVED = "memory.archived"
    MEMORY_EVICTED = "memory.evicted"
    MEMORY_EXPIRED = "memory.expired"
    AGENT_LIFECYCLE = "agent.lifecycle"
    AGENT_REGISTERED = "agent.registered"
    AGENT_STATUS_CHANGED = "agent.status_changed"
    AGENT_DEAD = "agent.dead"
    TRIGGER_FIRED = "trigger.fired"
    TRIGGER_SKIPPED = "trigger.skipped"
    TRIGGER_CASCADE_LIMIT = "trigger.cascade_limit"
    TRIGGER_NAMESPACE_BLOCKED = "trigger.namespace_blocked"
    IDENTITY_REGISTERED = "agent.identity.registered"
    IDENTITY_ROTATED = "agent.identity.rotated"
    IDENTITY_REVOKED = "agent.identity.revoked"
    IDENTITY_CHALLENGE_ISSUED = "agent.identity.challenge_issued"
    IDENTITY_VERIFIED = "agent.identity.verified"
    LOG_CHECKPOINT_CREATED = "log.checkpoint.created"
    LOG_CHECKPOINT_ANCHORED = "log.checkpoint.anchored"
    CHANNEL_CREATED = "channel.created"
    CHANNEL_CLOSED = "channel.closed"
    CHANNEL_MESSAGE = "channel.message"
    GOVERNANCE_APPROVAL_ENFORCED = "governance.approval_enforced"
    FEDERATION_DISPATCHED = "federation.dispatched"
    FEDERATION_RECEIVED = "federation.received"
    FEDERATION_CALLBACK = "federation.callback"
    FEDERATION_BUDGET_WARNING = "federation.budget_warning"
    FEDERATION_COMPLETED = "federation.completed"
    FEDERATION_FAILED = "federation.failed"
    INTENT_SUSPENDED = "intent.suspended"
    INTENT_RESUMED = "intent.resumed"
    INTENT_SUSPENSION_EXPIRED = "intent.suspension_expired"
    ENGAGEMENT_DECISION = "engagement.decision"
    INTENT_SUSPENSION_RENOTIFIED = "intent.suspension_renotified"
    INTENT_SUSPENSION_ESCALATED = "intent.suspension_escalated"
    PORTFOLIO_MEMBER_SUSPENDED = "portfolio.member_suspended"
    PORTFOLIO_MEMBER_RESUMED = "portfolio.member_resumed"
    LEASE_RENEWED = "lease_renewed"
    ESCALATION_INITIATED = "escalation_initiated"
    ESCALATION_RESOLVED = "escalation_resolved"

    # Older names kept for code written against earlier releases.
    CREATED = "intent_created"
    STATE_UPDATED = "state_patched"


class LeaseStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    REVOKED = "revoked"


class StreamStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class PortfolioStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class MembershipRole(StrEnum):
    PRIMARY = "primary"
    MEMBER = "member"
    DEPENDENCY = "dependency"


class RetryStrategy(StrEnum):
    NONE = "none"
    FIXED = "fixed"
    EXPONENTIAL = "exponential"
    LINEAR = "linear"


class CostType(StrEnum):
    TOKENS = "tokens"
    API_CALL = "api_call"
    COMPUTE = "compute"
    CUSTOM = "custom"


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class AccessPolicy(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AccessRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class TaskStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    CLAIMED = "claimed"
    RUNNING = "running"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class PlanState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CheckpointTimeoutAction(StrEnum):
    ESCALATE = "escalate"
    AUTO_APPROVE = "auto_approve"
    FAIL = "fail"


class PlanFailureAction(StrEnum):
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    NOTIFY = "notify"
    FAIL = "fail"
    RETRY = "retry"


class CoordinatorType(StrEnum):
    LLM = "llm"
    HUMAN = "human"
    COMPOSITE = "composite"
    SYSTEM = "system"


class CoordinatorStatus(StrEnum):
    REGISTERING = "registering"
    ACTIVE = "active"
    PAUSED = "paused"
    UNRESPONSIVE = "unresponsive"
    FAILED_OVER = "failed_over"
    COMPLETING = "completing"
    COMPLETED = "completed"


class CoordinatorScope(StrEnum):
    INTENT = "intent"
    PORTFOLIO = "portfolio"


class CompositeMode(StrEnum):
    PROPOSE_APPROVE = "propose-approve"
    ACT_NOTIFY = "act-notify"
    ACT_AUDIT = "act-audit"


class GuardrailExceedAction(StrEnum):
    PAUSE = "pause"
    ESCALATE = "escalate"
    PAUSE_AND_ESCALATE = "pause_and_escalate"
    FAIL = "fail"


class CompletionMode(StrEnum):
    AUTO = "auto"
    REQUIRE_APPROVAL = "require_approval"
    QUORUM = "quorum"


class WriteScope(StrEnum):
    ANY = "any"
    ASSIGNED_ONLY = "assigned_only"


class DecisionType(StrEnum):
    PLAN_CREATED = "plan_created"
    PLAN_MODIFIED = "plan_modified"
    TASK_ASSIGNED = "task_assigned"
    TASK_DELEGATED = "task_delegated"
    ESCALATION_INITIATED = "escalation_initiated"
    ESCALATION_RESOLVED = "escalation_resolved"
    CHECKPOINT_EVALUATED = "checkpoint_evaluated"
    FAILURE_HANDLED = "failure_handled"
    GUARDRAIL_APPROACHED = "guardrail_approached"
    COORDINATOR_HANDOFF = "coordinator_handoff"


class EscalationStatus(StrEnum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    EXPIRED = "expired"


class EscalationPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


class AuthType(StrEnum):
    API_KEY = "api_key"
    OAUTH2_TOKEN = "oauth2_token"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"
    BEARER_TOKEN = "bearer_token"
    BASIC_AUTH = "basic_auth"
    CONNECTION_STRING = "connection_string"
    CUSTOM = "custom"


class CredentialStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class GrantSource(StrEnum):
    DIRECT = "direct"
    DELEGATED = "delegated"


class InvocationStatus(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"


class MemoryType(StrEnum):
    WORKING = "working"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"


class MemoryPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class EvictionPolicy(StrEnum):
    LRU = "lru"


class MemorySensitivity(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class AgentStatus(StrEnum):
    REGISTERING = "registering"
    ACTIVE = "active"
    DRAINING = "draining"
    UNHEALTHY = "unhealthy"
    DEAD = "dead"
    DEREGISTERED = "deregistered"


class TriggerType(StrEnum):
    SCHEDULE = "schedule"
    EVENT = "event"
    WEBHOOK = "webhook"


class DeduplicationMode(StrEnum):
    ALLOW = "allow"
    SKIP = "skip"
    QUEUE = "queue"


class TriggerState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"


class MessageType(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    NOTIFY = "notify"
    BROADCAST = "broadcast"


class MessageStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    READ = "read"
    EXPIRED = "expired"


class ChannelStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class MemberPolicy(StrEnum):
    EXPLICIT = "explicit"
    INTENT = "intent"


class ResponseType(StrEnum):
    CHOICE = "choice"
    CONFIRM = "confirm"
    TEXT = "text"
    FORM = "form"
