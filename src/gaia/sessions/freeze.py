"""A live session written back as a layout (tmuxp format) that `gaia session up` loads."""

from __future__ import annotations

from typing import Any

from gaia.sessions.live import LiveSession, LiveWindow
from gaia.sessions.records import SessionRecord
from gaia.sessions.run import SHELLS

__all__ = ["freeze_layout"]


def freeze_layout(record: SessionRecord, live: LiveSession) -> dict[str, Any]:
    """Windows, layouts, directories and commands; directories only where they differ."""
    commands = {p.id: p.commands for p in record.panes()}
    root = live.path or record.start_directory
    layout: dict[str, Any] = {"session_name": live.name}
    if root:
        layout["start_directory"] = root
    layout["windows"] = [_window(window, live, commands, root) for window in live.windows]
    return layout


def _window(
    window: LiveWindow, live: LiveSession, commands: dict[str, list[str]], root: str | None
) -> dict[str, Any]:
    paths = {p.current_path for p in window.panes}
    common = paths.pop() if len(paths) == 1 else None
    panes: list[Any] = []
    for pane in window.panes:
        typed = list(commands.get(pane.gaia_id or "", []))
        if not typed and pane.current_command.lstrip("-") not in SHELLS:
            typed = [pane.current_command]  # what runs there now, as tmuxp does
        item: dict[str, Any] = {"shell_command": typed}
        if common is None and pane.current_path != root:
            item["start_directory"] = pane.current_path
        if pane.active and len(window.panes) > 1:
            item["focus"] = True
        panes.append(item if len(item) > 1 else (typed or None))
    entry: dict[str, Any] = {"window_name": window.name, "layout": window.layout}
    if common is not None and common != root:
        entry["start_directory"] = common
    if window.active and len(live.windows) > 1:
        entry["focus"] = True
    entry["panes"] = panes
    return entry
