"""Build tmuxp files with tmuxp itself and with gaia, each on its own tmux server, and
describe what came out, so that the two can be compared.

Every pane's program is a harmless sink (it draws a prompt, then swallows what is typed),
PATH holds only tmux, sh and cat, and HOME is empty: the commands written in people's
files (ssh, docker, git fetch...) are typed but never run, and a ``before_script`` that
names a program other than these is not found, on either side alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "EXAMPLES",
    "USERS",
    "Sandbox",
    "Shape",
    "fixture_files",
    "tmuxp_build_all",
]

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = FIXTURES / "tmuxp_examples"
USERS = FIXTURES / "tmuxp_users"
HOLDER = "gaia-holder"
SEP = "\x1f"
# A pane program that draws a prompt (so readiness checks pass) and swallows input.
SINK = "sh -c 'printf \"$ \"; exec cat >/dev/null'"


def fixture_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json"))


@dataclass
class Shape:
    """What a built session looks like: per window, its name, pane count and the start
    directory of each pane."""

    windows: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class Sandbox:
    """A tmux server (socket ``socket``) with a holder session, an empty HOME and a
    PATH of tmux, sh and cat only."""

    root: Path
    socket: str

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "PATH": str(self.bin),
            "SHELL": "/bin/sh",
            "TMUX_TMPDIR": os.environ.get("TMUX_TMPDIR", "/tmp"),
            "LANG": "C.UTF-8",
            "COLUMNS": "200",  # the size of a terminal that tmuxp would take
            "LINES": "50",
            "TMUXP_PROGRESS": "0",
            "USER": "gaia",
        }

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.bin.mkdir(parents=True, exist_ok=True)
        for program in ("tmux", "sh", "cat"):
            found = shutil.which(program)
            assert found, program
            link = self.bin / program
            if not link.exists():
                link.symlink_to(found)
        conf = self.root / "tmux.conf"
        conf.write_text(f"set -g default-command {_tmux_quote(SINK)}\n", encoding="utf-8")
        self.tmux("-f", str(conf), "new-session", "-d", "-s", HOLDER, "-x", "200", "-y", "50")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
            env=self.env(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"],
            capture_output=True,
            check=False,
            timeout=30,
        )

    def shapes(self) -> dict[str, Shape]:
        """Every session but the holder, by name."""
        fmt = SEP.join(
            ["#{session_name}", "#{window_index}", "#{window_name}", "#{pane_start_path}"]
        )
        try:
            out = self.tmux("list-panes", "-a", "-F", fmt)
        except RuntimeError:
            return {}
        windows: dict[str, dict[int, tuple[str, list[str]]]] = {}
        for line in out.splitlines():
            session, index, name, path = line.split(SEP)
            if session == HOLDER:
                continue
            entry = windows.setdefault(session, {}).setdefault(int(index), (name, []))
            entry[1].append(path)
        return {
            session: Shape(
                [(name, len(paths), tuple(paths)) for _, (name, paths) in sorted(by_index.items())]
            )
            for session, by_index in windows.items()
        }


def _tmux_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def tmuxp_build_all(jobs: list[tuple[Sandbox, Path]], cwd: Path) -> dict[Path, str | None]:
    """Build each layout with tmuxp on its sandbox's server, all at once in one tmuxp
    process; None for each one built, else what went wrong."""
    runner = Path(__file__).with_name("tmuxp_runner.py")
    env = {**jobs[0][0].env(), "PWD": str(cwd)} if jobs else {}
    done = subprocess.run(
        [sys.executable, str(runner), *(f"{sb.socket}={path}" for sb, path in jobs)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    results: dict[Path, str | None] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            results[Path(item["file"])] = None if item["ok"] else item["error"]
    for sandbox, path in jobs:
        if results.get(path, "missing") is None and not sandbox.shapes():
            results[path] = "no session"
        results.setdefault(path, f"no result: {done.stderr[-500:]}")
    return results
