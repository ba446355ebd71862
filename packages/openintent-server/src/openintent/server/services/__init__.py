"""Protocol rules, one module per area; ``Services`` wires them to one database."""

from __future__ import annotations

import attrs

from openintent.server.services.intents import IntentService
from openintent.server.store.database import Database

__all__ = ["Services"]


@attrs.define
class Services:
    db: Database
    intents: IntentService

    @classmethod
    def build(cls, db: Database) -> Services:
        return cls(db=db, intents=IntentService(db))
