"""RFC-0018 agent identity and RFC-0019 verifiable event logs."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models
from openintent.client.endpoints._util import api
from openintent.models.identity import AgentIdentity, IdentityChallenge, IdentityVerification
from openintent.models.verifiable_logs import (
    ChainVerification,
    ConsistencyProof,
    LogCheckpoint,
    MerkleProof,
)

__all__ = [
    "complete_identity_challenge",
    "get_checkpoint",
    "get_identity",
    "get_merkle_proof",
    "list_checkpoints",
    "register_identity",
    "rotate_key",
    "verify_consistency",
    "verify_event_chain",
    "verify_signature",
]


def register_identity(
    ctx: Context,
    /,
    agent_id: str,
    public_key: str,
    key_algorithm: str = "Ed25519",
    key_expires_at: str | None = None,
) -> Call[IdentityChallenge]:
    """Start registering a public key; sign the returned challenge to complete it."""
    body: dict[str, Any] = {"public_key": public_key, "key_algorithm": key_algorithm}
    if key_expires_at:
        body["key_expires_at"] = key_expires_at
    return Call("POST", api("agents", agent_id, "identity"), model(IdentityChallenge), json=body)


def complete_identity_challenge(
    ctx: Context, /, agent_id: str, challenge: str, signature: str
) -> Call[AgentIdentity]:
    body = {"challenge": challenge, "signature": signature}
    return Call(
        "POST", api("agents", agent_id, "identity", "challenge"), model(AgentIdentity), json=body
    )


def get_identity(ctx: Context, /, agent_id: str) -> Call[AgentIdentity]:
    return Call("GET", api("agents", agent_id, "identity"), model(AgentIdentity))


def verify_signature(
    ctx: Context, /, agent_id: str, payload: dict[str, Any], signature: str
) -> Call[IdentityVerification]:
    body = {"payload": payload, "signature": signature}
    return Call(
        "POST",
        api("agents", agent_id, "identity", "verify"),
        model(IdentityVerification),
        json=body,
        idempotent=True,  # a check, not a change
    )


def rotate_key(
    ctx: Context, /, agent_id: str, new_public_key: str, old_public_key: str, signature: str
) -> Call[AgentIdentity]:
    body = {
        "action": "rotate",
        "new_public_key": new_public_key,
        "old_public_key": old_public_key,
        "signature": signature,
    }
    return Call(
        "POST", api("agents", agent_id, "identity", "rotate"), model(AgentIdentity), json=body
    )


def verify_event_chain(ctx: Context, /, intent_id: str) -> Call[ChainVerification]:
    return Call("GET", api("intents", intent_id, "events", "verify"), model(ChainVerification))


def list_checkpoints(
    ctx: Context, /, intent_id: str | None = None, scope: str | None = None
) -> Call[list[LogCheckpoint]]:
    return Call(
        "GET",
        api("checkpoints"),
        models(LogCheckpoint, "checkpoints"),
        params={"intent_id": intent_id, "scope": scope},
    )


def get_checkpoint(ctx: Context, /, checkpoint_id: str) -> Call[LogCheckpoint]:
    return Call("GET", api("checkpoints", checkpoint_id), model(LogCheckpoint))


def get_merkle_proof(ctx: Context, /, checkpoint_id: str, event_id: str) -> Call[MerkleProof]:
    return Call("GET", api("checkpoints", checkpoint_id, "proof", event_id), model(MerkleProof))


def verify_consistency(
    ctx: Context, /, from_checkpoint: str, to_checkpoint: str
) -> Call[ConsistencyProof]:
    return Call(
        "GET",
        api("verify", "consistency"),
        model(ConsistencyProof),
        params={"from_checkpoint": from_checkpoint, "to_checkpoint": to_checkpoint},
    )
