"""How a service's process is launched: its argv and its environment.

Shell-form commands (``command: "redis-server --port 7000"``) run with ``exec``.

``/bin/sh -c "redis-server --port 7000"`` leaves a shell between gaia and the program:
the service's pid is the shell's, the shell dies at the first SIGTERM while the program
is still shutting down, and a stop has the two of them to signal. When the command is
one simple command, ``exec`` makes the shell replace itself with the program, as
docker's and systemd's own shell wrappers do: the pid is the program's, it alone gets
the stop signal, and its exit status is the service's.

A compound command (``a && b``, ``a | b``, ``a; b``, ``(a)``, ``cd x && make``, a
keyword such as ``if``, a builtin such as ``cd``) cannot be exec'd and is run as
written; anything this module cannot parse for certain is run as written too.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

from gaia._proc import ProcessError
from gaia.services.spec import ServiceSpec

__all__ = ["SHELL", "exec_form", "launch_argv", "service_env"]

SHELL = "/bin/sh"

# Punctuation tokens that only redirect the simple command's files: exec keeps them.
_REDIRECTIONS = frozenset({"<", ">", ">>", "<>", ">|", ">&", "<&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Words that are not a program exec could run: shell keywords, and builtins that have
# no executable of the same name (or whose point is to change the shell itself).
_NOT_A_PROGRAM = frozenset(
    {
        *("!", "{", "}", "[[", "]]", "(", ")", "case", "coproc", "do", "done", "elif"),
        *("else", "esac", "fi", "for", "function", "if", "in", "select", "then", "time"),
        *("until", "while", ".", ":", "alias", "bg", "break", "builtin", "cd", "command"),
        *("continue", "declare", "eval", "exec", "exit", "export", "fg", "getopts", "hash"),
        *("jobs", "let", "local", "read", "readonly", "return", "set", "shift", "source"),
        *("times", "trap", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait"),
    }
)


def service_env(spec: ServiceSpec) -> dict[str, str]:
    """The daemon's environment, then the env_file's variables, then ``env``; ``PORT``
    is the service's port unless set otherwise. ProcessError if env_file is unreadable."""
    env = dict(os.environ)
    if spec.env_file:
        env.update(_read_env_file(Path(spec.env_file)))
    env.update(spec.env)
    if spec.port is not None:
        env.setdefault("PORT", str(spec.port))
    return env


def launch_argv(command: str, args: Sequence[str]) -> list[str]:
    """The argv a service runs: ``command`` and its ``args``, or, without ``args``, the
    command line run by ``/bin/sh -c`` (with ``exec`` when it is one simple command)."""
    if args:
        return [command, *args]
    return [SHELL, "-c", exec_form(command)]


def exec_form(command: str) -> str:
    """``command`` with ``exec`` before its program when it is one simple command;
    otherwise ``command`` unchanged."""
    if "\n" in command or "\r" in command:
        return command
    stream = io.StringIO(command)
    lexer = shlex.shlex(stream, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    # '#' begins a comment only where a word begins, and not when quoted: a token that
    # begins with one is left to the shell (as is the whole command).
    lexer.commenters = ""
    insert_at: int | None = None
    program: str | None = None
    try:
        while True:
            # Words before the program are assignments ended by a blank (anything else
            # is refused below), so the stream's position is where the next word begins.
            before = stream.tell()
            token = lexer.get_token()
            if token is None or token == lexer.eof:
                break
            if token.startswith("#"):
                return command
            if token and all(char in lexer.punctuation_chars for char in token):
                if token not in _REDIRECTIONS or program is None:
                    # ; & && || | ( ) and the like: a compound command. (A redirection
                    # before the program is valid, but rare: not worth the parsing.)
                    return command
                if lexer.get_token() in (None, lexer.eof):  # its target
                    return command
                continue
            if program is None and not _ASSIGNMENT.match(token):
                program = token
                insert_at = _word_start(command, before)
    except ValueError:  # an unclosed quote: the shell will say so
        return command
    if program is None or insert_at is None or program in _NOT_A_PROGRAM:
        return command
    return f"{command[:insert_at]}exec {command[insert_at:]}"


def _word_start(command: str, position: int) -> int:
    """Where the word read from ``position`` on starts (after the blanks before it)."""
    while position < len(command) and command[position] in " \t":
        position += 1
    return position


def _read_env_file(path: Path) -> dict[str, str]:
    """The file's variables as python-dotenv reads them (quotes, comments, ``export``,
    multi-line values, ``${VAR}`` expansion), so a file works here as it does elsewhere.

    The file is read here rather than by python-dotenv, which takes a missing file for
    an empty one: a mistyped path must be an error.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ProcessError(f"cannot read env_file {path}: {reason}") from exc
    values = dotenv_values(stream=io.StringIO(text), interpolate=True)
    # A bare ``KEY`` line has no value (None): there is nothing to set.
    return {key: value for key, value in values.items() if value is not None}
