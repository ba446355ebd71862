"""OpenIntent Coordination Protocol for Python.

Several distributions share the ``openintent`` import name: ``openintent-core`` (this
file, the models and the codec), ``openintent-client``, ``openintent-server``,
``openintent-agents`` and ``openintent-adapters``. The public names of all of them can
be imported from here; each is loaded on first use, and a name whose distribution is
not installed raises an ``ImportError`` that says what to install.
"""

# Must stay the first statement: lets openintent.client/.server/... from other
# distributions be found when each is installed in editable mode from its own path.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from openintent._exports import DISTRIBUTIONS, EXPORTS

if TYPE_CHECKING:
    from openintent.exceptions import ConflictError as ConflictError
    from openintent.exceptions import LeaseConflictError as LeaseConflictError
    from openintent.exceptions import NotFoundError as NotFoundError
    from openintent.exceptions import OpenIntentError as OpenIntentError
    from openintent.exceptions import ValidationError as ValidationError
    from openintent.models import Intent as Intent
    from openintent.models import IntentStatus as IntentStatus

from importlib.metadata import version as _dist_version

try:
    __version__ = _dist_version("openintent-core")
except Exception:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"


def _missing(name: str, module: str) -> ImportError:
    dist = DISTRIBUTIONS.get(module, "openintent")
    try:
        installed = _dist_version(dist)
    except Exception:
        installed = None
    if installed is not None:
        return ImportError(
            f"openintent.{name} is not provided by the installed {dist} {installed}",
            name=module,
        )
    extra = {"openintent-server": "server", "openintent-agents": "agents"}.get(dist)
    hint = f"pip install {dist}" + (f' (or "openintent[{extra}]")' if extra else "")
    return ImportError(
        f"openintent.{name} is provided by the {dist} distribution, which is not installed: {hint}",
        name=module,
    )


def __getattr__(name: str) -> Any:
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openintent' has no attribute {name!r}")
    try:
        owner = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            raise _missing(name, module) from None
        raise
    try:
        value = getattr(owner, name)
    except AttributeError:
        dist = DISTRIBUTIONS.get(module, "openintent")
        raise ImportError(
            f"openintent.{name} is not provided by the installed {dist}; "
            f"upgrade it (pip install -U {dist})",
            name=module,
        ) from None
    globals()[name] = value
    return value


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(EXPORTS))


def get_server() -> tuple[Any, Any, Any]:
    """``(OpenIntentServer, ServerConfig, create_app)`` from the server distribution."""
    try:
        server = importlib.import_module("openintent.server")
    except ModuleNotFoundError as exc:
        raise _missing("server", "openintent.server") from exc
    return server.OpenIntentServer, server.ServerConfig, server.create_app


# Only names whose distribution is installed, so ``from openintent import *`` works
# with any subset of the distributions.
__all__ = sorted([n for n, m in EXPORTS.items() if _installed(m)] + ["get_server", "__version__"])
