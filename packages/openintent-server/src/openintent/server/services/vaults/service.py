"""``VaultService``, assembled from credentials (and their vaults), grants and
invocation records."""

from __future__ import annotations

from openintent.server.services.vaults.common import VaultSettings
from openintent.server.services.vaults.credentials import VaultCredentials
from openintent.server.services.vaults.grants import VaultGrants
from openintent.server.services.vaults.invocations import VaultInvocations
from openintent.server.store.database import Database

__all__ = ["VaultService"]


class VaultService(VaultCredentials, VaultGrants, VaultInvocations):
    def __init__(self, db: Database, settings: VaultSettings) -> None:
        self.db = db
        self.settings = settings
