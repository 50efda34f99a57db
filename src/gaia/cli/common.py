"""What every command shares: settings and runtime, errors turned into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import click

from gaia.errors import (
    AgentRejectedError,
    BadRequestError,
    ConfigError,
    GaiaError,
    ValidationError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from gaia.config import Settings
    from gaia.runtime import Runtime

__all__ = [
    "EXIT_FAILED",
    "EXIT_INVALID",
    "GaiaGroup",
    "console",
    "err_console",
    "esc",
    "open_runtime",
]

EXIT_FAILED = 1
EXIT_INVALID = 2


class _LazyConsole:
    """A rich Console made on first use. Importing rich costs ~20 ms, and a command that
    the daemon answers (gaia.cli.remote) prints a line at most, or nothing.

    It stands in for a Console wherever one is expected (rich's Live keeps it and does
    ``with console:``), and Python looks special methods up on the type, past
    ``__getattr__``: so each dunder a Console defines is forwarded here explicitly.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __enter__(self) -> Console:
        return self._get().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._get().__exit__(*exc)

    def __repr__(self) -> str:
        return repr(self._get())


console = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))
err_console = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))


def esc(value: object) -> str:
    """``value`` made safe to print through rich with markup on: a name, path, command or
    message holding ``[s]`` or ``[bold]`` is user text, not styling, and a stray ``[/]``
    would otherwise raise a MarkupError. Imports rich late, like the consoles above."""
    from rich.markup import escape

    return escape(str(value))


def open_settings(**overrides: Any) -> Settings:
    from gaia.config import load_settings  # pydantic: ~60 ms that remote commands skip

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def open_runtime(**overrides: Any) -> Runtime:
    from gaia.runtime import Runtime, settle_heap  # late: `gaia session ...` never needs it

    runtime = Runtime(open_settings(**overrides)).open()
    settle_heap()
    return runtime


# A file can hold thousands of problems (10,000 undefined variables: 2.4 s of printing);
# past the first hundred, more lines help nobody.
MAX_PROBLEMS_SHOWN = 100


def print_problems(error: ValidationError) -> None:
    err_console.print(f"[bold red]error:[/] {esc(error.message)}", markup=True)
    hidden = len(error.problems) - MAX_PROBLEMS_SHOWN
    for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
        line = f"  {problem.location()}: {problem.message}"
        err_console.print(line, markup=False)
        if problem.hint:
            err_console.print(f"      hint: {problem.hint}", markup=False, style="dim")
    if hidden > 0:
        err_console.print(f"  ... and {hidden} more problems", markup=False)


class GaiaGroup(click.Group):
    """A group whose commands report gaia errors as one clear line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            print_problems(exc)
            ctx.exit(EXIT_INVALID)
        except ConfigError as exc:
            err_console.print(f"error: {exc}", markup=False)
            ctx.exit(EXIT_INVALID)
        except GaiaError as exc:
            err_console.print(f"error: {exc}", markup=False)
            # Bad input exits 2 whether the daemon or this process found it.
            bad_input = isinstance(exc, BadRequestError | AgentRejectedError)
            ctx.exit(EXIT_INVALID if bad_input else EXIT_FAILED)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            ctx.exit(130)


def key_value_pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    """``("a=1", "b=x=y")`` from a repeated ``--option KEY=VALUE`` -> ``{"a": "1", ...}``."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        values[key] = value
    return values


def short_id(run_id: str) -> str:
    return run_id[:8]


def run_cli(command: click.Command, args: Sequence[str] | None = None, prog: str = "gaia") -> None:
    try:
        command.main(args=args, prog_name=prog, standalone_mode=True)
    except BrokenPipeError:  # `gaia workflow list | head`
        sys.stderr.close()
        sys.exit(EXIT_FAILED)
