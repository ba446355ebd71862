"""Protocol rules, one module per area; ``Services`` is the registry wiring them to one
database. Route handlers receive a registered service by its name as a dependency."""

from __future__ import annotations

import importlib
from typing import Any

from openintent.server.areas import AREAS
from openintent.server.services.intents import IntentService
from openintent.server.store.database import Database

__all__ = ["Services"]


class Services:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.intents = IntentService(db)
        self.registry: dict[str, Any] = {"intents": self.intents}

    def add(self, name: str, service: Any) -> None:
        if name in self.registry:
            raise RuntimeError(f"service {name!r} registered twice")
        self.registry[name] = service

    def get(self, name: str) -> Any:
        return self.registry[name]

    @classmethod
    def build(cls, db: Database) -> Services:
        services = cls(db)
        for area in AREAS:
            if area == "intents":
                continue
            module = importlib.import_module(f"openintent.server.services.{area}")
            module.install(services)
        return services
