"""Containment of child processes in cgroup v2, where the machine lets gaia have one.

A process group and an environment cookie cannot hold a child that double-forks with
``setsid`` and ``env -i``: it leaves the group, drops the cookie, and is reparented away
from the tree. A cgroup holds it regardless, and ``cgroup.kill`` (Linux 5.14) kills
every member at once, as systemd's ``KillMode=control-group`` does.

gaia may create cgroups below its own when it may write there: as root, or in a
delegated systemd user unit (``systemd-run --user --scope gaia serve``). Layout::

    <gaia's own cgroup>/gaia-<pid>-<start>/<one leaf per task attempt or service run>

cgroup v2 lets only leaves hold processes once controllers are enabled below a cgroup
(the "no internal processes" rule); ``gaia-<pid>-<start>`` holds none, so it stays legal
whatever a parent enables. The pid and start time name the gaia process that owns it, so
a later gaia can kill and remove what a crashed one left behind.

Each child moves *itself* into its leaf before the user's command runs (``echo 0 >
cgroup.procs`` in the ``/bin/sh`` that then runs or execs it). Moving it from gaia after
``Popen`` returns would race with a child that forks at once, and a ``preexec_fn`` forces
``fork`` instead of ``vfork`` (20 ms per spawn with a 300 MB heap, against 2.6 ms). The
move waits for an RCU grace period (~0.9 ms), paid in the child, not in gaia's event loop.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import itertools
import logging
import os
import re
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gaia._cgroup import Cgroup
from gaia.errors import GaiaError

__all__ = [
    "MODES",
    "Containment",
    "ContainmentError",
    "ContainmentMode",
    "configure",
    "contained_argv",
    "containment",
    "new_leaf",
    "probe",
]

log = logging.getLogger("gaia")

ContainmentMode = Literal["auto", "cgroup", "process-group"]  # also in gaia.config
MODES: tuple[ContainmentMode, ...] = ("auto", "cgroup", "process-group")
MODE_ENV = "GAIA_CONTAINMENT"
SHELL = "/bin/sh"
_KILL_KERNEL = (5, 14)  # cgroup.kill
_OWNER_NAME = re.compile(r"^gaia-(\d+)-(\d+)$")
_LEAF_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class ContainmentError(GaiaError):
    code = "containment_error"


@dataclass(frozen=True)
class Containment:
    """How this process contains its children: in cgroup ``root``, or by process group."""

    kind: Literal["cgroup", "process-group"]
    reason: str  # where the cgroups are, or why there are none
    root: Path | None = None  # gaia-<pid>-<start>, parent of every leaf
    mode: ContainmentMode = "auto"

    def describe(self) -> str:
        if self.kind == "cgroup":
            return self.reason
        return f"process group + sweep ({self.reason})"


# -- detection ----------------------------------------------------------------------

_lock = threading.Lock()
_mode: ContainmentMode | None = None  # None: GAIA_CONTAINMENT, else auto
_current: Containment | None = None
_leaf_numbers = itertools.count(1)


def configure(mode: ContainmentMode) -> None:
    """Choose the containment of this process's children (settings ``containment``)."""
    global _mode, _current
    with _lock:
        if mode != _mode:
            _mode, _current = mode, None


def _wanted_mode() -> ContainmentMode:
    if _mode is not None:
        return _mode
    value = os.environ.get(MODE_ENV, "auto")
    return next((mode for mode in MODES if mode == value), "auto")


def containment() -> Containment:
    """This process's containment, detected once (creating its cgroup root)."""
    global _current
    with _lock:
        if _current is None:
            _current = probe(_wanted_mode())
            if _current.root is not None:
                atexit.register(_remove_empty, _current.root)
        return _current


def probe(mode: ContainmentMode) -> Containment:
    """Find out whether children can be contained in cgroup v2, and why not if not."""
    if mode == "process-group":
        return Containment("process-group", "turned off by containment = process-group", None, mode)
    found = _own_cgroup()
    if isinstance(found, str):
        return Containment("process-group", found, None, mode)
    own = found
    kernel = _kernel_version()
    if kernel < _KILL_KERNEL:
        release = os.uname().release
        return Containment("process-group", f"kernel {release} has no cgroup.kill", None, mode)
    if not (os.access(own, os.W_OK) and os.access(own / "cgroup.procs", os.W_OK)):
        why = (
            f"cgroup {own} is not writable by this user (not delegated; run gaia as root "
            "or in a delegated systemd user unit: systemd-run --user --scope gaia serve)"
        )
        return Containment("process-group", why, None, mode)
    root = own / _owner_name(os.getpid())
    try:
        root.mkdir(exist_ok=True)
    except OSError as exc:
        return Containment("process-group", f"cannot create {root}: {exc.strerror}", None, mode)
    if not (root / "cgroup.kill").exists():
        with contextlib.suppress(OSError):
            root.rmdir()
        return Containment("process-group", f"{root} has no cgroup.kill", None, mode)
    return Containment("cgroup", f"cgroup v2 below {own}", root, mode)


def _own_cgroup() -> Path | str:
    """The directory of this process's cgroup v2, or why there is none."""
    if sys.platform != "linux":
        return f"cgroups are Linux-only (this is {sys.platform})"
    mount: tuple[str, str] | None = None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as lines:
            for line in lines:
                before, _, after = line.partition(" - ")
                if after.split(" ", 1)[0] == "cgroup2":
                    fields = before.split()
                    mount = (_unescape(fields[3]), _unescape(fields[4]))
                    break
        membership = Path("/proc/self/cgroup").read_text(encoding="utf-8")
    except OSError as exc:
        return f"cannot read /proc: {exc.strerror}"
    if mount is None:
        return "no cgroup v2 file system is mounted"
    path = next((line[3:] for line in membership.splitlines() if line.startswith("0::")), None)
    if path is None:
        return "this process is in no cgroup v2 hierarchy (cgroup v1 only)"
    mount_root, mount_point = mount
    if mount_root != "/":
        if path != mount_root and not path.startswith(mount_root.rstrip("/") + "/"):
            return f"this process's cgroup {path} is outside the cgroup2 mount ({mount_root})"
        path = path[len(mount_root.rstrip("/")) :]
    return Path(mount_point) / path.lstrip("/")


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _kernel_version() -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/pid/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


def _owner_name(pid: int) -> str:
    return f"gaia-{pid}-{_start_ticks(pid) or 0}"


# -- leaves -------------------------------------------------------------------------


def new_leaf(name: str) -> Cgroup | None:
    """A new empty leaf for one child, or None when children are not contained.

    The first call also removes what crashed gaia processes left beside our root.
    """
    current = containment()
    if current.root is None:
        if current.mode == "cgroup":
            raise ContainmentError(f"containment = cgroup, but {current.reason}")
        return None
    number = next(_leaf_numbers)
    if number == 1:
        _remove_stale(current.root.parent)
    leaf = current.root / f"{_LEAF_NAME.sub('_', name)[:80]}.{number}"
    try:
        leaf.mkdir()
    except OSError as exc:
        if current.mode == "cgroup":
            raise ContainmentError(f"cannot create cgroup {leaf}: {exc.strerror}") from exc
        log.warning("cannot create cgroup %s (%s): process group only", leaf, exc.strerror)
        return None
    return Cgroup(leaf)


def contained_argv(
    argv: Sequence[str], leaf: Cgroup, env: Mapping[str, str], cwd: Path | None
) -> list[str]:
    """``argv`` made to enter ``leaf`` before it runs.

    A ``/bin/sh -c SCRIPT`` gets the move as a prefix of its own script (no second
    shell: tasks and probes are run this way). Anything else runs behind a ``/bin/sh``
    that moves itself and execs it; a missing or non-executable program is reported
    here, as ``Popen`` would, rather than as that shell's exit status 127.
    """
    move = f"{{ echo 0 >{shlex.quote(str(leaf.procs_file))}; }} 2>/dev/null || :; "
    if len(argv) == 3 and argv[0] == SHELL and argv[1] == "-c":
        return [SHELL, "-c", move + argv[2]]
    _check_executable(argv[0], env, cwd)
    return [SHELL, "-c", move + 'exec "$@"', SHELL, *argv]


def _check_executable(program: str, env: Mapping[str, str], cwd: Path | None) -> None:
    if cwd is not None and not cwd.is_dir():
        return  # Popen reports the missing directory
    if "/" in program:
        path = Path(program) if cwd is None else cwd / program
        found = path.is_file() and os.access(path, os.X_OK)
        if not found:
            code = errno.EACCES if path.exists() else errno.ENOENT
            raise OSError(code, os.strerror(code), program)
        return
    if shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


def _remove_stale(parent: Path) -> None:
    """Kill and remove the cgroups of gaia processes that are gone (crashed, killed).

    Their children are orphans nobody else would stop; the services and workflow
    recovery kill what they find of them too, but cannot find an ``env -i`` escapee.
    """
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        match = _OWNER_NAME.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        pid, ticks = int(match.group(1)), int(match.group(2))
        if _start_ticks(pid) == ticks:
            continue  # its gaia still runs
        stale = Cgroup(Path(entry.path))
        if stale.populated():
            log.warning("killing processes left in %s by a gaia that is gone", stale.path)
            stale.kill()
            deadline = time.monotonic() + 1.0
            while stale.populated() and time.monotonic() < deadline:
                time.sleep(0.01)
        stale.remove()


def _remove_empty(root: Path) -> None:
    """At exit: remove our empty leaves, and our root once nothing is left in it."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if entry.is_dir():
                Cgroup(Path(entry.path)).release_if_empty()
    with contextlib.suppress(OSError):
        root.rmdir()
