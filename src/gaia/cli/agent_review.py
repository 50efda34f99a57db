"""``gaia agent diff | merge | discard | shell``: review a finished task's work, then keep it
(merge its branch) or drop it (discard its worktree and branch)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gaia.cli.common import EXIT_FAILED, console, err_console
from gaia.cli.daemon import connect
from gaia.errors import NotFoundError

__all__ = ["REVIEW_COMMANDS"]

TASKS = "/agents/tasks"
TMUX_SESSION = "gaia-agents"  # where visible agents run (gaia.agents.launch.VISIBLE_SESSION)
# Plain ANSI, not rich: a diff is printed as it is, and rich would read ``[x]`` as markup.
_RESET = "\x1b[0m"
_STYLES = (
    ("diff --git", "\x1b[1m"),
    ("index ", "\x1b[1m"),
    ("+++", "\x1b[1m"),
    ("---", "\x1b[1m"),
    ("@@", "\x1b[36m"),
    ("+", "\x1b[32m"),
    ("-", "\x1b[31m"),
)


def _call(method: str, path: str, **kwargs: Any) -> Any:
    client = connect()
    try:
        return client.request(method, path, **kwargs)
    finally:
        client.close()


def colour_diff(text: str) -> str:
    """``text`` (a unified diff or a ``--stat``) with ANSI colours, line by line."""
    out = []
    for line in text.splitlines(keepends=True):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        style = next((code for prefix, code in _STYLES if body.startswith(prefix)), None)
        if style is None and " | " in body:  # a --stat line: colour its +/- bar
            name, _, bar = body.rpartition(" | ")
            bar = bar.replace("+", "\x1b[32m+\x1b[0m").replace("-", "\x1b[31m-\x1b[0m")
            out.append(f"{name} | {bar}{end}")
            continue
        out.append(f"{style}{body}{_RESET}{end}" if style else line)
    return "".join(out)


def _use_colour(mode: str) -> bool:
    if mode != "auto":
        return mode == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


@click.command(name="diff")
@click.argument("task_id")
@click.option("--stat", is_flag=True, help="A line per file and the totals, not the patch.")
@click.option(
    "--color",
    "colour",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="auto: coloured on a terminal, plain when piped (or NO_COLOR is set).",
)
def diff_command(task_id: str, stat: bool, colour: str) -> None:
    """The task's work as a unified diff against the commit its worktree started from.

    TASK_ID is the id or any unique prefix of it (4 characters or more).
    """
    text = str(_call("GET", f"{TASKS}/{task_id}/diff", params={"stat": "true"} if stat else {}))
    sys.stdout.write(colour_diff(text) if _use_colour(colour) else text)
    sys.stdout.flush()


def _report(done: dict[str, Any]) -> None:
    task = done["task"]
    if done["review"] == "merged":
        how = "squashed" if done["squash"] else "fast-forward" if done["fast_forward"] else "merge"
        line = f"task {task['id']}: {done['branch']} merged into {done['into']} ({how})"
        line += f" at {(done['commit'] or '')[:12]}"
    else:
        line = f"task {task['id']}: discarded"
    facts = []
    if done["worktree_removed"]:
        facts.append("worktree removed")
    facts.append(f"branch {done['branch']} {'deleted' if done['branch_deleted'] else 'kept'}")
    console.print(f"{line}; {', '.join(facts)}", markup=False)


@click.command(name="merge")
@click.argument("task_id")
@click.option("--squash", is_flag=True, help="One new commit on the target, no merge commit.")
@click.option("--into", "into", metavar="BRANCH", help="Default: the repository's current branch.")
def merge_command(task_id: str, squash: bool, into: str | None) -> None:
    """Merge a finished task's branch into BRANCH in the task's repository.

    Refuses, changing nothing, when BRANCH's working tree has uncommitted changes or the
    merge conflicts (the conflicting files are named). Then the task's worktree is removed.
    """
    body: dict[str, Any] = {"squash": squash}
    if into:
        body["into"] = into
    _report(_call("POST", f"{TASKS}/{task_id}/merge", json=body))


@click.command(name="discard")
@click.argument("task_id")
@click.option("--yes", is_flag=True, help="Do not ask (needed without a terminal).")
def discard_command(task_id: str, yes: bool) -> None:
    """Remove a finished task's worktree and delete its branch: its work is lost."""
    if not yes:
        if not sys.stdin.isatty():
            err_console.print(
                f"error: discarding task {task_id} deletes its branch and worktree; "
                "there is no terminal to ask on: pass --yes",
                markup=False,
            )
            sys.exit(EXIT_FAILED)
        task = _call("GET", f"{TASKS}/{task_id}")
        branch = (task.get("result") or {}).get("branch") or "its branch"
        click.confirm(f"Discard task {task['id']}: delete {branch} and its worktree?", abort=True)
    _report(_call("POST", f"{TASKS}/{task_id}/discard"))


@click.command(name="shell")
@click.argument("task_id")
@click.option("--tmux", is_flag=True, help=f"A window of tmux session {TMUX_SESSION} instead.")
def shell_command(task_id: str, tmux: bool) -> None:
    """A shell in the task's worktree ($SHELL, else /bin/sh)."""
    task = _call("GET", f"{TASKS}/{task_id}")
    worktree = task.get("worktree")
    if not worktree or not Path(worktree).is_dir():
        why = "it has none" if not worktree else f"{worktree} is gone (merged, discarded, swept)"
        err_console.print(f"error: task {task['id']} has no worktree: {why}", markup=False)
        sys.exit(EXIT_FAILED)
    if tmux:
        window = _tmux_window(task["id"], worktree)
        console.print(f"tmux window {window} of session {TMUX_SESSION} in {worktree}", markup=False)
        return
    shell = os.environ.get("SHELL") or "/bin/sh"
    os.chdir(worktree)
    sys.stdout.flush()
    os.execvp(shell, [shell])  # noqa: S606 - the user's own shell, replacing this process


def _tmux_window(task_id: str, worktree: str) -> str:
    name = f"shell-{task_id[:8]}"
    sessions = "/sessions"
    try:
        window = _call(
            "POST",
            f"{sessions}/{TMUX_SESSION}/windows",
            json={"name": name, "start_directory": worktree},
        )
        return str(window.get("name") or name)
    except NotFoundError:
        spec = {"name": TMUX_SESSION, "windows": [{"name": name, "start_directory": worktree}]}
        _call("POST", sessions, json=spec)
        return name


REVIEW_COMMANDS = (diff_command, merge_command, discard_command, shell_command)
