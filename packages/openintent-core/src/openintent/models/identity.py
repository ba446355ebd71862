"""RFC-0018: cryptographic agent identities, key-registration challenges, event proofs.

No rfc file of this checkout covers RFC-0018; field names and defaults are the
reference client's (sdk.md §5.3) and request bodies what its identity methods send
(sdk.md §3.15).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import sparse

__all__ = [
    "AgentIdentity",
    "EventProof",
    "IdentityChallenge",
    "IdentityChallengeCompleteRequest",
    "IdentityRegisterRequest",
    "IdentityVerification",
    "KeyRotateRequest",
    "SignatureVerifyRequest",
]


@attrs.define
class AgentIdentity(WireModel):
    """An agent's registered public key and DID; ``previous_keys`` after rotations."""

    agent_id: str
    public_key: str
    did: str
    key_algorithm: str = "Ed25519"
    registered_at: dt.datetime | None = None
    key_expires_at: dt.datetime | None = None
    previous_keys: list[str] = attrs.field(factory=list)
    metadata: dict[str, Any] = attrs.field(factory=dict)

    def is_key_expired(self, now: dt.datetime) -> bool:
        return self.key_expires_at is not None and now >= self.key_expires_at

    def knows_key(self, public_key: str) -> bool:
        """The current or a rotated-out key: old signatures stay attributable."""
        return public_key == self.public_key or public_key in self.previous_keys


@attrs.define
class IdentityChallenge(WireModel):
    """A nonce the agent signs with its private key to prove possession."""

    challenge: str
    challenge_expires_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)

    def is_expired(self, now: dt.datetime) -> bool:
        return self.challenge_expires_at is not None and now >= self.challenge_expires_at


@attrs.define
class IdentityVerification(WireModel):
    """Whether a signature over a payload verified against the agent's key."""

    valid: bool
    agent_id: str = ""
    did: str = ""
    verified_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class EventProof(WireModel):
    """A signature attached to an event. ``created`` stays text: it is signed data."""

    type: str = "Ed25519Signature2026"
    created: str | None = wire_field(default=None, omit_if_none=True)
    verification_method: str | None = wire_field(default=None, omit_if_none=True)
    signature: str | None = wire_field(default=None, omit_if_none=True)


# -- request bodies -------------------------------------------------------------------


@sparse
@attrs.define(slots=False)
class IdentityRegisterRequest(WireModel):
    """Body of ``POST /api/v1/agents/{id}/identity``; answered with a challenge."""

    public_key: str
    key_algorithm: str = "Ed25519"
    key_expires_at: dt.datetime | None = None


@sparse
@attrs.define(slots=False)
class IdentityChallengeCompleteRequest(WireModel):
    """Body of ``POST /api/v1/agents/{id}/identity/challenge``."""

    challenge: str
    signature: str


@sparse
@attrs.define(slots=False)
class SignatureVerifyRequest(WireModel):
    """Body of ``POST /api/v1/agents/{id}/identity/verify``."""

    payload: dict[str, Any]
    signature: str


@sparse
@attrs.define(slots=False)
class KeyRotateRequest(WireModel):
    """Body of ``POST /api/v1/agents/{id}/identity/rotate``, signed with the old key."""

    new_public_key: str
    old_public_key: str
    signature: str
    action: str = "rotate"
