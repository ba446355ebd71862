"""RFC-0019: log checkpoints over event hashes, Merkle inclusion proofs, chain checks.

Hashes are written ``sha256:<base64url, unpadded>`` of the raw digest. A Merkle node is
SHA-256 over the raw bytes of its left child followed by its right child; a proof entry
names a sibling and the side (``left``/``right``) it sits on. :func:`merkle_root` and
:func:`merkle_proof` build what :meth:`MerkleProof.verify` checks; a node without a
sibling moves up a level unchanged (nothing is duplicated).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel

__all__ = [
    "ChainVerification",
    "ConsistencyProof",
    "LogCheckpoint",
    "MerkleProof",
    "MerkleProofEntry",
    "TimestampAnchor",
    "decode_hash",
    "encode_hash",
    "merkle_proof",
    "merkle_root",
]

_PREFIX = "sha256:"


def encode_hash(digest: bytes) -> str:
    """``sha256:`` plus the unpadded URL-safe base64 of a raw digest."""
    return _PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def decode_hash(text: str) -> bytes:
    """The raw digest of an encoded hash (prefix optional); ``ValueError`` if malformed."""
    body = text.removeprefix(_PREFIX)
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64url hash: {text!r}") from exc


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(left + right).digest()


def _levels(leaves: Sequence[str]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [[decode_hash(leaf) for leaf in leaves]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [_node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def merkle_root(leaves: Sequence[str]) -> str:
    """The encoded root over encoded leaf hashes, in order."""
    return encode_hash(_levels(leaves)[-1][0])


@attrs.define
class MerkleProofEntry(WireModel):
    """One sibling on the path from a leaf to the root, and its side: ``left`` or ``right``."""

    hash: str
    position: str


def merkle_proof(leaves: Sequence[str], index: int) -> list[MerkleProofEntry]:
    """The siblings proving that ``leaves[index]`` is under :func:`merkle_root` of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside 0..{len(leaves) - 1}")
    path = []
    for level in _levels(leaves)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            side = "left" if sibling < index else "right"
            path.append(MerkleProofEntry(hash=encode_hash(level[sibling]), position=side))
        index //= 2
    return path


@attrs.define
class MerkleProof(WireModel):
    """Proof that event ``event_id`` is included in checkpoint ``checkpoint_id``."""

    event_id: str
    event_hash: str
    checkpoint_id: str
    merkle_root: str
    proof_hashes: list[MerkleProofEntry] = attrs.field(factory=list)
    leaf_index: int = 0

    def verify(self) -> bool:
        """Recompute the root from ``event_hash`` and the path; ``False`` on any bad hash."""
        try:
            current = decode_hash(self.event_hash)
            for entry in self.proof_hashes:
                sibling = decode_hash(entry.hash)
                current = (
                    _node(sibling, current) if entry.position == "left" else _node(current, sibling)
                )
            return current == decode_hash(self.merkle_root)
        except ValueError:
            return False


@attrs.define
class TimestampAnchor(WireModel):
    """Evidence from an external timestamping service that a checkpoint existed."""

    type: str = "external-timestamp"
    provider: str = ""
    reference: str = ""
    timestamp_proof: str = ""
    anchored_at: dt.datetime | None = None


@attrs.define
class LogCheckpoint(WireModel):
    """A signed Merkle root over events ``first_sequence..last_sequence`` of a scope."""

    checkpoint_id: str
    intent_id: str | None = None
    scope: str = "intent"
    merkle_root: str = ""
    event_count: int = 0
    first_sequence: int = 0
    last_sequence: int = 0
    created_at: dt.datetime | None = None
    signed_by: str | None = None
    signature: str | None = None
    anchor: TimestampAnchor | None = None

    def covers(self, sequence: int) -> bool:
        return self.event_count > 0 and self.first_sequence <= sequence <= self.last_sequence


@attrs.define
class ChainVerification(WireModel):
    """Result of checking an intent's event hash chain; the client also reads ``chain_valid``."""

    intent_id: str
    valid: bool = wire_field(aliases=("chain_valid",), emit_aliases=("chain_valid",))
    event_count: int = 0
    first_sequence: int = 0
    last_sequence: int = 0
    breaks: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define
class ConsistencyProof(WireModel):
    """Whether a later checkpoint extends an earlier one without rewriting history."""

    from_checkpoint: str
    to_checkpoint: str
    consistent: bool
    boundary_event: dict[str, Any] | None = wire_field(default=None, omit_if_none=True)
