"""``gaia scaffold``: generate projects from YAML templates, and validate them.

Runs in-process (no daemon): templates are files, generation writes where you say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from gaia.cli.common import (
    EXIT_FAILED,
    GaiaGroup,
    console,
    err_console,
    esc,
    key_value_pairs,
    open_settings,
)
from gaia.scaffold.generate import GenerateOptions
from gaia.scaffold.manager import ScaffoldManager, missing_required
from gaia.scaffold.views import generate_view, template_view, validation_view

__all__ = ["scaffold"]


def _manager() -> ScaffoldManager:
    return ScaffoldManager(open_settings())


@click.group(cls=GaiaGroup)
def scaffold() -> None:
    """Generate projects from YAML templates (safely, atomically) and validate them."""


@scaffold.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_templates(as_json: bool) -> None:
    """Templates: the built-ins and those in $GAIA_HOME/templates."""
    views = [template_view(t) for t in _manager().list_templates()]
    if as_json:
        console.print_json(json.dumps([v.model_dump() for v in views]))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("template", "origin", "language", "variables", "description"):
        table.add_column(column)
    for view in views:
        names = [v.name + ("*" if v.required and v.default is None else "") for v in view.variables]
        table.add_row(
            esc(view.name),
            esc(view.origin),
            esc(view.language or ""),
            esc(", ".join(names)),
            esc(view.description or ""),
        )
    console.print(table)
    console.print("* required", style="dim")


@scaffold.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str, as_json: bool) -> None:
    """A template's variables, files, hooks and checks (NAME or a path)."""
    view = template_view(_manager().get_template(name))
    if as_json:
        console.print_json(view.model_dump_json())
        return
    console.print(
        f"[bold]{esc(view.name)}[/] {esc(view.version or '')} "
        f"({esc(view.origin)}: {esc(view.path)})"
    )
    if view.description:
        console.print(view.description, markup=False)
    table = Table(box=None, pad_edge=False, title="variables", title_justify="left")
    for column in ("name", "type", "required", "default", "description"):
        table.add_column(column)
    for v in view.variables:
        kind = v.type + (f" ({'|'.join(v.choices)})" if v.choices else "")
        default = "" if v.default is None else str(v.default)
        table.add_row(
            esc(v.name),
            esc(kind),
            "yes" if v.required else "",
            esc(default),
            esc(v.description or ""),
        )
    console.print(table)
    console.print(f"files: {len(view.files)}, directories: {len(view.directories)}")
    for stage, commands in view.hooks.items():
        for command in commands:
            console.print(f"{stage}: {command}", markup=False)
    for command in view.validate_commands:
        console.print(f"validate: {command}", markup=False)


@scaffold.command()
@click.argument("template")
@click.argument("path", type=click.Path(path_type=Path, file_okay=False))
@click.option("--var", "pairs", multiple=True, help="KEY=VALUE for a template variable.")
@click.option("--name", help="Project name (default of a project_name variable).")
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@click.option("--force", is_flag=True, help="Write into a non-empty directory.")
@click.option("--no-hooks", is_flag=True, help="Do not run the template's hooks.")
@click.option("--trust", is_flag=True, help="Run hooks of a template from outside the registry.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def new(
    template: str,
    path: Path,
    pairs: tuple[str, ...],
    name: str | None,
    dry_run: bool,
    force: bool,
    no_hooks: bool,
    trust: bool,
    as_json: bool,
) -> None:
    """Generate a project from TEMPLATE (a name or a path) into PATH."""
    manager = _manager()
    given: dict[str, Any] = key_value_pairs(pairs, "--var")
    if name:
        given.setdefault("project_name", name)
    if sys.stdin.isatty() and not as_json:
        found = manager.get_template(template)
        for variable in missing_required(found, given):
            prompt = variable.name + (f" ({variable.description})" if variable.description else "")
            choice = click.Choice(variable.choices) if variable.choices else None
            given[variable.name] = click.prompt(prompt, type=choice)
    options = GenerateOptions(dry_run=dry_run, force=force, run_hooks=not no_hooks, trust=trust)

    def output(line: str) -> None:
        err_console.print(f"  {line}", markup=False, style="dim")

    result = manager.generate(template, path, given, options=options, output=output)
    view = generate_view(result)
    if as_json:
        console.print_json(view.model_dump_json())
        return
    if dry_run:
        for directory in view.directories:
            console.print(f"would create {directory}/", markup=False)
        for file in view.files:
            console.print(f"would write  {file}", markup=False)
        console.print(f"dry run: nothing written to {view.path}", markup=False)
        return
    console.print(
        f"[green]created[/] {esc(view.path)} from {esc(view.template)}: {len(view.files)} files, "
        f"{len(view.directories)} directories"
        + (f", {len(view.hooks)} hooks run" if view.hooks else "")
    )


# The end of a failing check's output is where its error is; the whole of it can be
# thousands of lines (a test suite), which --json still gives in full.
OUTPUT_TAIL_LINES = 20


def _tail(output: str) -> list[str]:
    lines = output.rstrip().splitlines()
    if len(lines) <= OUTPUT_TAIL_LINES:
        return lines
    hidden = len(lines) - OUTPUT_TAIL_LINES
    return [f"... ({hidden} earlier lines)", *lines[-OUTPUT_TAIL_LINES:]]


@scaffold.command()
@click.argument("path", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--no-commands", is_flag=True, help="Skip the template's validate commands.")
@click.option(
    "--trust", is_flag=True, help="Run the checks of a template from outside the registry."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate(path: Path, no_commands: bool, trust: bool, as_json: bool) -> None:
    """Check a generated project against its template: files, modes, drift, checks."""
    report = _manager().validate(path, run_commands=not no_commands, trust=trust)
    view = validation_view(report)
    if as_json:
        console.print_json(view.model_dump_json())
    else:
        for problem in view.problems:
            console.print(f"[red]✗[/] {esc(problem)}")
        for command in view.commands:
            if command["exit_code"] == 0:
                console.print(f"[green]✓[/] {esc(command['command'])}")
                continue
            console.print(f"[red]✗[/] {esc(command['command'])}")
            # Why it failed is in its output; a bare cross sent people to rerun it by hand.
            for line in _tail(command["output"]):
                console.print(f"    {line}", markup=False, style="dim")
        for skipped in view.commands_not_run:
            # Not a tick: a check that did not run proves nothing.
            console.print(f"[yellow]-[/] {esc(skipped)} [yellow](skipped)[/]")
        if view.commands_skipped:
            console.print(f"note: {view.commands_skipped}", style="yellow", markup=False)
        verdict = "[green]valid[/]" if view.ok else "[red]invalid[/]"
        console.print(f"{esc(view.path)}: {verdict} ({esc(view.template)})")
    if not view.ok:
        sys.exit(EXIT_FAILED)


@scaffold.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option("--replace", is_flag=True, help="Replace a registered template of that name.")
def register(path: Path, replace: bool) -> None:
    """Validate the template in DIR (or a template YAML FILE) and add it to the registry."""
    template = _manager().register_template(path, replace=replace)
    console.print(f"registered {template.name} ({template.loaded.root})", markup=False)
