"""A service that shuts down cleanly on SIGTERM, as redis does, and tells how it went.

    graceful.py RECORD [--shutdown=SECONDS]   serve until SIGTERM, then shut down, in
                                              0.5 s unless told, writing as it goes
    graceful.py RECORD --relay                copy stdin to stdout until EOF (the far
                                              end of a pipe)

Each SIGTERM it receives is appended to RECORD as it arrives, and so is a failed write
to stdout (``broken pipe``): what the supervisor did to it is on disk even after it has
exited. The shutdown takes a while and writes along the way, as a database flushing to
disk would; its last line, ``clean shutdown``, is written just before it exits.
"""

from __future__ import annotations

import os
import signal
import sys
import time

record, relay = sys.argv[1], "--relay" in sys.argv[2:]
shutdown = next((float(a.split("=")[1]) for a in sys.argv[2:] if a.startswith("--shutdown=")), 0.5)
name = "relay" if relay else "server"
stopping = False


def note(line: str) -> None:
    with open(record, "a", encoding="utf-8") as fh:
        fh.write(f"{name}: {line}\n")


def say(line: str) -> None:
    try:
        sys.stdout.write(f"{name}: {line}\n")
        sys.stdout.flush()
    except BrokenPipeError:
        note("broken pipe")
        os._exit(3)


def on_term(signum: int, frame: object) -> None:
    global stopping
    note("SIGTERM")
    stopping = True


signal.signal(signal.SIGTERM, on_term)
say(f"ready, pid {os.getpid()}")
if relay:
    for line in sys.stdin:  # a SIGTERM does not stop the copy: EOF does
        say(f"relayed {line.rstrip()}")
    say("clean shutdown")
    sys.exit(0)
while not stopping:  # (pause() could miss a signal that came just before it)
    time.sleep(0.02)
for step in range(5):
    say(f"saving, step {step}")
    time.sleep(shutdown / 5)
say("clean shutdown")
