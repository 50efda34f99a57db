"""A scriptable stand-in for an agent CLI, run by the bridge's tests as a command agent.

Usage: ``python fake_agent.py [--journal PATH] [--agent NAME] [--task-id ID] PROMPT``.
The prompt (the last argument) scripts it: every line of the form ``@verb args`` is one
step, run in order; other lines (a context preamble, say) are ignored.

    @name LABEL          the task's label in the journal (default: --task-id)
    @sleep SECONDS       sleep
    @wait PATH [SECONDS] wait until PATH exists (at most SECONDS, default 30)
    @write NAME TEXT     write TEXT (and a newline) to NAME, relative to the cwd
    @print TEXT          print TEXT on stdout
    @stderr TEXT         print TEXT on stderr
    @env NAME            print NAME=<its value in the environment> on stdout
    @grandchild [setsid] start a grandchild that ignores SIGTERM and sleeps 60 s
                         (with ``setsid`` in its own session, out of our process group)
    @ignore-term         ignore SIGTERM from here on
    @exit CODE           exit with CODE now

The journal (``--journal`` or ``$FAKE_AGENT_JOURNAL``) receives one JSON line per event:
``start`` (with the prompt, argv and cwd), ``grandchild`` (its pid) and ``end``, each with
``task``, ``agent``, ``pid`` and ``t`` (time.time()), so a test can check start order and
concurrency from the outside.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GRANDCHILD = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


class Journal:
    def __init__(self, path: str | None, task: str, agent: str) -> None:
        self.path = path
        self.task = task
        self.agent = agent

    def write(self, event: str, **fields: Any) -> None:
        if not self.path:
            return
        record = {"event": event, "task": self.task, "agent": self.agent, "t": time.time()}
        record.setdefault("pid", os.getpid())
        record.update(fields)
        line = (json.dumps(record) + "\n").encode()
        # One write on an O_APPEND descriptor: concurrent agents never interleave lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def parse_args(argv: list[str]) -> tuple[dict[str, str], str]:
    if not argv:
        return {}, ""
    prompt = argv[-1]
    options: dict[str, str] = {}
    rest = argv[:-1]
    for index in range(0, len(rest) - 1, 2):
        options[rest[index].lstrip("-")] = rest[index + 1]
    return options, prompt


def steps(prompt: str) -> list[tuple[str, str]]:
    found = []
    for line in prompt.splitlines():
        line = line.strip()
        if line.startswith("@"):
            verb, _, args = line[1:].partition(" ")
            found.append((verb, args.strip()))
    return found


def start_grandchild(setsid: bool) -> int:
    child = subprocess.Popen(
        [sys.executable, "-c", GRANDCHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=setsid,
    )
    assert child.stdout is not None
    child.stdout.readline()  # it ignores SIGTERM once it says so
    return child.pid


def main() -> int:
    options, prompt = parse_args(sys.argv[1:])
    script = steps(prompt)
    label = next((args for verb, args in script if verb == "name"), options.get("task-id", "?"))
    journal = Journal(
        options.get("journal") or os.environ.get("FAKE_AGENT_JOURNAL"),
        label,
        options.get("agent", "?"),
    )
    journal.write("start", prompt=prompt, argv=sys.argv[1:], cwd=os.getcwd())
    code = 0
    for verb, args in script:
        if verb == "sleep":
            time.sleep(float(args))
        elif verb == "wait":
            path, _, limit = args.partition(" ")
            deadline = time.monotonic() + float(limit or 30)
            while not Path(path).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        elif verb == "write":
            name, _, text = args.partition(" ")
            target = Path(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n")
        elif verb == "print":
            print(args, flush=True)
        elif verb == "stderr":
            print(args, file=sys.stderr, flush=True)
        elif verb == "env":
            print(f"{args}={os.environ.get(args, '')}", flush=True)
        elif verb == "grandchild":
            journal.write("grandchild", child=start_grandchild(args == "setsid"))
        elif verb == "ignore-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif verb == "exit":
            code = int(args)
            break
    journal.write("end", code=code)
    return code


if __name__ == "__main__":
    sys.exit(main())
