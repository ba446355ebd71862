"""Quality gates of the OpenIntent monorepo: ``nox -l`` lists them, ``nox -s NAME`` runs one.

``python3 scripts/test.py`` runs all of them the way CI does (it brings its own pinned
nox and uv). Each test session gets a fresh environment holding only the distribution
under test and what its pyproject.toml declares, at the versions in uv.lock, plus the
test tools: a missing dependency declaration fails there even though the workspace
.venv has everything. Arguments after ``--`` go to pytest (or mypy/ruff/the probe).

A session whose tests folder has no test files yet skips and says so.

Server tests pick their database from ``OPENINTENT_TEST_PG_URL``: unset means SQLite,
set means that PostgreSQL database. ``server`` runs tests/server on SQLite; ``server_pg``
runs the same suite on a throwaway cluster (scripts/pg_cluster.py). Tests that only make
sense on PostgreSQL carry ``@pytest.mark.postgres``; ``server`` deselects them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tomllib
from pathlib import Path
from types import ModuleType

import nox
from nox.command import CommandFailed

nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True
# Use the machine's Python 3.11; never let uv download an interpreter.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

PYTHON = "3.11"
ROOT = Path(__file__).resolve().parent
TEST_TOOLS = ("pytest", "pytest-timeout", "hypothesis")
# tests/server/test_server_fuzz.py fuzzes the server's own /openapi.json.
SERVER_TEST_TOOLS = (*TEST_TOOLS, "schemathesis")
TEST_ENV = {
    # litellm downloads a price table at import unless told to use its bundled copy.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}
REFERENCE_REQUIREMENTS = ROOT / "scripts" / "interop-requirements.txt"


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load scripts/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pg_cluster = _load_script("pg_cluster")


# -- helpers ---------------------------------------------------------------------------


def _sync(session: nox.Session, *members: str, extras: tuple[str, ...] = ()) -> None:
    """Install workspace members (editable) and their locked dependencies, nothing else.

    No member names means the whole workspace. ``--locked`` fails if uv.lock is stale.
    """
    args = ["uv", "sync", "--locked", "--no-default-groups", "--quiet"]
    if members:
        args += [a for m in members for a in ("--package", f"openintent-{m}")]
    else:
        args.append("--all-packages")
    args += [a for e in extras for a in ("--extra", e)]
    session.run_install(*args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})


def _install_pinned(session: nox.Session, *requirements: str) -> None:
    """``uv pip install`` constrained to the versions recorded in uv.lock."""
    constraints = Path(session.create_tmp()) / "uv-lock-constraints.txt"
    session.run_install(
        "uv", "export", "--locked", "--all-packages", "--all-groups", "--all-extras",
        "--no-hashes", "--no-emit-workspace", "--no-header", "--no-annotate", "--quiet",
        "--output-file", str(constraints),
    )  # fmt: skip
    session.install("--quiet", "-c", str(constraints), *requirements)


def _has_tests(folder: Path) -> bool:
    return any(p.is_file() for pattern in ("test_*.py", "*_test.py") for p in folder.rglob(pattern))


def _require_tests(session: nox.Session, folder: str) -> None:
    if not _has_tests(ROOT / "tests" / folder):
        session.skip(f"tests/{folder}/ has no test files yet (test_*.py): nothing to run")


def _pytest(
    session: nox.Session, folder: str, *args: str, env: dict[str, str | None] | None = None
) -> None:
    session.run(
        "pytest", f"tests/{folder}", *args, *session.posargs, env={**TEST_ENV, **(env or {})}
    )


def _distribution_tests(session: nox.Session, member: str, extras: tuple[str, ...] = ()) -> None:
    _require_tests(session, member)
    _sync(session, member, extras=extras)
    _install_pinned(session, *TEST_TOOLS)
    _pytest(session, member)


# -- static checks ---------------------------------------------------------------------


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree (both run, then fail)."""
    _install_pinned(session, "ruff")
    failed = []
    for command in (["check", "--output-format=concise"], ["format", "--check"]):
        try:
            session.run("ruff", *command, *(session.posargs or ["."]))
        except CommandFailed:
            failed.append(f"ruff {' '.join(command)}")
    if failed:
        session.error(f"{' and '.join(failed)} failed")


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict over the source dirs listed in [tool.mypy] files of pyproject.toml.

    The distributions owning those dirs are installed, so their dependencies type-check.
    """
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    members = sorted(
        Path(f).parts[1].removeprefix("openintent-")
        for f in config["files"]
        if Path(f).parts[0] == "packages"
    )
    _sync(session, *members, extras=("postgres",) if "server" in members else ())
    _install_pinned(session, "mypy", "nox")  # nox: the noxfile is type-checked too
    session.run("mypy", *session.posargs)


# -- tests, one session per distribution -----------------------------------------------


@nox.session(python=PYTHON)
def core(session: nox.Session) -> None:
    """tests/core with openintent-core only."""
    _distribution_tests(session, "core")


@nox.session(python=PYTHON)
def client(session: nox.Session) -> None:
    """tests/client with core + client only (no server stack installed)."""
    _distribution_tests(session, "client")


@nox.session(python=PYTHON)
def server(session: nox.Session) -> None:
    """tests/server on SQLite (tests marked postgres are deselected)."""
    _require_tests(session, "server")
    _sync(session, "server")
    _install_pinned(session, *SERVER_TEST_TOOLS)
    _pytest(session, "server", "-m", "not postgres", env={pg_cluster.URL_ENV: None})


@nox.session(python=PYTHON)
def server_pg(session: nox.Session) -> None:
    """tests/server, all of it, on a throwaway PostgreSQL cluster.

    Skips without PostgreSQL binaries unless OPENINTENT_REQUIRE_PG is set (CI sets it).
    """
    bindir = pg_cluster.find_bindir()
    if bindir is None:
        message = "no PostgreSQL binaries (/usr/lib/postgresql/*/bin): apt-get install postgresql"
        if os.environ.get("OPENINTENT_REQUIRE_PG"):
            session.error(f"OPENINTENT_REQUIRE_PG is set but there are {message}")
        session.skip(message)
    if not _has_tests(ROOT / "tests" / "server"):
        # Still start a cluster, so that CI's PostgreSQL setup is exercised.
        session.run("python", "scripts/pg_cluster.py", "--check")
        session.skip("tests/server/ has no test files yet: cluster checked, nothing to run")
    _sync(session, "server", extras=("postgres",))
    _install_pinned(session, *SERVER_TEST_TOOLS)
    with pg_cluster.cluster(bindir) as url:
        session.log(f"{pg_cluster.URL_ENV}={url}")
        _pytest(session, "server", env={pg_cluster.URL_ENV: url})


@nox.session(python=PYTHON)
def agents(session: nox.Session) -> None:
    """tests/agents with core + client + agents."""
    _distribution_tests(session, "agents")


@nox.session(python=PYTHON)
def adapters(session: nox.Session) -> None:
    """tests/adapters with every provider SDK extra installed."""
    _distribution_tests(session, "adapters", extras=("all",))


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """tests/integration with the whole workspace."""
    _require_tests(session, "integration")
    _sync(session)
    _install_pinned(session, *TEST_TOOLS)
    _pytest(session, "integration")


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """tests/interop: our code against the reference openintent 0.17.0.

    The reference owns the ``openintent`` import name too, so it lives in its own
    virtualenv under .interop/ (reused while scripts/interop-requirements.txt is
    unchanged); tests start it through OPENINTENT_REF_PYTHON.
    """
    _require_tests(session, "interop")
    reference = _reference_python(session)
    _sync(session)
    _install_pinned(session, *TEST_TOOLS)
    _pytest(session, "interop", env={"OPENINTENT_REF_PYTHON": str(reference)})


def _reference_python(session: nox.Session) -> Path:
    digest = hashlib.sha256(REFERENCE_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    env_dir = ROOT / ".interop" / f"reference-{digest}"
    python = env_dir / "bin" / "python"
    done = env_dir / ".installed"
    if not done.exists():
        shutil.rmtree(env_dir, ignore_errors=True)
        session.run_install("uv", "venv", "--quiet", "--python", PYTHON, str(env_dir))
        session.run_install(
            "uv", "pip", "install", "--quiet", "--python", str(python),
            "-r", str(REFERENCE_REQUIREMENTS),
        )  # fmt: skip
        done.touch()
    session.run(
        str(python), "-c", "import importlib.metadata as m; print('reference openintent', m.version('openintent'))",
        external=True,
    )  # fmt: skip
    return python


# -- packaging -------------------------------------------------------------------------


@nox.session(python=PYTHON)
def isolation(session: nox.Session) -> None:
    """Build all wheels; install core + client wheels alone; run scripts/isolation_probe.py.

    Proves `from openintent import Intent, OpenIntentClient` works there while the server
    stack (litestar, piccolo, granian) and the other distributions are absent.
    """
    wheels = Path(session.create_tmp()) / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    session.run_install(
        "uv", "build", "--all-packages", "--wheel", "--quiet", "--out-dir", str(wheels)
    )
    core_wheel, client_wheel = (
        next(wheels.glob(f"openintent_{name}-*.whl")) for name in ("core", "client")
    )
    _install_pinned(session, str(core_wheel), str(client_wheel))
    session.run("uv", "pip", "list")  # the whole environment, for the record
    # -I: no PYTHONPATH, no user site, no script dir: only what the environment holds.
    session.run("python", "-I", "scripts/isolation_probe.py", *session.posargs)
