"""RFC-0014 tool proxy: ``POST /api/v1/tools/invoke`` and the tool registry.

Installed with the vaults area (``services.vaults.install``). One module per concern:

* ``proxy``: ``ToolService`` (invoke, replay, reserve, run, registry);
* ``checks``: grant resolution and the refusals (``ToolRefused``), rate limits;
* ``adapters``: how each auth type puts a secret into the upstream request;
* ``http``: the upstream HTTP call and the host policy (``--tool-allow-hosts``).
"""

from __future__ import annotations

from openintent.server.services.tools.checks import ToolRefused
from openintent.server.services.tools.proxy import ToolService

__all__ = ["ToolRefused", "ToolService"]
