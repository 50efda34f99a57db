"""Scaffold benchmark: gaia against copier and cookiecutter, side by side in one run.

One project's content is written in each tool's own template format: 1,000 small files
(about 10 lines each) in 100 directories, with 3 variables (project_name, author,
version). Every file's content uses all three; half the directories and one file in
ten have the project name in their path. Each tool generates the project into a fresh,
absent output directory, non-interactively, and the wall time of that is measured:

- gaia, in process: ``ScaffoldManager.generate`` on the template directory given by
  path, hooks off (the template has none);
- copier, in process: ``copier.run_copy(..., defaults=True, unsafe=True, quiet=True)``
  on a template with ``copier.yml`` (the 3 questions, ``_subdirectory: template``) and
  ``.jinja`` files;
- cookiecutter, in process: ``cookiecutter(..., no_input=True, extra_context=...)`` on
  ``cookiecutter.json`` and a ``{{cookiecutter.project_name}}/`` directory (its user
  config and replay files are kept in the bench's temp dir);
- floor: no template, the expected files written by plain Python (what any tool pays);
- each tool's command line end to end (``gaia scaffold new``, ``copier copy``,
  ``cookiecutter``), interpreter start-up and imports included.

Fairness: gaia's ``template.yaml`` has one ``files`` entry per file with ``source:``
naming a file beside it, not inline ``template:`` text, so all three tools read the same
1,000 source files from disk and render them with Jinja2; gaia also parses a 1,000-entry
YAML (with positions, for file:line errors) that the others do not have, and it writes
its answers file (``.gaia-answers.yml``) where copier (no answers-file template here)
and cookiecutter write none. Every tool is run once untimed first (imports, caches), and
the runs are interleaved so that drift on the machine hits all of them alike; the file
system is synced (untimed) before each timed run. Every output is checked, untimed, to
hold exactly the 1,000 expected files, each with exactly the expected bytes (computed by
the bench, not by any tool).

    python bench/scaffold.py [--repeat 5] [--dir /dev/shm]

The figures depend on how fast the file system creates files (the floor row shows it):
``--dir`` on a tmpfs leaves mostly the tools' own work.

copier and cookiecutter are installed from PyPI into the running environment if missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from gaia.config import load_settings
from gaia.scaffold.generate import ANSWERS_FILE, GenerateOptions
from gaia.scaffold.manager import ScaffoldManager

DIRECTORIES = 100
FILES_PER_DIRECTORY = 10
VALUES = {"project_name": "acme", "author": "Ada Lovelace", "version": "1.2.3"}
DEFAULTS = {"project_name": "demo", "author": "nobody", "version": "0.1.0"}
BIN = Path(sys.executable).parent

# One file's content, with {var} standing for a variable; rendered per tool below.
BODY = '''\
"""{project_name}: module {index} of {total}."""

__author__ = "{author}"
__version__ = "{version}"

NAME = "{project_name}"
INDEX = {index}


def describe() -> str:
    return NAME + " " + __version__ + " part " + str(INDEX) + " by " + __author__
'''


def layout() -> list[tuple[str, str, int]]:
    """(directory, file name, index) of every file, with ``{project_name}`` in some paths."""
    entries = []
    for d in range(DIRECTORIES):
        directory = f"src/{{project_name}}/m{d:02d}" if d % 2 == 0 else f"tests/t{d:02d}"
        for f in range(FILES_PER_DIRECTORY):
            name = f"{{project_name}}_{f}.py" if f == 0 else f"f{f}.py"
            entries.append((directory, name, d * FILES_PER_DIRECTORY + f))
    return entries


def body(index: int, ref: Callable[[str], str]) -> str:
    refs = {k: ref(k) for k in VALUES}
    return BODY.format(index=index, total=DIRECTORIES * FILES_PER_DIRECTORY, **refs)


def expected() -> dict[str, str]:
    """What every tool must produce, relative to the project root."""
    out = {}
    for directory, name, index in layout():
        path = f"{directory}/{name}".format(project_name=VALUES["project_name"])
        out[path] = body(index, lambda k: VALUES[k])
    return out


def jinja(name: str) -> str:
    return "{{ " + name + " }}"


def cookie(name: str) -> str:
    return "{{ cookiecutter." + name + " }}"


def build_gaia(root: Path) -> Path:
    root.mkdir(parents=True)
    files = []
    for directory, name, index in layout():
        source = f"files/{index:04d}.py"
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        (root / source).write_text(body(index, jinja))
        path = f"{directory}/{name}".replace("{project_name}", jinja("project_name"))
        files.append({"path": path, "source": source})
    spec = {
        "name": "bench",
        "description": "1,000 files in 100 directories",
        "version": "1.0",
        "variables": [{"name": k, "default": v} for k, v in DEFAULTS.items()],
        "files": files,
    }
    # Block style, as a person writes it (PyYAML quotes the "{{ }}" paths as needed).
    (root / "template.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


def build_copier(root: Path) -> Path:
    root.mkdir(parents=True)
    lines = ["_subdirectory: template", "_templates_suffix: .jinja"]
    lines += [f"{k}:\n  type: str\n  default: {v!r}" for k, v in DEFAULTS.items()]
    (root / "copier.yml").write_text("\n".join(lines) + "\n")
    for directory, name, index in layout():
        path = (
            root
            / "template"
            / f"{directory}/{name}.jinja".replace("{project_name}", jinja("project_name"))
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body(index, jinja))
    return root


def build_cookiecutter(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "cookiecutter.json").write_text(json.dumps(DEFAULTS, indent=2) + "\n")
    top = root / cookie("project_name").replace(" ", "")
    for directory, name, index in layout():
        path = top / f"{directory}/{name}".replace("{project_name}", cookie("project_name"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body(index, cookie))
    return root


def check(project: Path, want: dict[str, str], tool: str) -> None:
    """Exactly the expected files with exactly the expected content, or exit."""
    got = {
        p.relative_to(project).as_posix(): p
        for p in project.rglob("*")
        if p.is_file() and p.name != ANSWERS_FILE
    }
    if set(got) != set(want):
        extra, missing = sorted(set(got) - set(want)), sorted(set(want) - set(got))
        raise SystemExit(f"{tool}: {len(got)} files; extra {extra[:3]}, missing {missing[:3]}")
    wrong = [rel for rel, path in got.items() if path.read_text() != want[rel]]
    if wrong:
        raise SystemExit(f"{tool}: {len(wrong)} files with wrong content, e.g. {wrong[0]}")


def ensure_tools() -> None:
    try:
        import cookiecutter.main  # noqa: F401
        import copier  # noqa: F401
    except ImportError:
        print("installing copier and cookiecutter from PyPI into this environment…", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "copier", "cookiecutter"], check=True
        )


class Bench:
    """The three templates, built once, and one runner per measured figure."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.gaia_template = build_gaia(work / "t-gaia")
        self.copier_template = build_copier(work / "t-copier")
        self.cc_template = build_cookiecutter(work / "t-cookiecutter")
        self.manager = ScaffoldManager(load_settings(home=work / "gaia-home", environ={}))
        self.cc_config = work / "cookiecutter.yaml"
        self.cc_config.write_text(
            f"cookiecutters_dir: {work / 'cc-cache'}\nreplay_dir: {work / 'cc-replay'}\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
        self.env["GAIA_HOME"] = str(work / "gaia-home")
        self.counter = 0
        self.want = expected()

    def fresh(self) -> Path:
        self.counter += 1
        return self.work / f"out-{self.counter}"

    def cli(self, argv: list[str]) -> None:
        done = subprocess.run(
            argv, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{argv[0]} exited {done.returncode}:\n{done.stderr[-2000:]}")

    # Each runner generates into ``out`` (absent) and returns the project root.

    def floor(self, out: Path) -> Path:
        """No template at all: the 1,000 expected files written with plain Python."""
        for relative, text in self.want.items():
            path = out / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return out

    def gaia(self, out: Path) -> Path:
        options = GenerateOptions(run_hooks=False)
        self.manager.generate(str(self.gaia_template), out, VALUES, options=options)
        return out

    def gaia_cli(self, out: Path) -> Path:
        variables = [f"--var={k}={v}" for k, v in VALUES.items()]
        argv = [str(BIN / "gaia"), "scaffold", "new", str(self.gaia_template), str(out)]
        self.cli([*argv, *variables, "--no-hooks"])
        return out

    def copier(self, out: Path) -> Path:
        from copier import run_copy

        run_copy(
            str(self.copier_template), out, data=VALUES, defaults=True, unsafe=True, quiet=True
        )
        return out

    def copier_cli(self, out: Path) -> Path:
        data = [f"--data={k}={v}" for k, v in VALUES.items()]
        argv = [str(BIN / "copier"), "copy", "--defaults", "--trust", "--quiet", *data]
        self.cli([*argv, str(self.copier_template), str(out)])
        return out

    def cookiecutter(self, out: Path) -> Path:
        from cookiecutter.main import cookiecutter

        cookiecutter(
            str(self.cc_template),
            no_input=True,
            extra_context=VALUES,
            output_dir=str(out),
            config_file=str(self.cc_config),
        )
        return out / VALUES["project_name"]

    def cookiecutter_cli(self, out: Path) -> Path:
        argv = [str(BIN / "cookiecutter"), "--no-input", "--config-file", str(self.cc_config)]
        argv += ["--output-dir", str(out), str(self.cc_template)]
        self.cli(argv + [f"{k}={v}" for k, v in VALUES.items()])
        return out / VALUES["project_name"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument(
        "--dir", type=Path, help="where templates and outputs go (default: the temp dir)"
    )
    args = parser.parse_args()
    ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="gaia-bench-scaffold-", dir=args.dir))
    times: dict[str, list[float]] = {}
    try:
        bench = Bench(work)
        runners: dict[str, Callable[[Path], Path]] = {
            "floor": bench.floor,
            "gaia": bench.gaia,
            "copier": bench.copier,
            "cookiecutter": bench.cookiecutter,
            "gaia CLI": bench.gaia_cli,
            "copier CLI": bench.copier_cli,
            "cookiecutter CLI": bench.cookiecutter_cli,
        }
        times = {name: [] for name in runners}
        for round_ in range(args.repeat + 1):  # round 0 is the untimed warm-up
            for name, run in runners.items():
                out = bench.fresh()
                os.sync()  # the last run's writes and deletions flushed: none slows this one
                started = time.perf_counter()
                project = run(out)
                elapsed = time.perf_counter() - started
                check(project, bench.want, name)
                shutil.rmtree(out)
                if round_:
                    times[name].append(elapsed)
            if round_:
                line = ", ".join(f"{n} {t[-1] * 1000:.0f} ms" for n, t in times.items())
                print(f"round {round_}: {line}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med: dict[str, float] = {name: statistics.median(t) for name, t in times.items()}
    files = DIRECTORIES * FILES_PER_DIRECTORY
    print()
    print(
        f"{files} files in {DIRECTORIES} directories, {len(VALUES)} variables; "
        f"median of {args.repeat} runs; every output checked file by file"
    )
    print(f"in {work.parent}")
    print(f"{'':22}{'gaia':>12}{'copier':>12}{'cookiecutter':>14}")
    print("-" * 60)
    for label, suffix in (("in process (ms)", ""), ("command line (ms)", " CLI")):
        g, c, k = (med[f"{t}{suffix}"] * 1000 for t in ("gaia", "copier", "cookiecutter"))
        print(f"{label:22}{g:>12.0f}{c:>12.0f}{k:>14.0f}")
        print(f"{'  ratio to gaia':22}{1:>11.2f}x{c / g:>11.2f}x{k / g:>13.2f}x")
    floor = med["floor"] * 1000
    print(f"{'floor (ms)':22}{floor:>12.0f}   plain Python writing the same files, no template")
    in_process = med["copier"] / med["gaia"]
    cli = med["copier CLI"] / med["gaia CLI"]
    ok = in_process >= 3
    print(
        f"\ntargets (gaia >= 3x faster than copier, in process): "
        f"{'met' if ok else 'NOT met'} ({in_process:.1f}x; command line {cli:.1f}x)"
    )


if __name__ == "__main__":
    main()
