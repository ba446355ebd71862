"""Where each public name of ``openintent`` lives, and which distribution ships it.

Read by ``openintent/__init__.py`` to import names lazily. Model names are the ones
the reference SDK exports; ``Plan`` and ``Trigger`` here are the models, the class
decorators of the same names live in ``openintent.agents``.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTIONS", "EXPORTS"]

DISTRIBUTIONS: dict[str, str] = {
    "openintent.models": "openintent-core",
    "openintent.exceptions": "openintent-core",
    "openintent.validation": "openintent-core",
    "openintent.core": "openintent-core",
    "openintent.client": "openintent-client",
    "openintent.streaming": "openintent-client",
    "openintent.agents": "openintent-agents",
    "openintent.workflow": "openintent-agents",
    "openintent.adapters": "openintent-adapters",
    "openintent.server": "openintent-server",
}

_MODELS = """
Intent IntentState IntentStatus IntentEvent EventType IntentLease LeaseStatus IntentACL
ACLEntry AccessPolicy AccessRequest AccessRequestStatus Permission PeerInfo IntentContext
ArbitrationRequest Decision IntentPortfolio PortfolioStatus PortfolioMembership
MembershipRole AggregateStatus IntentAttachment IntentCost CostSummary CostType RetryPolicy
RetryStrategy IntentFailure IntentSubscription ToolCallPayload LLMRequestPayload StreamState
StreamStatus
Task TaskStatus Plan PlanState Checkpoint PlanCondition MemoryPolicy ToolRequirement
CoordinatorLease CoordinatorType CoordinatorStatus Guardrails DecisionRecord DecisionType
Escalation EscalationStatus EscalationPriority ApprovalRequest ApprovalStatus
CredentialVault Credential ToolGrant ToolInvocation GrantConstraints
MemoryEntry MemoryType MemoryScope
AgentRecord AgentStatus Heartbeat AgentCapacity HeartbeatConfig
Trigger TriggerType TriggerCondition IntentTemplate TriggerLineage
AgentIdentity IdentityChallenge IdentityVerification EventProof
ChainVerification ConsistencyProof LogCheckpoint MerkleProof MerkleProofEntry TimestampAnchor
TracingContext
Channel ChannelMessage ChannelOptions ChannelStatus MemberPolicy MessageStatus MessageType
ResponseType SuspensionChoice SuspensionRecord EngagementSignals EngagementDecision
InputResponse EscalationStep HumanRetryPolicy
"""

_EXCEPTIONS = """
OpenIntentError ConflictError NotFoundError LeaseConflictError ValidationError
InputValidationError InputTimeoutError InputCancelledError APIError AuthenticationError
ForbiddenError GoneError PayloadTooLargeError RateLimitError
"""

_VALIDATION = """
validate_required validate_string_length validate_positive_int validate_non_negative
validate_uuid validate_url validate_scope validate_agent_id validate_intent_create
validate_lease_acquire validate_cost_record validate_subscription
"""

_CLIENT = "OpenIntentClient AsyncOpenIntentClient"

_STREAMING = "SSEEvent SSEEventType SSEStream SSESubscription EventQueue"

_AGENTS = """
Agent BaseAgent Coordinator Worker AgentConfig Identity IntentSpec PortfolioSpec
GuardrailError input_guardrail output_guardrail
on_access_requested on_all_complete on_approval_denied on_approval_granted on_assignment
on_complete on_conflict on_drain on_engagement_decision on_escalation on_event
on_governance_blocked on_handoff on_identity_registered on_input_received
on_input_requested on_lease_available on_message on_quorum on_retry on_state_change
on_suspension_expired on_task on_trigger
LLMConfig LLMEngine ToolDef define_tool Tool tool MCPTool parse_mcp_uri
"""

_WORKFLOW = """
WorkflowSpec WorkflowError WorkflowValidationError WorkflowNotFoundError IdentityConfig
VerificationConfig PhaseConfig GovernanceConfig validate_workflow MissingOutputError
OutputTypeMismatchError UnresolvableInputError UpstreamIntentSuspendedError
InputWiringError WorkflowAccessPolicy AllowEntry DelegateConfig PermissionLevel
PermissionsConfig
"""

_SERVER = "OpenIntentServer ServerConfig create_app"


def _table() -> dict[str, str]:
    groups = (
        ("openintent.models", _MODELS),
        ("openintent.exceptions", _EXCEPTIONS),
        ("openintent.validation", _VALIDATION),
        ("openintent.client", _CLIENT),
        ("openintent.streaming", _STREAMING),
        ("openintent.agents", _AGENTS),
        ("openintent.workflow", _WORKFLOW),
        ("openintent.server", _SERVER),
    )
    table: dict[str, str] = {}
    for module, names in groups:
        for name in names.split():
            if name in table:
                raise RuntimeError(f"{name} exported twice")
            table[name] = module
    return table


EXPORTS: dict[str, str] = _table()
