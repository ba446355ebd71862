"""Identifiers the server assigns."""

from __future__ import annotations

import os

__all__ = ["new_id"]


def new_id() -> str:
    """A random (version 4) UUID in canonical text, as ``str(uuid.uuid4())`` gives.

    ``uuid.UUID`` turns the random bytes into an integer and formats it back; doing the
    same from the bytes costs under half as much, and every write makes one or two.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
