"""What each command imports: `gaia --help` none of its commands, `gaia workflow list`
on a current database no Alembic, API or agent bridge.

Asserted on the modules a real `python -m gaia` process imports (``-X importtime``
lists each), never on how long it took: the figures are in bench/cli.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from gaia.cli import _COMMANDS, _load, cli
from gaia.runtime import Runtime
from gaia.storage.migrate import HEAD_REVISION, current_revision

HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "httpx", "pydantic")


def imported_modules(args: list[str], env: dict[str, str]) -> tuple[set[str], str]:
    """The modules `python -m gaia ARGS` imported, and what it printed."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gaia", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "gaia.cli" in modules  # the listing is there at all
    return modules, done.stdout


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_the_table_holds_each_commands_own_short_help(name: str) -> None:
    """`gaia --help` shows the table's line; it must be what the command itself says."""
    command = _load(name)
    table_help = _COMMANDS[name][1]
    assert command.get_short_help_str(limit=10_000) == table_help
    for limit in (30, 45, 60, 80, 200):
        shown = click.Command(name, help=table_help).get_short_help_str(limit)
        assert shown == command.get_short_help_str(limit)


def test_help_lists_every_command_as_click_would() -> None:
    with click.Context(cli, info_name="gaia", terminal_width=100) as ctx:
        text = cli.get_help(ctx)
    for name in _COMMANDS:
        assert f"  {name} " in text
    assert "Run YAML workflows: DAGs of shell and AI-agent tasks." in text


def test_help_imports_no_command(cli_env: dict[str, str]) -> None:
    modules, out = imported_modules(["--help"], cli_env)
    assert "workflow  Run YAML workflows" in out
    assert not packages(modules) & {*HEAVY, "rich", "yaml", "psutil", "libtmux", "jinja2"}
    commands = {m for m in modules if m.startswith("gaia.cli.")}
    assert commands <= {"gaia.cli.common"}
    assert not {m for m in modules if m.startswith(("gaia.api", "gaia.runtime", "gaia.storage"))}


def test_workflow_list_on_a_current_database_loads_no_sqlalchemy(
    cli_env: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    """The runtime fixture opened the database: it is at head, one query says so, and
    the runs are read with sqlite3."""
    if runtime.db.sqlite_file is None:
        pytest.skip("another database is read through SQLAlchemy")
    definition = tmp_path / "listed.yaml"
    definition.write_text("name: listed-run\ntasks:\n  - {id: a, command: 'true'}\n")
    manager = runtime.workflows
    manager.create(manager.load_file(definition))
    assert current_revision(runtime.db) == HEAD_REVISION
    modules, out = imported_modules(["workflow", "list"], cli_env)
    assert "listed-run" in out and "pending" in out
    found = packages(modules)
    assert not found & {"alembic", "sqlalchemy", "fastapi", "uvicorn", "httpx", "yaml", "jinja2"}
    assert "libtmux" not in found
    assert not {m for m in modules if m.startswith(("gaia.api", "gaia.agents", "gaia.sessions"))}
    assert not {"gaia.cli.progress", "gaia.workflows.loader", "rich.live"} & modules


def test_workflow_list_on_a_new_database_migrates_it(
    cli_env: dict[str, str], gaia_home: Path
) -> None:
    """The first command on a new home does load Alembic, and leaves the schema at head."""
    modules, _ = imported_modules(["workflow", "list"], cli_env)
    assert "alembic" in packages(modules)
    modules, _ = imported_modules(["workflow", "list"], cli_env)
    assert "alembic" not in packages(modules)


@pytest.mark.parametrize("name", ["agent", "service", "session", "daemon"])
def test_commands_that_ask_the_daemon_import_no_engine(name: str, cli_env: dict[str, str]) -> None:
    """`gaia agent tasks` or `gaia service list` is a call to the daemon: importing the
    command imports no engine, database or server code."""
    modules, _ = imported_modules([name, "--help"], cli_env)
    found = packages(modules)
    assert not found & {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "yaml"}
    engines = ("gaia.api", "gaia.agents", "gaia.services", "gaia.workflows", "gaia.runtime")
    assert not {m for m in modules if m.startswith(engines)}
