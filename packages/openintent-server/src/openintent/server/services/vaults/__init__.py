"""RFC-0014 vaults: credential vaults, credentials, tool grants and invocation records.

The tool proxy itself (``POST /api/v1/tools/invoke``) is :mod:`services.tools`.

Beyond the reference (which stores and returns secrets verbatim and checks nothing),
secrets are sealed and never returned, only a credential's managers change it, grants
are checked and have a lifecycle, and delegation only narrows. One module per concern:

* ``service``: ``VaultService``, assembled from ``credentials`` (vaults and
  credentials), ``grants`` (grants and delegation) and ``invocations`` (records);
* ``common``: ``VaultSettings`` (configuration bound on first use), messages, limits;
* ``records``: row-to-wire mappings and the pure checks on requests.
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.vaults.common import INVOCATION_STATUSES, VaultSettings
from openintent.server.services.vaults.service import VaultService

__all__ = ["INVOCATION_STATUSES", "VaultService", "VaultSettings", "install"]


def install(services: Services) -> None:
    from openintent.server.services.tools import ToolService

    settings = VaultSettings(services.db)
    vaults = VaultService(services.db, settings)
    services.add("vaults", vaults)
    services.add("tools", ToolService(services.db, vaults))
