"""Live progress of a workflow run: a live panel on a terminal, one line per event elsewhere."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gaia._duration import format_duration
from gaia.workflows.engine import RunEvent, RunStatus, TaskState, WorkflowTaskStatus

__all__ = ["Progress", "print_summary"]

# Past a few, "logs:" lines bury the summary; `gaia workflow show` lists every task.
MAX_LOG_HINTS = 5

SYMBOLS = {
    WorkflowTaskStatus.completed: ("✓", "green"),
    WorkflowTaskStatus.failed: ("✗", "red"),
    WorkflowTaskStatus.cancelled: ("■", "yellow"),
    WorkflowTaskStatus.skipped: ("-", "dim"),
    WorkflowTaskStatus.running: ("▶", "cyan"),
    WorkflowTaskStatus.retrying: ("↻", "yellow"),
    WorkflowTaskStatus.pending: ("·", "dim"),
}


class Progress:
    """Receives RunEvents; shows what runs now and what just finished."""

    def __init__(self, console: Console, total: int, done: int = 0) -> None:
        self.console = console
        self.total = total
        self.done = done
        self.failed = 0
        self.running: dict[str, float] = {}
        self.started = time.monotonic()
        self.live: Live | None = None
        if console.is_terminal:
            self.live = Live(
                console=console, refresh_per_second=8, transient=True, get_renderable=self._render
            )

    def __enter__(self) -> Progress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "started":
            self.running[event.task] = time.monotonic()
            if self.live is None:
                self._line(
                    event, f"started (attempt {event.attempt})" if event.attempt > 1 else "started"
                )
            return
        self.running.pop(event.task, None)
        if event.kind == "retrying":
            self._line(
                event,
                f"retrying in {format_duration(event.delay or 0)} "
                f"(attempt {event.attempt} failed: {event.error})",
            )
            return
        self.done += 1
        if event.status is WorkflowTaskStatus.failed:
            self.failed += 1
        took = f" in {format_duration(event.duration)}" if event.duration is not None else ""
        detail = f"{event.status.value}{took}"
        if event.error and event.status is not WorkflowTaskStatus.completed:
            detail += f": {event.error}"
        self._line(event, detail)

    def _line(self, event: RunEvent, text: str) -> None:
        symbol, style = SYMBOLS[event.status]
        if self.live is None:  # plain output (CI logs, pipes): cheap enough for 10k tasks
            self.console.file.write(f"  {symbol} {event.task:<24} {text}\n")
            return
        line = Text.assemble((f"  {symbol} ", style), (f"{event.task:<24}", "bold"), " ", text)
        self.console.print(line)

    def _render(self) -> Group:
        now = time.monotonic()
        elapsed = format_duration(now - self.started)
        head = Text.assemble(
            ("  ", ""),
            (f"{self.done}/{self.total} done", "bold"),
            f" · {len(self.running)} running",
            (f" · {self.failed} failed", "red" if self.failed else "dim"),
            (f" · {elapsed}", "dim"),
        )
        rows = [head]
        for task, since in list(self.running.items())[:10]:
            rows.append(Text(f"    ▶ {task:<24} {format_duration(now - since)}", style="cyan"))
        if len(self.running) > 10:
            rows.append(Text(f"    … and {len(self.running) - 10} more", style="dim"))
        return Group(*rows)


def print_summary(
    console: Console,
    name: str,
    run_id: str,
    status: RunStatus,
    error: str | None,
    tasks: dict[str, TaskState],
    elapsed: float,
) -> None:
    """A table of tasks (only the ones that did not complete when there are many)."""
    shown = list(tasks.values())
    hidden = 0
    if len(shown) > 40:
        unfinished = [t for t in shown if t.status is not WorkflowTaskStatus.completed]
        shown, hidden = unfinished[:40], max(len(unfinished) - 40, 0)
    if shown:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for column in ("task", "status", "attempts", "duration", "error"):
            table.add_column(column)
        for st in shown:
            symbol, style = SYMBOLS[st.status]
            table.add_row(
                Text(st.key),
                Text(f"{symbol} {st.status.value}", style=style),
                str(st.attempts),
                format_duration(st.duration) if st.duration is not None else "-",
                Text(st.error or "", style="red" if st.error else ""),
            )
        console.print(table)
    if hidden:
        more = f"  … and {hidden} more that did not complete: gaia workflow show {run_id[:8]}"
        console.print(Text(more, style="dim"))
    counts: dict[str, int] = {}
    for st in tasks.values():
        counts[st.status.value] = counts.get(st.status.value, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    ok = status is RunStatus.completed
    symbol, style = ("✓", "green") if ok else ("✗", "red")
    console.print(
        Text.assemble(
            (f"{symbol} workflow {name!r} {status.value}", f"bold {style}"),
            f" in {format_duration(elapsed)} ({len(tasks)} tasks: {summary})",
            (f" · run {run_id[:8]}", "dim"),
        )
    )
    if error and not ok:
        console.print(Text(f"  {error}", style=style))
    # One pointer per failed task, each at its own log; the tasks that ended the run come
    # before the ones allowed to fail (on_error: continue), which a reader looks at last.
    failed = sorted(
        (t for t in tasks.values() if t.status is WorkflowTaskStatus.failed),
        key=lambda t: t.spec.on_error == "continue",
    )
    for st in failed[:MAX_LOG_HINTS]:
        console.print(Text(f"  logs: gaia workflow logs {run_id[:8]} {st.key}", style="dim"))
    if len(failed) > MAX_LOG_HINTS:
        more = f"  … and {len(failed) - MAX_LOG_HINTS} more failed: gaia workflow show {run_id[:8]}"
        console.print(Text(more, style="dim"))
