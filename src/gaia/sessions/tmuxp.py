"""A tmuxp file read the way tmuxp reads it: its ``expand`` and ``trickle``, with warnings.

tmuxp is lenient, and people's files rely on it: keys it does not know are ignored, a
start directory missing on this machine makes tmux start the pane in the home directory,
``~`` and ``$VARIABLES`` expand in names, paths and commands. gaia does the same, and says
so: every key ignored and every directory missing is a warning with its file:line:column.
It is strict only where tmuxp fails (no ``session_name``, no ``windows``, a command that is
not text, a relative window directory with no session directory to be relative to...).

The result is a plain mapping in the shape of gaia.sessions.spec.SessionSpec, with
``shell_command_before`` already prepended to each pane's commands and every directory
absolute, as tmuxp's own builder receives it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaia._yaml import Path as DataPath
from gaia._yaml import Positions, dotted
from gaia.errors import Problem
from gaia.sessions.paths import expand_shell

__all__ = ["SESSION_KEYS", "Normalised", "normalise"]

SESSION_KEYS = frozenset(
    {
        "session_name",
        "start_directory",
        "environment",
        "options",
        "global_options",
        "suppress_history",
        "shell_command_before",
        "before_script",
        "plugins",
        "workspace_builder",
        "workspace_builder_paths",
        "workspace_builder_options",
        "windows",
        "width",  # gaia's own: the session's size
        "height",
        "project_path",  # gaia's alias of start_directory
    }
)
WINDOW_KEYS = frozenset(
    {
        "window_name",
        "window_index",
        "layout",
        "start_directory",
        "environment",
        "shell_command_before",
        "panes",
        "focus",
        "options",
        "options_after",
        "suppress_history",
        "window_shell",
    }
)
PANE_KEYS = frozenset(
    {
        "shell_command",
        "shell_command_before",
        "start_directory",
        "environment",
        "focus",
        "enter",
        "sleep_before",
        "sleep_after",
        "suppress_history",
        "shell",
    }
)
COMMAND_KEYS = frozenset({"cmd", "enter", "sleep_before", "sleep_after"})
_BLANK = (None, "blank", "pane")  # a pane written as one of these is an empty pane


@dataclass
class Normalised:
    data: dict[str, Any] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


class _Reader:
    def __init__(
        self,
        positions: Positions,
        file_dir: Path,
        cwd: Path,
        environ: Mapping[str, str] | None,
        is_dir: Callable[[str], bool],
    ) -> None:
        self.positions = positions
        self.file_dir = file_dir
        self.cwd = cwd
        self.environ = environ
        self.is_dir = is_dir
        self.out = Normalised()

    def warn(self, path: DataPath, message: str, hint: str | None = None) -> None:
        self.out.warnings.append(self.positions.problem(path, message, hint))

    def fail(self, path: DataPath, message: str, hint: str | None = None) -> None:
        self.out.errors.append(self.positions.problem(path, message, hint))

    def text(self, value: str, path: DataPath) -> bool:
        """Whether ``value`` can be handed to tmux; a NUL byte cannot (it would cut it)."""
        if "\0" in value:
            self.fail(path, f"{dotted(path)} must not contain a NUL byte")
            return False
        return True

    def expand(self, value: Any, path: DataPath) -> str | None:
        if not isinstance(value, str):
            kind = "nothing" if value is None else type(value).__name__
            self.fail(
                path,
                f"{dotted(path)} must be text (got {kind})",
                "tmuxp fails on it too; write the text, or leave the key out",
            )
            return None
        if not self.text(value, path):
            return None
        return expand_shell(value, self.environ)

    def flag(self, value: Any, path: DataPath) -> bool:
        """tmuxp tests these for truth: 'false' (text) is true. Say so when it matters."""
        if not isinstance(value, bool):
            self.warn(
                path,
                f"{dotted(path)}: {value!r} is not true or false; taken as {bool(value)}, "
                "as tmuxp takes it",
                "write true or false, unquoted",
            )
        return bool(value)

    def unknown(self, mapping: dict[Any, Any], known: frozenset[str], path: DataPath) -> None:
        for key in mapping:
            if key not in known:
                where = f" in {dotted(path)}" if path else ""
                self.warn(
                    (*path, str(key)),
                    f"unknown key {key!r}{where} is ignored (as tmuxp does)",
                    f"known keys: {', '.join(sorted(known))}",
                )

    def relative(self, value: str, base: Path) -> str:
        """tmuxp's rule: only a value starting with '.' is relative to ``base``."""
        if value.startswith("."):
            return str((base / value).resolve())
        return value

    def values(self, mapping: Any, path: DataPath, *, paths: bool) -> dict[str, Any] | None:
        """``environment``/``options``: text values expanded, './x' made absolute."""
        if mapping is None:
            return None
        if not isinstance(mapping, dict):
            self.fail(path, f"{dotted(path)} must be a mapping")
            return None
        result: dict[str, Any] = {}
        for key, value in mapping.items():
            where = (*path, str(key))
            if isinstance(value, str):
                if not self.text(value, where):
                    continue
                value = self.relative(expand_shell(value, self.environ), self.file_dir)
            elif paths:  # tmuxp expands every environment value: anything else fails there
                self.fail(
                    where,
                    f"{dotted(where)} must be text (got {type(value).__name__})",
                    f"quote it: {key}: '{value}'",
                )
                continue
            result[str(key)] = value
        return result

    def commands(self, value: Any, path: DataPath) -> list[dict[str, Any]]:
        """tmuxp's expand_cmd: a string, a list of strings or ``{cmd: ...}`` items."""
        if isinstance(value, str):
            value = [value]
        if value is None or value in _BLANK or value == []:
            return []
        if not isinstance(value, list):
            self.fail(path, f"{dotted(path)} must be a command or a list of commands")
            return []
        if len(value) == 1 and value[0] in _BLANK:
            return []
        result: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            where = (*path, index)
            if isinstance(item, str):
                item = {"cmd": item}
            if not isinstance(item, dict) or not isinstance(item.get("cmd"), str):
                self.fail(where, f"{dotted(where)} must be text or a mapping with 'cmd'")
                continue
            if not self.text(item["cmd"], where):
                continue
            self.unknown(item, COMMAND_KEYS, where)
            command = {k: v for k, v in item.items() if k in COMMAND_KEYS}
            command["cmd"] = expand_shell(item["cmd"], self.environ)
            if "enter" in command:
                command["enter"] = self.flag(command["enter"], (*where, "enter"))
            self.sleeps(command, where)
            result.append(command)
        return result

    def sleeps(self, mapping: dict[str, Any], path: DataPath) -> None:
        for key in ("sleep_before", "sleep_after"):
            value = mapping.get(key)
            if value is None:
                mapping.pop(key, None)
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                self.fail((*path, key), f"{dotted((*path, key))} must be a number of seconds")

    def directory(self, value: str, path: DataPath) -> str:
        """Warn about a directory missing here: tmux starts the pane in $HOME instead."""
        # as tmux is given it by tmuxp (through pathlib): '/var/' is '/var'
        value = str(Path(value)) if Path(value).is_absolute() else str(self.cwd / value)
        if not self.is_dir(value):
            self.warn(
                path,
                f"{dotted(path)}: directory {value!r} does not exist; tmux starts the pane "
                "in the home directory instead",
            )
        return value


def normalise(
    data: dict[str, Any],
    positions: Positions,
    *,
    file_dir: Path,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    is_dir: Callable[[str], bool] = os.path.isdir,
) -> Normalised:
    """``file_dir``: relative paths in the file start there (tmuxp's ``cwd``); ``cwd``:
    the caller's working directory (what a path still relative after that is relative to,
    as for the tmux client tmuxp runs); ``environ``: the caller's variables."""
    r = _Reader(positions, file_dir, cwd, environ, is_dir)
    out: dict[str, Any] = {}
    r.unknown(data, SESSION_KEYS, ())
    if "session_name" not in data:
        r.fail((), "the layout has no 'session_name'", "add 'session_name: NAME'")
    else:
        name = r.expand(data["session_name"], ("session_name",))
        if name is not None:
            out["session_name"] = name
    for key in ("width", "height"):
        if key in data:
            out[key] = data[key]
    for key in ("environment", "options", "global_options"):
        values = r.values(data.get(key), (key,), paths=key == "environment")
        if values is not None:
            out[key] = values
    if "suppress_history" in data:
        out["suppress_history"] = r.flag(data["suppress_history"], ("suppress_history",))
    session_key = "project_path" if "project_path" in data else "start_directory"
    session_dir: str | None = None
    if session_key in data:
        raw = r.expand(data[session_key], (session_key,))
        if raw is not None:
            session_dir = r.relative(raw, r.file_dir)
            out["start_directory"] = r.directory(session_dir, (session_key,))
            session_dir = out["start_directory"]
    if "before_script" in data:
        script = r.expand(data["before_script"], ("before_script",))
        if script is not None:
            out["before_script"] = str(r.file_dir / script) if script.startswith(".") else script
    plugins = data.get("plugins")
    if plugins:
        r.warn(
            ("plugins",),
            "tmuxp plugins are Python code that gaia does not run; they are ignored",
            "do in shell_command or before_script what the plugin did",
        )
    for key in ("workspace_builder", "workspace_builder_paths", "workspace_builder_options"):
        if key in data:
            r.warn(
                (key,),
                f"{key} chooses and tunes tmuxp's own Python builder; gaia builds with its "
                "own, so it is ignored",
            )
    session_before = r.commands(data.get("shell_command_before"), ("shell_command_before",))
    windows = data.get("windows")
    if not isinstance(windows, list) or not windows:
        r.fail(("windows",), "the layout needs a list of 'windows'", "add 'windows: [...]'")
        return r.out
    out["windows"] = [
        _window(r, w, ("windows", i), session_dir, session_before) for i, w in enumerate(windows)
    ]
    if session_dir is None:
        # tmux starts what has no directory of its own where its client runs: tmuxp's
        # caller's working directory, not the daemon's
        out["start_directory"] = str(r.cwd)
    r.out.data = out
    return r.out


def _window(
    r: _Reader, window: Any, path: DataPath, session_dir: str | None, before: list[dict[str, Any]]
) -> dict[str, Any]:
    if not isinstance(window, dict):
        r.fail(path, f"{dotted(path)} must be a mapping with 'window_name' and 'panes'")
        return {}
    r.unknown(window, WINDOW_KEYS, path)
    out: dict[str, Any] = {}
    if "window_name" in window:
        name = r.expand(window["window_name"], (*path, "window_name"))
        if name is not None:
            out["window_name"] = name
    for key in ("layout", "window_shell", "window_index"):
        if window.get(key) is not None:
            out[key] = window[key]
    for key in ("focus", "suppress_history"):
        if key in window:
            out[key] = r.flag(window[key], (*path, key))
    for key in ("environment", "options", "options_after"):
        values = r.values(window.get(key), (*path, key), paths=key == "environment")
        if values is not None:
            out[key] = values
    window_dir: str | None = None
    if "start_directory" in window:
        where = (*path, "start_directory")
        raw = r.expand(window["start_directory"], where)
        if raw is not None:
            if raw.startswith("."):
                if session_dir is None:
                    # tmuxp fails here too (a KeyError): relative to what?
                    r.fail(
                        where,
                        f"{dotted(where)} {raw!r} is relative, but the session has no "
                        "start_directory for it to be relative to",
                        "give the session a start_directory, or this window an absolute one",
                    )
                else:
                    window_dir = str((Path(session_dir) / raw).resolve())
            elif session_dir is not None and not raw.startswith(("~", "/")):
                window_dir = str(Path(session_dir) / raw)
            else:
                window_dir = raw
            if window_dir is not None:
                window_dir = r.directory(window_dir, where)
    elif session_dir is not None:
        window_dir = session_dir
    if window_dir is not None:
        out["start_directory"] = window_dir
    window_before = [
        *before,
        *r.commands(window.get("shell_command_before"), (*path, "shell_command_before")),
    ]
    panes = window.get("panes")
    if panes is None or panes == []:
        panes = [None]
    if not isinstance(panes, list):
        r.fail((*path, "panes"), f"{dotted((*path, 'panes'))} must be a list of panes")
        panes = [None]
    # tmuxp makes a pane's './x' relative to its window's own start_directory (not the
    # session's it inherits later), and fails without one.
    own_dir = window_dir if "start_directory" in window else None
    out["panes"] = [
        _pane(r, pane, (*path, "panes", i), own_dir, window_before) for i, pane in enumerate(panes)
    ]
    return out


def _pane(
    r: _Reader, pane: Any, path: DataPath, window_dir: str | None, before: list[dict[str, Any]]
) -> dict[str, Any]:
    if pane is None or isinstance(pane, str | list):
        pane = {"shell_command": pane}
    if not isinstance(pane, dict):
        r.fail(path, f"{dotted(path)} must be a command, a list of commands or a mapping")
        return {}
    r.unknown(pane, PANE_KEYS, path)
    out: dict[str, Any] = {}
    for key in ("focus", "enter", "suppress_history"):
        if key in pane:
            out[key] = r.flag(pane[key], (*path, key))
    for key in ("sleep_before", "sleep_after"):
        if pane.get(key) is not None:
            out[key] = pane[key]
    r.sleeps(out, path)
    if pane.get("shell"):  # tmuxp ignores an empty one
        out["shell"] = pane["shell"]
    environment = r.values(pane.get("environment"), (*path, "environment"), paths=True)
    if environment is not None:
        out["environment"] = environment
    if "start_directory" in pane:
        where = (*path, "start_directory")
        raw = r.expand(pane["start_directory"], where)
        if raw is not None:
            if raw.startswith("."):
                if window_dir is None:
                    r.fail(
                        where,
                        f"{dotted(where)} {raw!r} is relative, but its window has no "
                        "start_directory for it to be relative to",
                        "give the window or the session a start_directory",
                    )
                else:
                    out["start_directory"] = r.directory(
                        str((r.cwd / window_dir / raw).resolve()), where
                    )
            else:
                out["start_directory"] = r.directory(raw, where)
    own_before = r.commands(pane.get("shell_command_before"), (*path, "shell_command_before"))
    commands = r.commands(pane.get("shell_command"), (*path, "shell_command"))
    out["shell_command"] = [*before, *own_before, *commands]
    return out
