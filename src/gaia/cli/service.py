"""``gaia service``: register and supervise dev services through the daemon."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from gaia._duration import format_duration
from gaia._graph import layers
from gaia._sse import EventParser
from gaia.cli.common import GaiaGroup, console, err_console, esc
from gaia.cli.daemon import connect

__all__ = ["service"]

STATE_STYLES = {
    "running": "green",
    "failed": "red",
    "exited": "yellow",
    "stopping": "yellow",
    "starting": "cyan",
}
HEALTH_STYLES = {"healthy": "green", "unhealthy": "red"}


@click.group(cls=GaiaGroup)
def service() -> None:
    """Supervise dev services: health checks, restarts, logs, metrics, events."""


@service.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--replace", is_flag=True, help="Redefine services that are already registered.")
def register(file: Path, replace: bool) -> None:
    """Register the service(s) in FILE (JSON or YAML; one service or a list).

    \b
    Restart policy: by default a service that exits is NOT restarted (policy `no`).
    Set `auto_restart: true` (policy `on_failure`), or a `restart:` block with
    `policy: no | on_failure | always` (a block without `policy` means on_failure).
    `gaia service list` shows each service's policy.
    """
    from gaia.services.loader import load_service_file  # YAML and the models: only here

    load_service_file(file)  # report problems with file:line:column before calling the daemon
    client = connect()
    try:
        created = client.request(
            "POST",
            "/services",
            content=file.read_bytes(),
            # Relative paths in the file are the file's folder's, not the daemon's cwd.
            params={"replace": replace, "base_dir": str(file.resolve().parent)},
        )
    finally:
        client.close()
    for item in created:
        console.print(f"registered {item['name']} ({item['id'][:8]})", markup=False)


@service.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_services(as_json: bool) -> None:
    """A table of services: state, health, pid, port, restart policy, uptime, CPU, memory."""
    client = connect()
    try:
        services = client.request("GET", "/services")
    finally:
        client.close()
    if as_json:
        sys.stdout.write(json.dumps(services, indent=2) + "\n")
        return
    if not services:
        console.print("no services registered; add one with `gaia service register FILE`")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in (
        "name",
        "state",
        "health",
        "pid",
        "port",
        "policy",
        "uptime",
        "restarts",
        "cpu",
        "mem",
    ):
        table.add_column(column)
    for s in services:
        table.add_row(
            esc(s["name"]),
            Text(s["state"], style=STATE_STYLES.get(s["state"], "")),
            Text(s["health"], style=HEALTH_STYLES.get(s["health"], "dim")),
            str(s["pid"] or "-"),
            str(s["port"] or "-"),
            esc(s["restart_policy"]),
            format_duration(s["uptime_seconds"]) if s["uptime_seconds"] is not None else "-",
            str(s["restart_count"]),
            f"{s['cpu_percent']:.1f}%" if s["cpu_percent"] is not None else "-",
            _bytes(s["rss_bytes"]) if s["rss_bytes"] is not None else "-",
        )
    console.print(table)


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}GiB"


def _stop_order(services: list[dict[str, Any]]) -> tuple[str, ...]:
    """Dependents before what they depend on, so nothing loses a dependency while it runs.

    The list comes sorted by name; a reversed name order stopped a database before the
    app using it whenever the names happened to sort that way.
    """
    graph = {s["name"]: list(s["depends_on"]) for s in services}
    return tuple(name for layer in reversed(layers(graph)) for name in sorted(layer))


def _transition(action: str, names: tuple[str, ...], all_: bool, **params: Any) -> None:
    client = connect()
    try:
        if all_:
            services = client.request("GET", "/services")
            names = tuple(s["name"] for s in services)
            if action == "stop":
                names = _stop_order(services)
        if not names:
            raise click.UsageError("give a service NAME, or --all")
        with console.status(esc(f"{action} {', '.join(names)}…")):
            for name in names:
                result = client.request("POST", f"/services/{name}/{action}", params=params)
                console.print(f"{result['name']}: {result['state']}", markup=False)
    finally:
        client.close()


@service.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every registered service.")
def start(names: tuple[str, ...], all_: bool) -> None:
    """Start services (their dependencies first)."""
    _transition("start", names, all_)


@service.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every registered service.")
@click.option("--now", is_flag=True, help="Kill at once instead of stopping gracefully.")
def stop(names: tuple[str, ...], all_: bool, now: bool) -> None:
    """Stop services and their whole process trees."""
    _transition("stop", names, all_, graceful=not now)


@service.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every registered service.")
def restart(names: tuple[str, ...], all_: bool) -> None:
    """Restart services."""
    _transition("restart", names, all_)


@service.command()
@click.argument("name")
def unregister(name: str) -> None:
    """Remove a stopped service."""
    client = connect()
    try:
        removed = client.request("DELETE", f"/services/{name}")
    finally:
        client.close()
    console.print(f"unregistered {removed['name']}", markup=False)


@service.command()
@click.argument("name")
@click.option("-n", "--lines", default=100, show_default=True, help="How many lines.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output.")
def logs(name: str, lines: int, follow: bool) -> None:
    """Print the last lines of a service's output."""
    client = connect()
    try:
        if not follow:
            sys.stdout.write(
                client.request("GET", f"/services/{name}/logs", params={"lines": lines})
            )
            return
        with (
            contextlib.suppress(KeyboardInterrupt),
            client.stream(f"/services/{name}/logs", lines=lines, follow="true") as response,
        ):
            _print_log_events(response.iter_bytes())
    finally:
        client.close()


def _print_log_events(stream: Iterable[bytes]) -> None:
    """Print the text of each ``log`` event; say why the stream ended if it says so."""
    parser = EventParser()
    for chunk in stream:
        for event in parser.feed(chunk):
            if event.event == "log":
                sys.stdout.write(event.data + "\n")
                sys.stdout.flush()
            elif event.event == "end":
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    reason = json.loads(event.data).get("reason")
                    if reason:
                        err_console.print(f"log stream ended: {reason}", markup=False)
                return


@service.command()
@click.argument("name")
def health(name: str) -> None:
    """The service's health and its latest probes."""
    client = connect()
    try:
        view = client.request("GET", f"/services/{name}/health")
    finally:
        client.close()
    style = HEALTH_STYLES.get(view["health"], "dim")
    console.print(Text.assemble(f"{view['name']}: ", (view["health"], style)))
    if view["check"] is None:
        console.print("no health check defined")
    for probe in view["history"][:10]:
        mark = "✓" if probe["ok"] else "✗"
        console.print(
            f"  {mark} {probe['checked_at']}  {probe['latency_ms']:.1f}ms  {probe['detail']}",
            markup=False,
        )


@service.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def metrics(name: str, as_json: bool) -> None:
    """CPU, memory (the service with its children), uptime and restarts."""
    client = connect()
    try:
        data = client.request("GET", f"/services/{name}/metrics")
    finally:
        client.close()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    current = data["current"]
    if current is None:
        console.print(f"{name} is not running", markup=False)
        return
    console.print(
        f"{name}: cpu {current['cpu_percent']:.1f}%  mem {_bytes(current['rss_bytes'])}  "
        f"processes {current['process_count']}  uptime "
        f"{format_duration(current['uptime_seconds'])}  restarts {current['restart_count']}",
        markup=False,
    )


@service.command()
@click.argument("name")
@click.option("-n", "--limit", default=50, show_default=True, help="How many events.")
def events(name: str, limit: int) -> None:
    """The service's state changes, newest last."""
    client = connect()
    try:
        items = client.request("GET", f"/services/{name}/events", params={"limit": limit})
    finally:
        client.close()
    for event in items:
        change = (
            f"{event['from_state']} → {event['to_state']}" if event["to_state"] else event["kind"]
        )
        console.print(f"{event['at']}  {change:<22} {event['message'] or ''}", markup=False)
