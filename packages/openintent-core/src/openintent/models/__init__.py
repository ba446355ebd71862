"""Protocol models (attrs classes) and enums, importable as ``openintent.models``.

Each submodule covers one protocol area and lists its public names in ``__all__``;
this package re-exports all of them.
"""

from __future__ import annotations

from openintent.models import access as _access
from openintent.models import attachments as _attachments
from openintent.models import coordinator as _coordinator
from openintent.models import costs as _costs
from openintent.models import enums as _enums
from openintent.models import governance as _governance
from openintent.models import graphs as _graphs
from openintent.models import hitl as _hitl
from openintent.models import identity as _identity
from openintent.models import intents as _intents
from openintent.models import leases as _leases
from openintent.models import lifecycle as _lifecycle
from openintent.models import memory as _memory
from openintent.models import messaging as _messaging
from openintent.models import observability as _observability
from openintent.models import planning as _planning
from openintent.models import portfolios as _portfolios
from openintent.models import retry as _retry
from openintent.models import subscriptions as _subscriptions
from openintent.models import tracing as _tracing
from openintent.models import triggers as _triggers
from openintent.models import vaults as _vaults
from openintent.models import verifiable_logs as _verifiable_logs
from openintent.models.access import *  # noqa: F403
from openintent.models.attachments import *  # noqa: F403
from openintent.models.coordinator import *  # noqa: F403
from openintent.models.costs import *  # noqa: F403
from openintent.models.enums import *  # noqa: F403
from openintent.models.governance import *  # noqa: F403
from openintent.models.graphs import *  # noqa: F403
from openintent.models.hitl import *  # noqa: F403
from openintent.models.identity import *  # noqa: F403
from openintent.models.intents import *  # noqa: F403
from openintent.models.leases import *  # noqa: F403
from openintent.models.lifecycle import *  # noqa: F403
from openintent.models.memory import *  # noqa: F403
from openintent.models.messaging import *  # noqa: F403
from openintent.models.observability import *  # noqa: F403
from openintent.models.planning import *  # noqa: F403
from openintent.models.portfolios import *  # noqa: F403
from openintent.models.retry import *  # noqa: F403
from openintent.models.subscriptions import *  # noqa: F403
from openintent.models.tracing import *  # noqa: F403
from openintent.models.triggers import *  # noqa: F403
from openintent.models.vaults import *  # noqa: F403
from openintent.models.verifiable_logs import *  # noqa: F403

__all__ = [
    *_access.__all__,
    *_attachments.__all__,
    *_costs.__all__,
    *_enums.__all__,
    *_governance.__all__,
    *_graphs.__all__,
    *_intents.__all__,
    *_leases.__all__,
    *_observability.__all__,
    *_portfolios.__all__,
    *_retry.__all__,
    *_subscriptions.__all__,
    *_coordinator.__all__,
    *_hitl.__all__,
    *_identity.__all__,
    *_lifecycle.__all__,
    *_memory.__all__,
    *_messaging.__all__,
    *_planning.__all__,
    *_tracing.__all__,
    *_triggers.__all__,
    *_vaults.__all__,
    *_verifiable_logs.__all__,
]
