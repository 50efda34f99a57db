"""``gaia doctor``: what gaia finds on this machine, and what is missing.

Exit status 0 when everything gaia needs is there; 1 when something it needs is missing
or broken (tmux, a readable configuration, a containment that was asked for). Agent CLIs
and Node.js are optional: a missing one is a warning. Version probes run in parallel,
each in its own process group, killed after a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import click

from gaia import __version__
from gaia.cli.common import EXIT_FAILED, console, err_console

if TYPE_CHECKING:
    from gaia._containment import ContainmentMode
    from gaia.config import Settings

__all__ = ["doctor"]

PROBE_TIMEOUT = 5.0  # `gemini --version` starts Node and loads a large bundle: ~1 s
Status = Literal["ok", "warning", "error", "info"]

_TMUX_HINT = (
    "install tmux 3.2 or newer (Debian/Ubuntu: apt install tmux, Fedora: dnf install tmux, "
    "macOS: brew install tmux)"
)
_NODE_HINT = "install Node.js 18 or newer (nodejs.org, or your package manager); agent CLIs need it"
_AGENT_PACKAGES = {
    "claude": "@anthropic-ai/claude-code",
    "gemini": "@google/gemini-cli",
    "codex": "@openai/codex",
}


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: Status
    summary: str  # the version, the place, or what is wrong
    path: str | None = None
    version: str | None = None
    hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Probe:
    name: str
    argv: list[str]  # the program (as configured) and its version flag
    required: bool
    hint: str
    minimum: tuple[int, ...] | None = None


def _run_version(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """The first line a ``--version`` prints, or why there is none."""
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "NO_COLOR": "1", "LC_ALL": "C"},
        )
    except OSError as exc:
        return None, exc.strerror or str(exc)
    try:
        output, _ = process.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, f"no answer to {argv[-1]} within {PROBE_TIMEOUT:g}s"
    text = output.decode(errors="replace").strip()
    first = text.splitlines()[0].strip() if text else ""
    if process.returncode != 0:
        return None, f"{argv[-1]} exited with status {process.returncode}: {first}"[:200]
    return first, None


def _version_tuple(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _probe(probe: _Probe) -> Check:
    program = shutil.which(probe.argv[0])
    if program is None:
        status: Status = "error" if probe.required else "warning"
        return Check(probe.name, status, "missing (not found on PATH)", hint=probe.hint)
    version, problem = _run_version([program, *probe.argv[1:]])
    if version is None:
        status = "error" if probe.required else "warning"
        return Check(probe.name, status, f"found, but {problem}", path=program, hint=probe.hint)
    if probe.minimum is not None:
        found = _version_tuple(version)
        if found is not None and found < probe.minimum:
            wanted = ".".join(map(str, probe.minimum))
            status = "error" if probe.required else "warning"
            return Check(
                probe.name,
                status,
                f"{version} is too old (gaia needs {wanted} or newer)",
                path=program,
                version=version,
                hint=probe.hint,
            )
    return Check(probe.name, "ok", version, path=program, version=version)


def _probes(agent_commands: dict[str, list[str]]) -> list[_Probe]:
    from gaia.sessions.tmux import MIN_TMUX_VERSION

    probes = [
        _Probe("tmux", ["tmux", "-V"], True, _TMUX_HINT, MIN_TMUX_VERSION),
        _Probe("node", ["node", "--version"], False, _NODE_HINT),
        _Probe("npm", ["npm", "--version"], False, _NODE_HINT),
    ]
    for name, package in _AGENT_PACKAGES.items():
        argv = agent_commands.get(name, [name])
        hint = f"optional agent CLI: npm install -g {package}"
        probes.append(_Probe(name, [*argv, "--version"], False, hint))
    return probes


def gather() -> list[Check]:
    """Every check, in report order; the version probes run in parallel meanwhile."""
    from gaia.config import load_settings
    from gaia.errors import ConfigError

    python = f"Python {sys.version.split()[0]}"
    checks = [
        Check("gaia", "ok", f"{__version__} ({python}, {sys.executable})", version=__version__)
    ]
    settings: Settings | None
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings = None
        checks.append(Check("config", "error", str(exc)))
    agent_commands: dict[str, list[str]] = {}
    for name, agent in (settings.agents if settings is not None else {}).items():
        if agent.command:
            command = agent.command
            agent_commands[name] = [command] if isinstance(command, str) else list(command)
    with ThreadPoolExecutor(max_workers=8) as pool:
        tools = pool.map(_probe, _probes(agent_commands))
        if settings is not None:
            checks.append(_home(settings))
        checks.append(_containment_check(settings.containment if settings else "auto"))
        daemon = _daemon(settings) if settings is not None else None
        checks.extend(tools)
    if not any(c.status == "ok" for c in checks if c.name in _AGENT_PACKAGES):
        checks.append(Check("agents", "warning", "no agent CLI found: agent tasks cannot run"))
    if daemon is not None:
        checks.append(daemon)
    return checks


def _home(settings: Settings) -> Check:
    home = settings.gaia_home
    database = _redact(settings.resolved_database_url)
    summary = f"{home.root}; database {database}"
    if not settings.database_url and not home.database_file.exists():
        summary += " (created on first use)"
    return Check("home", "ok", summary, details={"home": str(home.root), "database_url": database})


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _containment_check(mode: ContainmentMode) -> Check:
    from gaia import _containment

    _containment.configure(mode)
    current = _containment.containment()
    details = {"kind": current.kind, "mode": current.mode, "reason": current.reason}
    if current.kind == "cgroup":
        return Check(
            "containment", "ok", f"{current.reason}, stopped with cgroup.kill", details=details
        )
    if current.mode == "cgroup":  # asked for, not possible: every spawn would fail
        return Check("containment", "error", current.describe(), details=details)
    return Check("containment", "info", current.describe(), details=details)


def _daemon(settings: Settings) -> Check:
    from gaia.cli.daemon import find_daemon

    info = find_daemon(settings)
    if info is None:
        return Check("daemon", "info", "not running (gaia daemon start, or gaia serve)")
    return Check(
        "daemon",
        "ok",
        f"running at {info.url} (pid {info.pid})",
        details={"url": info.url, "pid": info.pid},
    )


_LABELS: dict[Status, tuple[str, str]] = {
    "ok": ("ok", "green"),
    "warning": ("warn", "yellow"),
    "error": ("FAIL", "bold red"),
    "info": ("--", "dim"),
}


def _print(checks: list[Check]) -> None:
    from rich.text import Text

    width = max(len(c.name) for c in checks)
    indent = " " * (width + 7)
    for check in checks:
        label, style = _LABELS[check.status]
        console.print(
            Text.assemble((f"{label:>4}", style), f" {check.name.ljust(width)}  ", check.summary)
        )
        if check.path and check.status == "ok":
            console.print(Text(f"{indent}{check.path}", style="dim"))
        if check.hint and check.status in ("warning", "error"):
            console.print(Text(f"{indent}{check.hint}", style="dim"))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def doctor(as_json: bool) -> None:
    """Check what gaia needs: tmux, Node.js, agent CLIs, containment, the daemon.

    Exits 1 when something gaia needs is missing (missing agent CLIs are warnings).
    """
    with err_console.status("checking tools…"):
        checks = gather()
    failed = [c for c in checks if c.status == "error"]
    if as_json:
        report = {"ok": not failed, "checks": [asdict(c) for c in checks]}
        click.echo(json.dumps(report, indent=2))
    else:
        _print(checks)
        if failed:
            names = ", ".join(c.name for c in failed)
            err_console.print(f"gaia is missing what it needs: {names}", markup=False)
    if failed:
        sys.exit(EXIT_FAILED)
