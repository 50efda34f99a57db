"""The malformed-input corpus, written by the tests into a temporary directory (or here:
``python tests/corpus/generate.py``); deterministic. The files are not committed: a few
are 80 KB on purpose.

One directory per kind of input (workflows, services, layouts, templates, config); every
file is invalid in one way. tests/test_corpus.py runs each through its Python loader, the
CLI and the API: a located error, exit 2 or a 4xx, within a second, never a traceback.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

HERE = Path(__file__).parent
KINDS = ("workflows", "services", "layouts", "templates")

# A small valid-looking document of each kind, to break in kind-specific ways.
VALID = {
    "workflows": "name: w\ntasks:\n  - id: a\n    command: echo hi\n",
    "services": "name: s\ncommand: sleep 60\n",
    "layouts": "session_name: s\nwindows:\n  - window_name: main\n    panes: [echo hi]\n",
    "templates": "name: t\nfiles:\n  - path: README.md\n    content: hi\n",
}


def laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        prev, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [" + ",".join(["*" + prev] * 9) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb() -> str:
    text = "a: &a {x: 1, y: 2}\n"
    for i in range(9):
        name, prev = chr(98 + i), chr(97 + i)
        text += f"{name}: &{name}\n  <<: [{', '.join(['*' + prev] * 9)}]\n"
    return text


def generic(kind: str) -> dict[str, bytes]:
    """Shapes that break any YAML loader."""
    valid = VALID[kind]
    rng = random.Random(f"junk-{kind}")  # deterministic
    shapes: dict[str, str | bytes] = {
        "alias-bomb": laughs(9),
        "alias-bomb-in-value": valid + "x: " + laughs(9).replace("\n", "\n  ")[:-2],
        "merge-bomb": merge_bomb(),
        "recursive-alias-list": "a: &a [*a]\n",
        "recursive-alias-map": "a: &a {b: *a}\n",
        "recursive-merge": "a: &a {<<: *a}\n",
        "undefined-alias": valid + "x: *nowhere\n",
        "dup-float-key": "1.0: a\n1.0: b\n",
        "dup-int-float-key": "1: a\n1.0: b\n",
        "dup-bool-int-key": "1: a\ntrue: b\n",
        "dup-null-key": "null: a\n~: b\n",
        # (a layout keeps the last of two keys, as tmuxp's PyYAML does: a warning there)
        **({} if kind == "layouts" else {"dup-top-key": valid + valid.splitlines()[0] + "\n"}),
        "huge-int": valid + "x: " + "9" * 5000 + "\n",
        "huge-int-key": "9" * 5000 + ": x\n",
        "bad-timestamp": valid + "x: 2020-13-45\n",
        "bad-float-tag": valid + "x: !!float abc\n",
        "python-tag": valid + "x: !!python/object/apply:os.system [ls]\n",
        "unknown-tag": valid + "x: !custom 1\n",
        "complex-key": "? [a, b]\n: 1\n",
        "complex-map-key": "? {a: 1}\n: 1\n",
        "non-utf8": valid.encode() + b"x: \xff\xfe\n",
        "latin1": valid.encode() + "x: caf\xe9\n".encode("latin-1"),
        "utf16": valid.encode("utf-16"),
        "bom-then-junk": b"\xef\xbb\xbf" + b"[unclosed\n",
        "nul-raw": valid.encode() + b"x: a\x00b\n",
        "control-char": valid + "x: a\x07b\n",
        "deep-flow": "[" * 10_000,
        "deep-flow-closed": "[" * 999 + "]" * 999,
        "deep-map": "a: " + "{a: " * 990 + "1" + "}" * 990 + "\n",
        "deep-block": "".join(f"{'  ' * i}k{i}:\n" for i in range(300)) + "  " * 300 + "x\n",
        "tab-indent": valid.replace("\n  ", "\n\t", 1) if "\n  " in valid else "a:\n\tb: 1\n",
        "unclosed-double-quote": valid + 'x: "never closed\n',
        "unclosed-single-quote": valid + "x: 'never closed\n",
        "unclosed-bracket": valid + "x: [1, 2\n",
        "unclosed-brace": "{a: 1, b: 2\n",
        "bad-indent": valid + "   misaligned: 1\n",
        "colon-soup": "a: b: c: d\n",
        "two-documents": valid + "---\n" + valid,
        "empty": "",
        "whitespace-only": "   \n\n\t\n",
        "comment-only": "# nothing here\n",
        "null-document": "~\n",
        "scalar-document": "just a string\n",
        "int-document": "42\n",
        "list-of-ints": "[1, 2, 3]\n",
        "binary-junk": bytes(rng.randrange(256) for _ in range(2048)),
        "binary-junk-ascii": "".join(chr(rng.randrange(1, 127)) for _ in range(2048)),
        "json-broken": '{"name": "x", ',
        "big-comment-80k": valid + "# " + "x" * 80_000 + "\nextra_field: [\n",
    }
    return {k: v if isinstance(v, bytes) else v.encode() for k, v in shapes.items()}


def specific() -> dict[str, dict[str, str]]:
    """Each kind's own wrong types and refused values."""
    refs = " ".join("${x}" for _ in range(16_000))
    distinct = " ".join(f"${{v{i}}}" for i in range(10_000))
    many_tasks = "".join(f"  - id: t{i}\n    command: echo ${{missing}}\n" for i in range(2000))
    return {
        "workflows": {
            "name-list": "name: [a]\ntasks: [{id: a, command: x}]\n",
            "tasks-mapping": "name: w\ntasks: {a: 1}\n",
            "tasks-empty": "name: w\ntasks: []\n",
            "task-scalar": "name: w\ntasks: [oops]\n",
            "task-no-command": "name: w\ntasks: [{id: a}]\n",
            "command-int": "name: w\ntasks: [{id: a, command: 1}]\n",
            "command-nul": 'name: w\ntasks: [{id: a, command: "echo \\0"}]\n',
            "env-nul": 'name: w\ntasks: [{id: a, command: x, env: {A: "\\0"}}]\n',
            "env-equals-name": "name: w\ntasks: [{id: a, command: x, env: {A=B: 1}}]\n",
            "env-empty-name": 'name: w\nenv: {"": 1}\ntasks: [{id: a, command: x}]\n',
            "env-list": "name: w\ntasks: [{id: a, command: x, env: [a]}]\n",
            "working-dir-nul": 'name: w\nworking_dir: "/\\0"\ntasks: [{id: a, command: x}]\n',
            "variables-list": "name: w\nvariables: [1]\ntasks: [{id: a, command: x}]\n",
            "deps-string": "name: w\ntasks: [{id: a, command: x, dependencies: b}]\n",
            "deps-unknown": "name: w\ntasks: [{id: a, command: x, dependencies: [zz]}]\n",
            "cycle": "name: w\ntasks:\n  - {id: a, command: x, dependencies: [b]}\n"
            "  - {id: b, command: x, dependencies: [a]}\n",
            "timeout-bad": "name: w\ntasks: [{id: a, command: x, timeout: forever}]\n",
            "timeout-huge": "name: w\ntasks: [{id: a, command: x, timeout: " + "9" * 400 + "}]\n",
            "retry-negative": "name: w\ntasks: [{id: a, command: x, retry: {max_attempts: -1}}]\n",
            "max-parallel-zero": "name: w\nmax_parallel: 0\ntasks: [{id: a, command: x}]\n",
            "type-bad": "name: w\ntasks: [{id: a, command: x, type: nope}]\n",
            "unknown-field": "name: w\nbogus: 1\ntasks: [{id: a, command: x}]\n",
            "refs-80k-same": f"name: w\ntasks:\n  - id: a\n    command: 'echo {refs}'\n",
            "refs-80k-distinct": f"name: w\ntasks:\n  - id: a\n    command: 'echo {distinct}'\n",
            "refs-unclosed-80k": "name: w\ntasks:\n  - id: a\n    command: '"
            + "${" * 40_000
            + "'\n"
            "    env: {A: '${nope}'}\n",
            "refs-many-tasks": "name: w\ntasks:\n" + many_tasks,
        },
        "services": {
            "name-int": "name: 1\ncommand: x\n",
            "command-missing": "name: s\n",
            "command-list": "name: s\ncommand: [a, b]\n",
            "command-nul": 'name: s\ncommand: "a\\0"\n',
            "args-nul": 'name: s\ncommand: x\nargs: ["\\0"]\n',
            "args-mapping": "name: s\ncommand: x\nargs: {a: 1}\n",
            "env-equals-name": "name: s\ncommand: x\nenv: {A=B: 1}\n",
            "env-nul": 'name: s\ncommand: x\nenv: {A: "\\0"}\n',
            "port-huge": "name: s\ncommand: x\nport: 99999999999999999999\n",
            "port-string": "name: s\ncommand: x\nport: http\n",
            "health-type": "name: s\ncommand: x\nhealth_check: {type: ping}\n",
            "health-exec-nul": 'name: s\ncommand: x\nhealth_check: {type: exec, command: "\\0"}\n',
            "restart-policy": "name: s\ncommand: x\nrestart: {policy: sometimes}\n",
            "stop-signal": "name: s\ncommand: x\nstop: {signal: SIGNOPE}\n",
            "depends-list-int": "name: s\ncommand: x\ndepends_on: [1]\n",
            "list-of-scalars": "- a\n- b\n",
            "services-not-list": "services: {a: 1}\n",
            "duplicate-names": "- {name: s, command: x}\n- {name: s, command: y}\n",
            "unknown-field": "name: s\ncommand: x\nbogus: 1\n",
            "many-services-bad": "".join(f"- {{name: s{i}, command: 1}}\n" for i in range(3000)),
        },
        "layouts": {
            "name-missing": "windows: [{panes: [x]}]\n",
            "name-list": "session_name: [a]\n",
            "windows-scalar": "session_name: s\nwindows: 3\n",
            "window-int": "session_name: s\nwindows: [1]\n",
            "panes-int": "session_name: s\nwindows: [{panes: 5}]\n",
            "pane-command-nul": 'session_name: s\nwindows: [{panes: ["echo \\0"]}]\n',
            "environment-nul": 'session_name: s\nenvironment: {A: "\\0"}\n',
            "environment-equals": "session_name: s\nenvironment: {A=B: 1}\n",
            "before-nul": 'session_name: s\nshell_command_before: ["\\0"]\n',
            "start-dir-missing": "session_name: s\nstart_directory: /no/such/dir/here\n",
            "start-dir-nul": 'session_name: s\nstart_directory: "/tmp\\0"\n',
            "layout-bad": "session_name: s\nwindows: [{layout: spiral}]\n",
            "window-name-blank": "session_name: s\nwindows: [{window_name: ' '}]\n",
            "window-name-list": "session_name: s\nwindows: [{window_name: [a]}]\n",
            "options-list": "session_name: s\nwindows: [{options: [1]}]\n",
            "unknown-field": "session_name: s\nbogus: 1\n",
            "many-windows-bad": "session_name: s\nwindows:\n"
            + "".join("  - {layout: spiral}\n" for _ in range(3000)),
        },
        "templates": {
            "name-missing": "files: []\n",
            "name-int": "name: 1\n",
            "files-scalar": "name: t\nfiles: 3\n",
            "file-no-path": "name: t\nfiles: [{content: x}]\n",
            "variables-mapping": "name: t\nvariables: {a: 1}\n",
            "variable-dup": "name: t\nvariables: [{name: a}, {name: a}]\n",
            "variable-type": "name: t\nvariables: [{name: a, type: colour}]\n",
            "mode-int": "name: t\nfiles: [{path: a, content: x, mode: 755}]\n",
            "hooks-scalar": "name: t\nhooks: run\n",
            "unknown-field": "name: t\nbogus: 1\n",
            "many-files-bad": "name: t\nfiles:\n"
            + "".join("  - {content: x}\n" for _ in range(3000)),
        },
    }


CONFIG: dict[str, bytes] = {
    "syntax-unclosed-string": b'host = "x\n',
    "syntax-unclosed-array": b"port = [1, 2\n",
    "syntax-no-value": b"port = \n",
    "syntax-dup-key": b"port = 1\nport = 2\n",
    "syntax-dup-table": b"[agents.a]\n[agents.a]\n",
    "syntax-bare-word": b"host = localhost\n",
    "syntax-non-utf8": b"host = 'x'\n\xff\xfe\n",
    "syntax-latin1": "host = 'caf\xe9'\n".encode("latin-1"),
    "syntax-nul": b"host = 'a\x00b'\n",
    "syntax-huge-int": b"port = " + b"9" * 5000 + b"\n",
    "syntax-deep-array": b"x = " + b"[" * 2000 + b"\n",
    "syntax-deep-array-closed": b"x = " + b"[" * 1500 + b"]" * 1500 + b"\n",
    "syntax-binary-junk": bytes(random.Random("toml").randrange(256) for _ in range(1024)),
    "syntax-yaml-instead": b"port: 1\nhost: x\n",
    "syntax-json-instead": b'{"port": 1}\n',
    "syntax-bad-date": b"x = 2020-13-45\n",
    "syntax-bad-escape": b'host = "\\q"\n',
    "syntax-big-80k": b"# " + b"x" * 80_000 + b"\nport = = 1\n",
    "syntax-tab-key": b"\tport\t=\n",
    "syntax-table-redefined": b"agents = 1\n[agents.a]\n",
    "value-port-string": b"port = 'http'\n",
    "value-port-negative": b"port = -1\n",
    "value-port-float": b"port = 1.5\n",
    "value-unknown-key": b"colour = 'red'\n",
    "value-home": b"home = '/tmp'\n",
    "value-log-level": b"log_level = 'loud'\n",
    "value-duration": b"session_idle_timeout = 'soon'\n",
    "value-duration-negative": b"stale_heartbeat = -5\n",
    "value-log-backups": b"service_log_backups = -1\n",
    "value-agents-list": b"agents = [1]\n",
    "value-agent-kind": b"[agents.x]\nkind = 'robot'\n",
    "value-agent-field": b"[agents.x]\nbogus = 1\n",
    "value-max-body-tiny": b"max_request_body = 1\n",
    "value-workers-zero": b"agent_workers = 0\n",
    "value-database-int": b"database_url = 5\n",
}


def write_corpus(root: Path) -> None:
    """Write every corpus file under ``root``/<kind>/, replacing what was there."""
    for kind in KINDS:
        target = root / kind
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        files = generic(kind) | {k: v.encode() for k, v in specific()[kind].items()}
        for name, content in files.items():
            (target / f"{name}.yaml").write_bytes(content)
    target = root / "config"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    for name, content in CONFIG.items():
        (target / f"{name}.toml").write_bytes(content)


if __name__ == "__main__":
    write_corpus(HERE)
