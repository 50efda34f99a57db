"""Which shell-form commands run with ``exec`` (gaia.services.launch), and that the
exec'd form runs as the command did, with /bin/sh itself."""

from __future__ import annotations

import subprocess

import pytest

from gaia.services.launch import exec_form, launch_argv


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("redis-server --port 7000", "exec redis-server --port 7000"),
        ("  redis-server", "  exec redis-server"),
        ('PORT=7000 NAME="a b"  server', 'PORT=7000 NAME="a b"  exec server'),
        ("server >>out.log 2>&1", "exec server >>out.log 2>&1"),
        ('python -c "import x; y()"', 'exec python -c "import x; y()"'),
        ("echo 'a|b' x#y", "exec echo 'a|b' x#y"),
    ],
)
def test_one_simple_command_is_execd(command: str, expected: str) -> None:
    assert exec_form(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "cd /srv && server",
        "server | tee log",
        "a; b",
        "a || b",
        "server &",
        "server &>log",  # dash reads `server &` then `>log`
        "(server)",
        "{ server; }",
        "if true; then server; fi",
        "echo $(date)",
        "echo `date; ls`",
        "cd /tmp",
        "exec server",
        "FOO=1",
        ">log server",
        "echo '#'; rm x",
        "server # comment",
        "a\nb",
        'server "unclosed',
        "",
    ],
)
def test_anything_else_runs_as_written(command: str) -> None:
    assert exec_form(command) == command


def test_argv_form_is_left_alone() -> None:
    assert launch_argv("server", ["--port", "1"]) == ["server", "--port", "1"]
    assert launch_argv("server --port 1", []) == ["/bin/sh", "-c", "exec server --port 1"]


@pytest.mark.parametrize(
    "command",
    [
        "printf '%s|%s\\n' \"$A\" b",
        'A="x y" printf "%s\\n" "$A"',
        "A=2 sh -c 'echo $A; exit 3'",
        "echo one >&2",
    ],
)
def test_the_execd_form_does_what_the_command_does(command: str) -> None:
    def run(script: str) -> tuple[int, str, str]:
        done = subprocess.run(
            ["/bin/sh", "-c", script],
            env={"A": "from-env", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    assert exec_form(command) != command
    assert run(exec_form(command)) == run(command)
