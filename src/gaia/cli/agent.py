"""``gaia agent``: run coding agents on tasks through the daemon's queue."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from gaia._duration import format_duration
from gaia.cli.common import EXIT_FAILED, GaiaGroup, console, err_console, esc, key_value_pairs
from gaia.cli.daemon import DaemonClient, connect

__all__ = ["agent"]

EXIT_TIMEOUT = 124
EXIT_CANCELLED = 130
POLL_SECONDS = 0.25
STATUS_STYLES = {
    "succeeded": "green",
    "failed": "red",
    "timed_out": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "queued": "dim",
}


@click.group(cls=GaiaGroup)
def agent() -> None:
    """Run Claude Code, Gemini CLI, Codex or any CLI agent on queued tasks."""


def _call(method: str, path: str, **kwargs: Any) -> Any:
    client = connect()
    try:
        return client.request(method, path, **kwargs)
    finally:
        client.close()


@agent.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_agents(as_json: bool) -> None:
    """Every agent: kind, whether it can run (and why not), limits, task types.

    Built-in agents whose CLI is not on PATH are listed too, as not available.
    """
    agents = _call("GET", "/agents")
    if as_json:
        console.print_json(json.dumps(agents))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("agent", "kind", "available", "max", "timeout", "takes", "command"):
        table.add_column(column)
    for item in agents:
        table.add_row(
            esc(item["id"]),
            esc(item["kind"]),
            "[green]yes[/]" if item["available"] else "[red]no[/]",
            str(item["max_concurrency"]),
            "-" if item["timeout"] is None else f"{item['timeout']:g}s",
            esc(",".join(item["capabilities"])),
            esc(item["executable"] or " ".join(item["command"])),
        )
    console.print(table)
    # Why each one that cannot run cannot: below the table, where a long reason fits.
    for item in agents:
        if item.get("reason"):
            console.print(f"  {item['id']}: {item['reason']}", markup=False, highlight=False)


@agent.command()
@click.option("--agent", "agent_id", default="auto", show_default=True, help="Agent to run.")
@click.option(
    "--type",
    "task_type",
    type=click.Choice(["code", "review", "refactor", "test", "shell"]),
    default="code",
    show_default=True,
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Where the agent works (default: here).",
)
@click.option("--priority", type=int, default=0, show_default=True, help="Higher runs first.")
@click.option("--timeout", help="e.g. 30m (default: the agent's, else agent_task_timeout).")
@click.option("--visible", is_flag=True, help="Run in a window of tmux session gaia-agents.")
@click.option("--isolation", type=click.Choice(["worktree", "none"]), help="Default by type.")
@click.option("--context", "context", multiple=True, help="KEY=VALUE for the prompt preamble.")
@click.option("--detach", is_flag=True, help="Queue the task, print its id and return.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished task as JSON.")
@click.argument("instruction")
def run(
    agent_id: str,
    task_type: str,
    work_dir: Path | None,
    priority: int,
    timeout: str | None,
    visible: bool,
    isolation: str | None,
    context: tuple[str, ...],
    detach: bool,
    as_json: bool,
    instruction: str,
) -> None:
    """Queue INSTRUCTION for an agent, follow its events, and print its result."""
    body: dict[str, Any] = {
        "agent": agent_id,
        "instruction": instruction,
        "task_type": task_type,
        "work_dir": str((work_dir or Path.cwd()).resolve()),
        "priority": priority,
        "visible": visible,
        "context": key_value_pairs(context, "--context"),
        "wait": False,
    }
    if timeout:
        body["timeout"] = timeout
    if isolation:
        body["isolation"] = isolation
    client = connect()
    try:
        # Ctrl-C waits until the task has an id, so that it can be cancelled, not orphaned.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            task = client.request("POST", "/agents/execute", json=body)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if detach:
            console.print(task["id"])
            return
        try:
            err_console.print(
                f"task {task['id']} queued for {task['agent']}", style="dim", markup=False
            )
            task = _follow(client, task, quiet=as_json)
        except KeyboardInterrupt:
            err_console.print("cancelling…")
            task = client.request("POST", f"/agents/tasks/{task['id']}/cancel")
    finally:
        client.close()
    if as_json:
        console.print_json(json.dumps(task))
    else:
        _print_result(task)
    sys.exit(_exit_code(task["status"]))


def _follow(client: DaemonClient, task: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
    """Poll the task and print its agent's events as they appear in the log."""
    offset = 0
    started = time.monotonic()
    with err_console.status(f"{esc(task['agent'])}: {task['status']}") as status:
        while True:
            task = client.request("GET", f"/agents/tasks/{task['id']}")
            log_path = task.get("log_path")
            if log_path and not quiet:
                offset = _print_new_events(Path(log_path), offset)
            if task["status"] not in ("queued", "running"):
                return task
            status.update(
                f"{esc(task['agent'])}: {task['status']} {time.monotonic() - started:.0f}s"
            )
            time.sleep(POLL_SECONDS)


def _print_new_events(path: Path, offset: int) -> int:
    # Here, not at the top: importing gaia.agents loads the bridge and SQLAlchemy, which
    # every other `gaia agent` command (a call to the daemon) does without.
    from gaia.agents.events import describe_event

    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return offset
    complete = data.rfind(b"\n") + 1  # a line still being written waits for next time
    for raw in data[:complete].decode("utf-8", errors="replace").splitlines():
        text = describe_event(raw)
        if text:
            err_console.print(f"  {text}", markup=False, style="dim")
    return offset + complete


def _print_result(task: dict[str, Any]) -> None:
    status = task["status"]
    style = STATUS_STYLES.get(status, "")
    result = task.get("result") or {}
    console.print(f"[{style}]{status}[/] {esc(task['agent'])} task {esc(task['id'])}")
    if task.get("error"):
        console.print(f"error: {task['error']}", markup=False)
    if result.get("branch"):
        stat = result.get("diff_stat") or {}
        console.print(
            f"branch {result['branch']} at {(result.get('commit') or 'no changes')[:12]}: "
            f"{stat.get('files_changed', 0)} files, +{stat.get('insertions', 0)} "
            f"-{stat.get('deletions', 0)}",
            markup=False,
        )
    facts = _result_facts(result)
    if facts:
        console.print(", ".join(facts), style="dim", markup=False)
    if result.get("output"):
        console.print(result["output"].rstrip(), markup=False)


def _result_facts(result: dict[str, Any]) -> list[str]:
    """``session 4f2c…, 3 turns, 12.3s, $0.0412``: what the agent reported, when it did."""
    facts = []
    if result.get("session_id") is not None:
        facts.append(f"session {result['session_id']}")
    if result.get("num_turns") is not None:
        turns = result["num_turns"]
        facts.append(f"{turns} turn{'' if turns == 1 else 's'}")
    if result.get("duration_ms") is not None:
        facts.append(format_duration(result["duration_ms"] / 1000))
    if result.get("cost_usd") is not None:
        facts.append(f"${result['cost_usd']:.4f}")
    return facts


def _exit_code(status: str) -> int:
    return {"succeeded": 0, "timed_out": EXIT_TIMEOUT, "cancelled": EXIT_CANCELLED}.get(
        status, EXIT_FAILED
    )


@agent.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(name: str | None, as_json: bool) -> None:
    """Totals, success rate, active and queued tasks, mean duration, tokens and cost."""
    rows = _call("GET", "/agents/stats", params={"agent": name} if name else {})
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(box=None, pad_edge=False)
    columns = ("agent", "total", "ok", "failed", "cancelled", "rate", "active", "queued")
    for column in (*columns, "mean", "tokens in/out", "cost"):
        table.add_column(column)
    for row in rows:
        rate = row["success_rate"]
        mean = row["mean_duration_ms"]
        table.add_row(
            esc(row["agent_id"]),
            str(row["total"]),
            str(row["succeeded"]),
            str(row["failed"]),
            str(row["cancelled"]),
            "-" if rate is None else f"{rate:.0%}",
            str(row["active"]),
            str(row["queued"]),
            "-" if mean is None else f"{mean / 1000:.1f}s",
            f"{row['input_tokens']}/{row['output_tokens']}",
            f"${row['cost_usd']:.4f}",
        )
    console.print(table)


@agent.command()
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def result(task_id: str, as_json: bool) -> None:
    """The status and result of a task (exit status 0 only when it succeeded).

    TASK_ID is the id or any unique prefix of it (4 characters or more), as `tasks` shows.
    """
    task = _call("GET", f"/agents/tasks/{task_id}")
    if as_json:
        console.print_json(json.dumps(task))
    else:
        _print_result(task)
    if task["status"] in ("queued", "running"):
        return
    sys.exit(_exit_code(task["status"]))


@agent.command()
@click.argument("task_id")
def cancel(task_id: str) -> None:
    """Cancel a queued or running task (a running agent's process tree is killed).

    TASK_ID is the id or any unique prefix of it (4 characters or more).
    """
    task = _call("POST", f"/agents/tasks/{task_id}/cancel")
    console.print(f"task {task['id']}: {task['status']}", markup=False)


@agent.command()
@click.option("--status", type=click.Choice(list(STATUS_STYLES)), help="Only tasks in this state.")
@click.option("--limit", type=int, default=20, show_default=True)
def tasks(status: str | None, limit: int) -> None:
    """The newest tasks, with their agent, status and branch."""
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status
    rows = _call("GET", "/agents/tasks", params=params)
    table = Table(box=None, pad_edge=False)
    for column in ("task", "agent", "type", "prio", "status", "branch", "instruction"):
        table.add_column(column)
    for row in rows:
        style = STATUS_STYLES.get(row["status"], "")
        table.add_row(
            row["id"][:8],
            esc(row["agent"]),
            esc(row["task_type"]),
            str(row["priority"]),
            f"[{style}]{row['status']}[/]",
            esc((row.get("result") or {}).get("branch") or ""),
            esc(row["instruction"][:60]),
        )
    console.print(table)


def _add_review_commands() -> None:
    from gaia.cli.agent_review import REVIEW_COMMANDS

    for command in REVIEW_COMMANDS:
        agent.add_command(command)


_add_review_commands()
