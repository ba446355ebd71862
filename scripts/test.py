#!/usr/bin/env python3
"""Run the whole test suite as CI does: ``python3 scripts/test.py [nox arguments]``.

Needs only Python 3.11+ with venv and pip. Keeps the pinned nox and uv of
scripts/requirements-tools.txt in .nox/_tools (reinstalled when that file changes),
then runs every nox session of noxfile.py. Arguments go to nox, e.g.
``python3 scripts/test.py -s core lint`` or ``python3 scripts/test.py -l``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".nox" / "_tools"
REQUIREMENTS = ROOT / "scripts" / "requirements-tools.txt"
BIN = TOOLS / ("Scripts" if os.name == "nt" else "bin")


def ensure_tools() -> None:
    installed = TOOLS / "installed-requirements.txt"
    wanted = REQUIREMENTS.read_text()
    if installed.exists() and installed.read_text() == wanted and (BIN / "nox").exists():
        return
    if not (BIN / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
        check=True,
    )
    installed.write_text(wanted)


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - any python3 may run this script
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    ensure_tools()
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    nox = [str(BIN / "nox"), "--noxfile", str(ROOT / "noxfile.py"), *argv]
    print("+", " ".join(nox[:1] + argv), flush=True)
    return subprocess.run(nox, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
