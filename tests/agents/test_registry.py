"""The registry: built-ins found on PATH, config tables, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia.agents.registry import AgentRegistry
from gaia.config import load_settings
from gaia.errors import ConfigError


def fake_cli(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_builtins_register_when_their_cli_is_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """claude on PATH registers as a built-in; gemini and codex, not on PATH, do not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_cli(bin_dir, "claude")
    monkeypatch.setenv("PATH", str(bin_dir))  # nothing else: a real claude must not count
    registry = AgentRegistry.discover(load_settings(tmp_path / "home", environ={}))
    assert registry.names() == ["system", "claude"]
    claude = registry.get("claude")
    assert claude.spec.source == "builtin" and claude.spec.kind == "claude"
    assert registry.get("system").spec.source == "builtin"
    # gemini and codex are left out, with why.
    left_out = {agent.spec.id: why for agent, why in registry.left_out()}
    assert left_out == {
        "gemini": "CLI 'gemini' not found on PATH",
        "codex": "CLI 'codex' not found on PATH",
    }


def test_config_tables_configure_builtins_and_add_command_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[agents.gemini] points at a CLI off PATH; another table is a command agent."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    home = tmp_path / "home"
    home.mkdir()
    gemini = fake_cli(tmp_path, "my-gemini")
    (home / "config.toml").write_text(
        f'[agents.gemini]\ncommand = "{gemini}"\nmax_concurrency = 3\ntimeout = "10m"\n'
        '[agents.aider]\ncommand = ["aider", "--message", "{prompt}"]\n'
        'capabilities = ["code"]\n'
        "[agents.system]\nenabled = false\n"
    )
    registry = AgentRegistry.discover(load_settings(home, environ={}))
    assert registry.names() == ["gemini", "aider"]
    left_out = {agent.spec.id: why for agent, why in registry.left_out()}
    assert left_out["system"] == "disabled: [agents.system] enabled = false in config.toml"
    assert left_out["claude"] == "CLI 'claude' not found on PATH"
    assert "gemini" not in left_out  # configured, and found
    assert registry.get("aider").unavailable_reason() == "CLI 'aider' not found on PATH"  # type: ignore[attr-defined]
    spec = registry.get("gemini").spec
    assert (spec.kind, spec.max_concurrency, spec.timeout) == ("gemini", 3, 600.0)
    assert registry.get("gemini").available()
    aider = registry.get("aider")
    assert aider.spec.kind == "command" and aider.spec.capabilities == frozenset({"code"})


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("[agents.aider]\nmax_concurrency = 1\n", "needs a command"),
        ('[agents.stats]\ncommand = ["x"]\n', "reserved"),
        ("[agents.claude]\nmax_concurrency = 0\n", "greater than or equal to 1"),
    ],
)
def test_bad_agent_tables_name_the_key_and_the_file(tmp_path: Path, table: str, words: str) -> None:
    """A bad [agents.<name>] table is a configuration error naming the key and config.toml."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(table)
    with pytest.raises(ConfigError) as info:
        AgentRegistry.discover(load_settings(home, environ={}))
    message = str(info.value)
    assert "'agents." in message and str(home / "config.toml") in message
    assert words in message


def test_registry_survives_registering_while_another_thread_lists() -> None:
    """The queue (event loop) lists agents while API threads register and unregister."""
    import sys
    import threading

    from gaia.agents.registry import build_agent, spec_from_settings
    from gaia.config import AgentSettings

    registry = AgentRegistry()
    agents = [
        build_agent(
            spec_from_settings(
                f"extra-{i}", AgentSettings(kind="command", command=["true", "{prompt}"])
            )
        )
        for i in range(50)
    ]
    errors: list[BaseException] = []
    done = threading.Event()

    def churn() -> None:
        try:
            for _ in range(200):
                for agent in agents:
                    registry.register(agent, replace=True)
                for agent in agents:
                    registry.unregister(agent.spec.id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def read() -> None:
        try:
            while not done.is_set():
                registry.accepting("code")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn), threading.Thread(target=read)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a loaded daemon does
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(switch)
    assert not errors, errors
