"""``gaia workflow``: run, validate, list, show, logs, stop, resume, retry."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gaia.cli.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    GaiaGroup,
    console,
    err_console,
    esc,
    open_runtime,
    print_problems,
    short_id,
)
from gaia.errors import GaiaError, WorkflowValidationError
from gaia.workflows.status import RunStatus, WorkflowTaskStatus

# Everything else is imported by the command that needs it: `gaia workflow list` should
# not pay for the progress display (rich.live), the engine or the YAML loader.
if TYPE_CHECKING:
    from rich.text import Text

    from gaia.runtime import Runtime
    from gaia.workflows.manager import RunResult, WorkflowManager

__all__ = ["workflow"]

var_option = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set or override a workflow variable (repeatable).",
)


def _overrides(variables: tuple[str, ...]) -> dict[str, str]:
    from gaia.workflows.loader import parse_var_overrides

    try:
        return parse_var_overrides(variables)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--var") from None


@click.group(cls=GaiaGroup)
def workflow() -> None:
    """Run YAML workflows: DAGs of shell and AI-agent tasks."""


@workflow.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@var_option
def validate(file: Path, variables: tuple[str, ...]) -> None:
    """Check FILE and report every problem with file:line:column (exit 2 if invalid)."""
    runtime = open_runtime()
    try:
        loaded = runtime.workflows.load_file(file, _overrides(variables))
    finally:
        runtime.close()
    from gaia.workflows.dag import layers

    spec = loaded.spec
    depth = len(layers({t.id: t.dependencies for t in spec.tasks}))
    console.print(
        f"✓ {file} is valid: workflow {spec.name!r}, {len(spec.tasks)} tasks "
        f"in {depth} {'layer' if depth == 1 else 'layers'}",
        markup=False,
    )


@workflow.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@var_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, no progress.")
def run(file: Path, variables: tuple[str, ...], as_json: bool) -> None:
    """Run FILE here, with live progress; exit 0 if it completes, 1 if not."""
    from rich.text import Text

    runtime = open_runtime()
    try:
        try:
            loaded = runtime.workflows.load_file(file, _overrides(variables))
        except WorkflowValidationError as exc:
            print_problems(exc)
            sys.exit(EXIT_INVALID)
        run_id = runtime.workflows.create(loaded)
        if not as_json:
            console.print(
                Text.assemble(
                    ("workflow ", "bold"),
                    (loaded.spec.name, "bold cyan"),
                    f" · {len(loaded.spec.tasks)} tasks · run {short_id(run_id)}",
                )
            )
        result = _drive(runtime, run_id, resume=False, as_json=as_json)
    finally:
        runtime.close()
    sys.exit(0 if result.status is RunStatus.completed else EXIT_FAILED)


@workflow.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, no progress.")
def resume(run_id: str, as_json: bool) -> None:
    """Re-run what did not complete in RUN_ID, keeping completed tasks."""
    from rich.text import Text

    runtime = open_runtime()
    try:
        full_id = runtime.workflows.resolve(run_id)
        detail = None if as_json else runtime.workflows.get(full_id)
        # A run that cannot be resumed gets its refusal alone, with no "resuming" header.
        if detail is not None and detail.status in _RESUMABLE:
            done = detail.task_counts.get("completed", 0)
            console.print(
                Text.assemble(
                    ("resuming ", "bold"),
                    (detail.name, "bold cyan"),
                    f" · {len(detail.tasks) - done} of {len(detail.tasks)} tasks to run"
                    f" · run {short_id(full_id)}",
                )
            )
        result = _drive(runtime, full_id, resume=True, as_json=as_json)
    finally:
        runtime.close()
    sys.exit(0 if result.status is RunStatus.completed else EXIT_FAILED)


@workflow.command()
@click.argument("run_id")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, no progress.")
def retry(run_id: str, task_id: str, as_json: bool) -> None:
    """Run TASK_ID of RUN_ID again here: a failed task, and the tasks after it that it
    kept from running. The run's other tasks keep their states."""
    from rich.text import Text

    runtime = open_runtime()
    try:
        full_id = runtime.workflows.resolve(run_id)
        if not as_json:
            name = runtime.workflows.store.name(full_id)
            console.print(
                Text.assemble(
                    ("retrying ", "bold"),
                    (task_id, "bold cyan"),
                    f" of {name} · run {short_id(full_id)}",
                )
            )
        result = _drive(runtime, full_id, resume=True, as_json=as_json, retry=task_id)
    finally:
        runtime.close()
    sys.exit(0 if result.status is RunStatus.completed else EXIT_FAILED)


_RESUMABLE = frozenset({RunStatus.failed, RunStatus.cancelled, RunStatus.interrupted})


def _drive(
    runtime: Runtime, run_id: str, *, resume: bool, as_json: bool, retry: str | None = None
) -> RunResult:
    import asyncio

    from gaia.cli.progress import Progress, print_summary

    manager = runtime.workflows
    counts = manager.store.counts(run_id)
    total = sum(counts.values())
    already = counts.get("completed", 0) if resume else 0
    started = time.monotonic()

    async def main() -> RunResult:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _stop_on_signal, manager, run_id, signum)
        if as_json:
            return await manager.execute(run_id, resume=resume, retry=retry)
        with Progress(console, total=total, done=already) as progress:
            return await manager.execute(run_id, resume=resume, listener=progress, retry=retry)

    result = asyncio.run(main())
    elapsed = time.monotonic() - started
    if as_json:
        sys.stdout.write(manager.get(run_id).model_dump_json(indent=2) + "\n")
    else:
        name = manager.store.name(run_id)
        print_summary(console, name, run_id, result.status, result.error, result.tasks, elapsed)
    return result


def _stop_on_signal(manager: WorkflowManager, run_id: str, signum: int) -> None:
    name = signal.Signals(signum).name
    err_console.print(f"\n{name}: stopping the workflow…", markup=False)
    with contextlib.suppress(GaiaError):
        manager.stop(run_id, reason=f"stopped by {name}")


@workflow.command(name="list")
@click.option("--status", type=click.Choice([s.value for s in RunStatus]), help="Only this status.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-q", "--quiet", is_flag=True, help="Print only run ids, one per line.")
def list_runs(status: str | None, limit: int, as_json: bool, quiet: bool) -> None:
    """List workflow runs, newest first."""
    from gaia.workflows.summaries import list_summaries  # no engine, no SQLAlchemy

    runtime = open_runtime()
    try:
        runs = list_summaries(runtime.db, status=status, limit=limit)
    finally:
        runtime.close()
    if quiet:
        sys.stdout.write("".join(f"{r.id}\n" for r in runs))
        return
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump(mode="json") for r in runs], indent=2) + "\n")
        return
    if not runs:
        console.print("no workflow runs" + (f" with status {status}" if status else ""))
        return
    from rich.table import Table

    from gaia._duration import format_duration

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("id", "name", "status", "tasks", "created", "duration"):
        table.add_column(column)
    for r in runs:
        total = sum(r.task_counts.values())
        table.add_row(
            short_id(r.id),
            esc(r.name),
            _status_text(r.status),
            f"{r.task_counts.get('completed', 0)}/{total}",
            r.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            format_duration(r.duration_seconds) if r.duration_seconds is not None else "-",
        )
    console.print(table)


def _status_text(status: str) -> Text:
    from rich.text import Text

    styles = {
        "completed": "green",
        "failed": "red",
        "running": "cyan",
        "interrupted": "yellow",
        "cancelled": "yellow",
    }
    return Text(status, style=styles.get(status, ""))


@workflow.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(run_id: str, as_json: bool) -> None:
    """Show a run and its tasks."""
    from rich.table import Table
    from rich.text import Text

    from gaia._duration import format_duration
    from gaia.cli.progress import SYMBOLS

    runtime = open_runtime()
    try:
        detail = runtime.workflows.get(runtime.workflows.resolve(run_id))
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(detail.model_dump_json(indent=2) + "\n")
        return
    console.print(Text.assemble((detail.name, "bold cyan"), "  ", _status_text(detail.status)))
    console.print(f"id: {detail.id}\nsource: {detail.source}", markup=False)
    if detail.duration_seconds is not None:
        console.print(f"duration: {format_duration(detail.duration_seconds)}")
    if detail.error:
        console.print(Text(f"error: {detail.error}", style="red"))
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("task", "type", "agent", "status", "attempts", "duration", "needs", "error"):
        table.add_column(column)
    for t in detail.tasks:
        symbol, style = SYMBOLS[WorkflowTaskStatus(t.status)]
        table.add_row(
            esc(t.id),
            esc(t.type),
            esc(t.agent or ""),
            Text(f"{symbol} {t.status}", style=style),
            str(t.attempts),
            format_duration(t.duration_seconds) if t.duration_seconds is not None else "-",
            esc(", ".join(t.dependencies)),
            Text(t.error or "", style="red"),
        )
    console.print(table)


@workflow.command()
@click.argument("run_id")
@click.argument("task")
@click.option("-f", "--follow", is_flag=True, help="Keep printing output as the task writes it.")
@click.option("--attempt", type=click.IntRange(1), help="An earlier attempt (default: latest).")
@click.option("--tail", type=click.IntRange(0), help="Only the last N lines.")
def logs(run_id: str, task: str, follow: bool, attempt: int | None, tail: int | None) -> None:
    """Print the output of TASK in RUN_ID."""
    import asyncio

    from gaia.workflows.logs import follow_log, read_log

    runtime = open_runtime()
    try:
        manager = runtime.workflows
        full_id = manager.resolve(run_id)
        if not follow:
            path = manager.log_path(full_id, task, attempt)
            if path is None:
                detail = manager.task(full_id, task)
                err_console.print(
                    f"task {task!r} has no output yet (status: {detail.status})", markup=False
                )
                return
            sys.stdout.write(read_log(path, tail))
            return

        async def stream() -> None:
            async for chunk in follow_log(manager, full_id, task):
                sys.stdout.write(chunk)
                sys.stdout.flush()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(stream())
    finally:
        runtime.close()


@workflow.command()
@click.argument("run_id")
@click.option("--wait/--no-wait", default=True, help="Wait until the run has stopped.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait.")
def stop(run_id: str, wait: bool, timeout: float) -> None:
    """Stop a running workflow (wherever it runs); its task processes are killed."""
    runtime = open_runtime()
    try:
        manager = runtime.workflows
        full_id = manager.resolve(run_id)
        how = manager.stop(full_id)
        if how == "cancelled":
            console.print(f"workflow {short_id(full_id)} cancelled before it started")
            return
        if not wait:
            console.print(f"stop requested for workflow {short_id(full_id)}")
            return
        deadline = time.monotonic() + timeout
        with err_console.status(f"stopping workflow {short_id(full_id)}…"):
            status = manager.store.status(full_id)
            while status == RunStatus.running and time.monotonic() < deadline:
                time.sleep(0.2)
                status = manager.store.status(full_id)
        if status == RunStatus.running:
            err_console.print(f"workflow {short_id(full_id)} is still stopping after {timeout}s")
            sys.exit(EXIT_FAILED)
        console.print(f"workflow {short_id(full_id)} {status}")
    finally:
        runtime.close()
