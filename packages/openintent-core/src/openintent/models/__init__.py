"""Protocol models (attrs classes) and enums, importable as ``openintent.models``.

Each submodule covers one protocol area and lists its public names in ``__all__``;
this package re-exports all of them.
"""

from __future__ import annotations

from openintent.models import enums as _enums
from openintent.models import intents as _intents
from openintent.models.enums import *  # noqa: F403
from openintent.models.intents import *  # noqa: F403

__all__ = [
    *_enums.__all__,
    *_intents.__all__,
]
