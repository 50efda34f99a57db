"""``gaia session up`` and ``freeze``: layout files (tmuxp's format) in and out.

``up`` hands the file to the daemon when one runs, with what the file is read against
here (its absolute path, this command's working directory and the variables it refers
to), so that it loads as tmuxp would load it in this shell; what loading ignored is
printed as warnings on stderr.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from gaia.cli.common import console, err_console, esc
from gaia.cli.session import _LOCAL, _ask_daemon, _attach, _print_json, open_sessions, session
from gaia.sessions.paths import referenced_variables

__all__: list[str] = []

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@session.command()
@click.argument("layout", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--attach", "-a", "attach_after", is_flag=True, help="Attach when built.")
@click.option(
    "--wait", is_flag=True, help="Return only once every pane's commands have been typed."
)
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON.")
def up(layout: Path, attach_after: bool, wait: bool, as_json: bool) -> None:
    """Build a whole session from a layout file (tmuxp format).

    Returns once tmux has the session; each pane's commands are typed by a detached helper
    as soon as its shell is ready (--wait: before returning).
    """
    if layout.is_file() and not attach_after:
        # Start directories expand $NAME and ~ from this command's environment, not the
        # daemon's: send the variables the layout refers to.
        names = referenced_variables(layout.read_text(encoding="utf-8", errors="replace"))
        environ = {k: os.environ[k] for k in names | {"HOME", "PWD"} if k in os.environ}
        body = {
            "path": str(layout.resolve()),
            "source": str(layout),
            "wait": wait,
            "environ": environ,
            # relative paths still relative after the file's folder are the caller's
            "cwd": str(Path.cwd()),
        }
        answer = _ask_daemon("POST", "/up", body, timeout=600.0)
        if answer is not _LOCAL:
            _report_up(answer, as_json)
            return
    from gaia.sessions.loader import read_layout_file

    loaded = read_layout_file(layout)
    spec = loaded.spec
    with open_sessions() as sessions:
        with err_console.status(f"building {esc(spec.session_name)}…"):
            view = sessions.create(
                spec,
                origin="layout",
                layout_file=str(layout.resolve()),
                typing="wait" if wait else "fork",
            )
        view.warnings = [str(w) for w in loaded.warnings]
        _report_up(view.model_dump(mode="json"), as_json)
        if attach_after:
            _attach(sessions, view.name)


def _print_warnings(warnings: list[str]) -> None:
    """What loading the layout ignored: on stderr, in yellow, control characters escaped."""
    for warning in warnings:
        line = _CONTROL.sub(lambda m: repr(m.group())[1:-1], warning)
        click.secho(f"warning: {line}", fg="yellow", err=True)


def _report_up(view: dict[str, Any], as_json: bool) -> None:
    _print_warnings(view.get("warnings") or [])
    if as_json:
        _print_json(view)
        return
    windows = view["windows"]
    panes = sum(len(w["panes"]) for w in windows)
    # click.echo, not rich: a command the daemon answered should not import rich to say this
    counted = (
        f"{len(windows)} window{'' if len(windows) == 1 else 's'}, "
        f"{panes} pane{'' if panes == 1 else 's'}"
    )
    click.echo(f"session {view['name']} is up: {counted} (`gaia session attach {view['name']}`)")


@session.command()
@click.argument("name")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of printing.",
)
@click.option("--force", is_flag=True, help="Overwrite the output file.")
def freeze(name: str, output: Path | None, force: bool) -> None:
    """Write the layout of live session NAME as a file `gaia session up` loads."""
    with open_sessions() as sessions:
        layout = sessions.freeze(name)
    import yaml

    text = yaml.safe_dump(layout, sort_keys=False, allow_unicode=True, width=1000)
    if output is None:
        sys.stdout.write(text)
        return
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; use --force to overwrite it")
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}", markup=False)
