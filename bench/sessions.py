"""Session benchmark: gaia against raw libtmux and tmuxp, side by side in one run.

(a) lifecycle: N sessions, each with 3 windows; a command is sent to a pane and its
    output waited for, the pane captured, the session destroyed — by gaia's
    SessionManager (which also records everything in SQLite) and by the same steps
    written directly against libtmux (the same tmux wait-for channel signals the end of
    the command, so both wait the same way);
(b) layout loading: the same 3-window, 4-pane layout file with a command per pane loaded
    N times as a detached session, in-process: gaia's SessionManager against tmuxp's
    WorkspaceBuilder (what `tmuxp load -d` runs);
(c) the same as commands, `gaia session up` against `tmuxp load -d`, each a fresh Python
    process as a user runs them (so module import time is included);
(d) tmuxp's 44 documented examples and 35 people's tmuxp files, all loaded at once by each
    (bench/tmuxp_files.py, which also prints how many of them each builds).

Panes run /bin/sh (set as tmux's default-command for the benchmark's own tmux server)
so that what is measured is orchestration, not the start-up of a login shell.

    python bench/sessions.py [--sessions 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import libtmux
import yaml

from gaia.config import load_settings
from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade

BIN = Path(sys.executable).parent
LAYOUT = """\
session_name: {name}
start_directory: {directory}
windows:
  - window_name: editor
    panes:
      - echo editor-ready
  - window_name: server
    layout: even-horizontal
    panes:
      - echo server-ready
      - echo watcher-ready
  - window_name: shell
    panes:
      - echo shell-ready
"""


def start_tmux(socket: str, config: Path) -> None:
    """A tmux server whose panes run /bin/sh, kept alive by a keeper session."""
    config.write_text('set -g default-command "/bin/sh"\nset -g exit-empty off\n')
    subprocess.run(
        ["tmux", "-L", socket, "-f", str(config), "new-session", "-d", "-s", "keeper"],
        check=True,
    )


def bench_gaia(manager: SessionManager, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        name = f"gaia-{i}"
        spec = SessionSpec.model_validate(
            {"name": name, "windows": [{"window_name": w} for w in ("a", "b", "c")]}
        )
        manager.create(spec)
        result = manager.run(name, f"echo done-{i}", timeout=30)
        assert result.output == f"done-{i}", result
        text = manager.capture(name).content
        assert f"done-{i}" in text
        manager.destroy(name)
    return time.perf_counter() - started


def bench_libtmux(server: libtmux.Server, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        session = server.new_session(session_name=f"raw-{i}", attach=False)
        session.new_window(window_name="b", attach=False)
        session.new_window(window_name="c", attach=False)
        pane = session.windows[0].panes[0]
        channel = f"raw-{uuid.uuid4().hex}"
        pane.send_keys(f"echo done-{i}; tmux wait-for -S {channel}", enter=True)
        server.cmd("wait-for", channel)
        text = "\n".join(pane.capture_pane())
        assert f"done-{i}" in text
        session.kill()
    return time.perf_counter() - started


def bench_layouts(
    command: list[str], workdir: Path, count: int, prefix: str, env: dict[str, str]
) -> float:
    files = []
    for i in range(count):
        path = workdir / f"{prefix}-{i}.yaml"
        path.write_text(LAYOUT.format(name=f"{prefix}-{i}", directory=workdir))
        files.append(path)
    started = time.perf_counter()
    for path in files:
        subprocess.run(
            [*command, str(path)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


def bench_layouts_in_process(
    manager: SessionManager, workdir: Path, count: int
) -> tuple[float, float]:
    """The same layouts built in-process: gaia's builder and tmuxp's WorkspaceBuilder."""
    from tmuxp.workspace.builder import WorkspaceBuilder
    from tmuxp.workspace.loader import expand, trickle

    from gaia.sessions.loader import load_layout_file

    gaia_files, tmuxp_configs = [], []
    for i in range(count):
        for prefix in ("inproc-gaia", "inproc-tmuxp"):
            path = workdir / f"{prefix}-{i}.yaml"
            path.write_text(LAYOUT.format(name=f"{prefix}-{i}", directory=workdir))
            if prefix == "inproc-gaia":
                gaia_files.append(path)
            else:
                data = yaml.safe_load(path.read_text())
                tmuxp_configs.append(trickle(expand(data, cwd=workdir)))
    started = time.perf_counter()
    for path in gaia_files:
        manager.create(load_layout_file(path), origin="layout")
    gaia_s = time.perf_counter() - started
    server = libtmux.Server(socket_name=manager.socket)
    started = time.perf_counter()
    for config in tmuxp_configs:
        WorkspaceBuilder(session_config=config, server=server).build()
    return gaia_s, time.perf_counter() - started


def pane_texts(socket: str, prefix: str) -> list[str]:
    out = subprocess.run(
        ["tmux", "-L", socket, "list-panes", "-a", "-F", "#{session_name} #{pane_id}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    texts = []
    for line in filter(None, out):
        session, pane = line.split()
        if session.startswith(f"{prefix}-"):
            texts.append(
                subprocess.run(
                    ["tmux", "-L", socket, "capture-pane", "-p", "-t", pane],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
    return texts


def report_and_clear(socket: str, prefix: str) -> None:
    """Check every pane of the ``prefix`` sessions got its command typed; kill them."""
    texts = pane_texts(socket, prefix)
    typed = sum("-ready" in t for t in texts)
    print(f"{prefix}: {typed}/{len(texts)} panes show their command's output")
    names = subprocess.run(
        ["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        if name.startswith(f"{prefix}-"):
            subprocess.run(["tmux", "-L", socket, "kill-session", "-t", f"={name}"], check=True)


def start_daemon(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`gaia serve` on a free port for this GAIA_HOME; returns once it has said where."""
    daemon_file = Path(env["GAIA_HOME"]) / "daemon.json"
    daemon_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [str(BIN / "gaia"), "serve", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not daemon_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("gaia serve did not start")
        time.sleep(0.05)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("tmuxp", path=str(BIN)) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tmuxp"], check=True)
    count = args.sessions
    socket = f"gaia-bench-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="gaia-bench-sessions-"))
    start_tmux(socket, workdir / "tmux.conf")
    try:
        settings = load_settings(home=workdir / "home", environ={}, tmux_socket=socket)
        settings.gaia_home.ensure()
        db = Database(settings.resolved_database_url)
        upgrade(db)
        manager = SessionManager(db, settings)
        server = libtmux.Server(socket_name=socket)
        bench_gaia(manager, 3)  # warm up both (imports, tmux server caches)
        bench_libtmux(server, 3)
        print(f"(a) {count} sessions x 3 windows: create, run a command and wait, capture, kill")
        gaia_times, raw_times = [], []
        for _ in range(3):  # interleaved rounds, so drift hits both alike
            gaia_times.append(bench_gaia(manager, count))
            raw_times.append(bench_libtmux(server, count))
        gaia_s, raw_s = statistics.median(gaia_times), statistics.median(raw_times)
        print(f"{'':24}{'total':>10}{'per session':>14}")
        print(f"{'gaia':24}{gaia_s:>9.3f}s{gaia_s / count * 1000:>12.1f}ms")
        print(f"{'raw libtmux':24}{raw_s:>9.3f}s{raw_s / count * 1000:>12.1f}ms")
        print(f"gaia / libtmux = {gaia_s / raw_s:.2f}x (target: within 1.2x); median of 3")
        print()
        print(f"(b) the same 3-window, 4-pane layout loaded {count} times, detached, in-process")
        gaia_build, tmuxp_build = bench_layouts_in_process(manager, workdir, count)
        print(f"{'':24}{'total':>10}{'per layout':>14}")
        print(
            f"{'gaia (SessionManager)':24}{gaia_build:>9.3f}s{gaia_build / count * 1000:>12.1f}ms"
        )
        print(
            f"{'tmuxp (WorkspaceBuilder)':24}{tmuxp_build:>9.3f}s"
            f"{tmuxp_build / count * 1000:>12.1f}ms"
        )
        print(f"gaia / tmuxp = {gaia_build / tmuxp_build:.2f}x (target: below 1.0x)\n")
        db.dispose()

        for prefix in ("inproc-gaia", "inproc-tmuxp"):
            report_and_clear(socket, prefix)

        env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
        env.update(GAIA_HOME=str(workdir / "home"), GAIA_TMUX_SOCKET=socket)
        gaia_up = [str(BIN / "gaia"), "session", "up"]
        tmuxp = [str(BIN / "tmuxp"), "load", "-d", "-y", "-L", socket, "--no-progress"]
        print("\n(c) the same, as commands: each a fresh Python process (import time included)")
        results = []
        for label, prefix, command, extra in (
            ("gaia session up", "up-local", gaia_up, {"GAIA_NO_DAEMON": "1"}),
            ("  (daemon running)", "up-daemon", gaia_up, {}),
            ("tmuxp load -d", "tmuxp", tmuxp, {}),
        ):
            daemon = start_daemon(env) if prefix == "up-daemon" else None
            try:
                elapsed = bench_layouts(command, workdir, count, prefix, {**env, **extra})
            finally:
                if daemon is not None:
                    daemon.terminate()
                    daemon.wait(timeout=30)
            results.append((label, prefix, elapsed))
            time.sleep(0.5)  # the last panes' commands are typed once their shells are up
            report_and_clear(socket, prefix)  # every contender starts from the same server
        print(f"{'':24}{'total':>10}{'per layout':>14}")
        for label, _prefix, elapsed in results:
            print(f"{label:24}{elapsed:>9.3f}s{elapsed / count * 1000:>12.1f}ms")
        tmuxp_load = results[-1][2]
        for label, _prefix, elapsed in results[:-1]:
            print(f"{label.strip('( )')}: gaia / tmuxp = {elapsed / tmuxp_load:.2f}x")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n(d) tmuxp's examples and people's tmuxp files, all at once, each on its own server")
    subprocess.run([sys.executable, str(Path(__file__).with_name("tmuxp_files.py"))], check=True)


if __name__ == "__main__":
    main()
