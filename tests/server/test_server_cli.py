"""``openintent-server`` flags that map onto ``ServerConfig`` (flags > environment > defaults)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openintent.server.cli import config_from_args, main


def test_tool_allow_hosts_and_episodic_capacity_flags() -> None:
    config = config_from_args(
        ["--tool-allow-hosts", "127.0.0.1, tools.internal", "--memory-episodic-capacity", "5"]
    )
    assert config.tool_allow_hosts == frozenset({"127.0.0.1", "tools.internal"})
    assert config.memory_episodic_capacity == 5
    defaults = config_from_args([])
    assert defaults.tool_allow_hosts == frozenset()
    assert defaults.memory_episodic_capacity == 1000


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENINTENT_TOOL_ALLOW_HOSTS", "10.0.0.0/8")
    monkeypatch.setenv("OPENINTENT_MEMORY_EPISODIC_CAPACITY", "7")
    from_env = config_from_args([])
    assert (from_env.tool_allow_hosts, from_env.memory_episodic_capacity) == (
        frozenset({"10.0.0.0/8"}),
        7,
    )
    flagged = config_from_args(["--tool-allow-hosts", "::1", "--memory-episodic-capacity", "0"])
    assert (flagged.tool_allow_hosts, flagged.memory_episodic_capacity) == (frozenset({"::1"}), 0)


def test_a_negative_capacity_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--memory-episodic-capacity", "-1"]) == 2
    assert "memory_episodic_capacity" in capsys.readouterr().err


def test_help_documents_the_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "openintent.server", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--tool-allow-hosts" in out
    assert "--memory-episodic-capacity" in out
