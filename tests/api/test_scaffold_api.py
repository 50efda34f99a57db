"""Scaffold routes (templates, generate, validate) through one real `gaia serve` on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gaia.scaffold.registry import BUILTIN_DIR
from tests.api.test_workflows_api import Server, start_server, stop_server_checked
from tests.helpers import known_shell_home

API = "/api/orchestration"
TEMPLATES = f"{API}/templates"
SCAFFOLD = f"{API}/scaffold"
BUILTINS = ("go-api", "react-app", "full-stack", "python-package")
GOOD_VARS = {"project_name": "demo", "author": "Ada"}


# -- templates on disk -----------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def write_template(
    directory: Path,
    name: str,
    *,
    files: list[dict[str, Any]] | None = None,
    hooks: dict[str, list[str]] | None = None,
    validate: list[str] | None = None,
) -> Path:
    """A template directory: 2 required variables, 1 default, inline and source files."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "init.py.j2").write_text('"""{{ project_name }} by {{ author }}."""\n')
    spec: dict[str, Any] = {
        "name": name,
        "description": "A small template for the tests",
        "version": "1.0",
        "language": "python",
        "variables": [
            {"name": "project_name", "required": True, "description": "the project"},
            {"name": "author", "required": True},
            {"name": "license", "default": "MIT"},
        ],
        "directories": ["docs"],
        "files": files
        if files is not None
        else [
            {
                "path": "README.md",
                "template": "# {{ project_name }}\nby {{ author }} ({{ license }})\n",
            },
            {"path": "{{ project_name }}/__init__.py", "source": "init.py.j2"},
            {"path": "run.sh", "template": "#!/bin/sh\necho run\n", "mode": "0755"},
        ],
    }
    if hooks:
        spec["hooks"] = hooks
    if validate:
        spec["validate"] = validate
    (directory / "template.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory


INVALID = """\
name: broken
variables:
  - name: x
    type: float
files:
  - path: a.txt
    bogus: 1
"""


# -- the daemon ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One daemon for the module, in its own GAIA_HOME and tmux socket, SIGTERMed at the end."""
    base = tmp_path_factory.mktemp("scaffold-api")
    home = base / "gaia-home"
    home.mkdir()
    socket = f"gaia-test-scaffold-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.update(known_shell_home(base / "user-home"))
    env.update(
        GAIA_HOME=str(home),
        GAIA_TMUX_SOCKET=socket,
        GAIA_KILL_GRACE_PERIOD="1s",
        GAIA_HEARTBEAT_INTERVAL="0.2s",
        COLUMNS="200",
    )
    srv = start_server(home, env)
    try:
        yield srv
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
            sockets = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
            (sockets / socket).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30.0,
        trust_env=False,
    ) as c:
        yield c


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A valid template directory, given by path (so untrusted)."""
    return write_template(tmp_path / "tpl", unique("tpl"))


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The ``{"error": {...}}`` body of a failed request, checked for its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) - {"instance"} == {"type", "title", "status", "detail", "error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"]
    return error


def scaffold(client: httpx.Client, template: str, path: Path, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"template": template, "path": str(path), **extra}
    body.setdefault("variables", GOOD_VARS)
    return client.post(SCAFFOLD, json=body)


def generated(client: httpx.Client, template: str, path: Path, **extra: Any) -> dict[str, Any]:
    response = scaffold(client, template, path, **extra)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def files_under(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


# -- security --------------------------------------------------------------------------

ROUTES = [
    ("GET", TEMPLATES),
    ("GET", f"{TEMPLATES}/anything"),
    ("POST", TEMPLATES),
    ("POST", SCAFFOLD),
    ("GET", f"{SCAFFOLD}/validate?path=/tmp"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_scaffold_route_needs_the_token(
    server: Server, tmp_path: Path, method: str, path: str
) -> None:
    """Each scaffold route answers 401 'unauthorized' without a token and with a wrong one."""
    target = tmp_path / "nope"
    body = {"template": "x", "path": str(target), "variables": {}}
    for token in (None, "not-the-token"):
        with server.client(token=token) as anonymous:
            response = anonymous.request(method, path, json=body)
        assert error_of(response, 401)["code"] == "unauthorized"
    assert not target.exists()


# -- templates -------------------------------------------------------------------------


def test_list_shows_the_builtins_with_description_and_variables(client: httpx.Client) -> None:
    """Every built-in template on disk is listed, each with a description and variables."""
    response = client.get(TEMPLATES)
    assert response.status_code == 200, response.text
    listed = {t["name"]: t for t in response.json()}
    present = [n for n in BUILTINS if (BUILTIN_DIR / n / "template.yaml").is_file()]
    for name in present:
        assert name in listed, f"built-in {name} is not listed: {sorted(listed)}"
        view = listed[name]
        assert view["origin"] == "builtin"
        assert view["description"], view
        assert view["variables"], view
        assert all({"name", "type", "required"} <= set(v) for v in view["variables"])


def test_get_template_and_unknown_is_404_json(client: httpx.Client, template: Path) -> None:
    """GET /templates/{name} shows a registered template; an unknown name is a 404 error body."""
    name = yaml.safe_load((template / "template.yaml").read_text())["name"]
    error = error_of(client.get(f"{TEMPLATES}/{name}"), 404)
    assert error["code"] == "not_found"
    assert name in error["message"]
    assert error["details"] == {"kind": "template", "id": name}

    assert client.post(TEMPLATES, json={"path": str(template)}).status_code == 201
    response = client.get(f"{TEMPLATES}/{name}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["name"] == name
    assert view["origin"] == "registry"
    assert view["description"] == "A small template for the tests"
    assert [v["name"] for v in view["variables"]] == ["project_name", "author", "license"]
    assert [v["required"] for v in view["variables"]] == [True, True, False]
    assert view["variables"][2]["default"] == "MIT"
    assert view["files"] == ["README.md", "{{ project_name }}/__init__.py", "run.sh"]
    assert view["directories"] == ["docs"]


def test_register_then_listed_conflict_and_replace(client: httpx.Client, tmp_path: Path) -> None:
    """Registering answers 201 and lists it; again is 409; with replace it is 201 and updated."""
    name = unique("reg")
    path = write_template(tmp_path / "t", name)
    response = client.post(TEMPLATES, json={"path": str(path)})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name
    assert response.json()["origin"] == "registry"
    listed = {t["name"]: t for t in client.get(TEMPLATES).json()}
    assert listed[name]["origin"] == "registry"
    assert listed[name]["description"] == "A small template for the tests"

    error = error_of(client.post(TEMPLATES, json={"path": str(path)}), 409)
    assert error["code"] == "conflict"
    assert "replace" in error["message"]

    spec = yaml.safe_load((path / "template.yaml").read_text())
    spec["description"] = "second version"
    (path / "template.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    response = client.post(TEMPLATES, json={"path": str(path), "replace": True})
    assert response.status_code == 201, response.text
    assert client.get(f"{TEMPLATES}/{name}").json()["description"] == "second version"


def test_register_a_relative_path_is_422(client: httpx.Client) -> None:
    """A relative template path is refused with 422 naming the field."""
    error = error_of(client.post(TEMPLATES, json={"path": "some/template"}), 422)
    assert "absolute" in error["message"]
    assert error["details"][0]["path"] == "path"


def test_register_an_invalid_template_is_422_with_lines(
    client: httpx.Client, tmp_path: Path
) -> None:
    """An invalid template is refused with every problem located at file:line:column."""
    path = tmp_path / "broken"
    path.mkdir()
    (path / "template.yaml").write_text(INVALID)
    error = error_of(client.post(TEMPLATES, json={"path": str(path)}), 422)
    assert error["code"] == "template_invalid"
    problems = error["details"]
    assert [(p["line"], p["column"]) for p in problems] == [(4, 5), (7, 5)]
    assert all(p["source"] == str(path / "template.yaml") for p in problems)
    assert "float" in problems[0]["message"]
    assert "bogus" in problems[1]["message"]
    assert "broken" not in {t["name"] for t in client.get(TEMPLATES).json()}


def test_register_bad_bodies_are_422(client: httpx.Client, tmp_path: Path) -> None:
    """A missing template, a body without a path and an unknown field are each 422."""
    error = error_of(client.post(TEMPLATES, json={"path": str(tmp_path / "absent")}), 422)
    assert "cannot read" in str(error["details"])
    assert error_of(client.post(TEMPLATES, json={}), 422)["code"] == "validation_error"
    response = client.post(TEMPLATES, json={"path": str(tmp_path), "bogus": 1})
    assert error_of(response, 422)["code"] == "validation_error"


# -- generate --------------------------------------------------------------------------


def test_generate_writes_every_file(client: httpx.Client, template: Path, tmp_path: Path) -> None:
    """POST /scaffold answers 201 with the files, which exist with rendered content and modes."""
    target = tmp_path / "out" / "demo"
    view = generated(client, str(template), target)
    assert view["dry_run"] is False
    assert view["path"] == str(target)
    assert view["files"] == ["README.md", "demo/__init__.py", "run.sh"]
    assert view["directories"] == ["docs"]
    assert view["variables"] == {"project_name": "demo", "author": "Ada", "license": "MIT"}
    assert view["hooks"] == []
    assert (target / "README.md").read_text() == "# demo\nby Ada (MIT)\n"
    assert (target / "demo/__init__.py").read_text() == '"""demo by Ada."""\n'
    assert (target / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (target / "docs").is_dir()
    answers = yaml.safe_load((target / ".gaia-answers.yml").read_text())
    assert answers["variables"]["project_name"] == "demo"
    assert [p.name for p in target.iterdir() if p.name.startswith(".gaia-scaffold-")] == []


def test_generate_name_is_the_project_name_default(
    client: httpx.Client, template: Path, tmp_path: Path
) -> None:
    """The request's name fills project_name when the variables do not give it."""
    target = tmp_path / "named"
    view = generated(client, str(template), target, name="fromname", variables={"author": "Bo"})
    assert view["variables"]["project_name"] == "fromname"
    assert (target / "fromname" / "__init__.py").is_file()


def test_generate_from_a_registered_name(client: httpx.Client, tmp_path: Path) -> None:
    """A registered template is generated by name."""
    name = unique("byname")
    client.post(TEMPLATES, json={"path": str(write_template(tmp_path / "t", name))})
    target = tmp_path / "proj"
    view = generated(client, name, target)
    assert view["template"] == name
    assert (target / "README.md").is_file()
    answers = yaml.safe_load((target / ".gaia-answers.yml").read_text())
    assert answers["source"] == name


def test_dry_run_is_200_and_writes_nothing(
    client: httpx.Client, template: Path, tmp_path: Path
) -> None:
    """A dry run answers 200 with the planned files and leaves the disk untouched."""
    target = tmp_path / "dry"
    response = scaffold(client, str(template), target, dry_run=True)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["dry_run"] is True
    assert view["files"] == ["README.md", "demo/__init__.py", "run.sh"]
    assert not target.exists()


def test_missing_variables_are_422_listing_all(
    client: httpx.Client, template: Path, tmp_path: Path
) -> None:
    """Generating without required variables is 422 naming every one; nothing is written."""
    target = tmp_path / "missing"
    error = error_of(scaffold(client, str(template), target, variables={}), 422)
    assert error["code"] == "template_invalid"
    messages = " ".join(p["message"] for p in error["details"])
    assert "'project_name'" in messages
    assert "'author'" in messages
    assert "license" not in messages
    assert len(error["details"]) == 2
    assert not target.exists()


def test_unknown_and_invalid_variables_are_422(client: httpx.Client, tmp_path: Path) -> None:
    """An unknown variable name and a value of the wrong type are both reported."""
    spec = {
        "name": unique("typed"),
        "variables": [{"name": "port", "type": "int", "default": 80}],
        "files": [{"path": "port.txt", "template": "{{ port }}"}],
    }
    path = tmp_path / "typed"
    path.mkdir()
    (path / "template.yaml").write_text(yaml.safe_dump(spec))
    target = tmp_path / "typed-out"
    response = scaffold(client, str(path), target, variables={"port": "http", "nope": "x"})
    messages = " ".join(p["message"] for p in error_of(response, 422)["details"])
    assert "'nope'" in messages
    assert "integer" in messages
    assert not target.exists()
    generated(client, str(path), target, variables={"port": 8080})
    assert (target / "port.txt").read_text() == "8080"


def test_non_empty_target_is_400_unless_forced(
    client: httpx.Client, template: Path, tmp_path: Path
) -> None:
    """A non-empty target is refused with 400 and left as it was; force writes into it."""
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    error = error_of(scaffold(client, str(template), target), 400)
    assert error["code"] == "scaffold_error"
    assert "not empty" in error["message"]
    assert files_under(target) == ["keep.txt"]
    generated(client, str(template), target, force=True)
    assert (target / "keep.txt").read_text() == "mine"
    assert (target / "README.md").is_file()


def test_relative_target_is_422(client: httpx.Client, template: Path) -> None:
    """A relative project path is refused with 422."""
    response = client.post(
        SCAFFOLD, json={"template": str(template), "path": "rel/dir", "variables": GOOD_VARS}
    )
    assert "absolute" in error_of(response, 422)["message"]
    assert not Path("rel").exists()


@pytest.mark.parametrize(
    "entry",
    [
        {"path": "../escaped-{{ project_name }}.txt", "template": "x"},
        {"path": "{{ project_name }}/../../escaped.txt", "template": "x"},
        {"path": "/tmp/escaped-gaia-test.txt", "template": "x"},
        {"path": "ok.txt", "source": "../outside.txt"},
    ],
)
def test_path_traversal_is_422_and_nothing_is_written(
    client: httpx.Client, tmp_path: Path, entry: dict[str, Any]
) -> None:
    """A file path or source that leaves its directory is refused before anything is written."""
    (tmp_path / "outside.txt").write_text("secret")
    files = [{"path": "fine.txt", "template": "fine"}, entry]
    path = write_template(tmp_path / "tpl", unique("evil"), files=files)
    parent = tmp_path / "area"
    parent.mkdir()
    target = parent / "proj"
    error = error_of(scaffold(client, str(path), target), 422)
    assert error["code"] == "template_invalid"
    assert any(p["line"] for p in error["details"]), error
    assert not target.exists()
    assert files_under(parent) == []
    assert not (tmp_path / "escaped-demo.txt").exists()
    assert not Path("/tmp/escaped-gaia-test.txt").exists()


def test_untrusted_hooks_need_trust(client: httpx.Client, tmp_path: Path) -> None:
    """A path template with hooks is 400 naming --trust; with trust or hooks off it works."""
    hooks = {"post_generate": ["touch hook-ran-{{ project_name }}"]}
    path = write_template(tmp_path / "tpl", unique("hooked"), hooks=hooks)
    target = tmp_path / "untrusted"
    error = error_of(scaffold(client, str(path), target), 400)
    assert "trust" in error["message"]
    assert not target.exists()

    skipped = tmp_path / "no-hooks"
    assert generated(client, str(path), skipped, run_hooks=False)["hooks"] == []
    assert not (skipped / "hook-ran-demo").exists()

    trusted = tmp_path / "trusted"
    view = generated(client, str(path), trusted, trust=True)
    assert view["hooks"] == ["touch hook-ran-demo"]
    assert (trusted / "hook-ran-demo").is_file()


def test_registered_templates_run_their_hooks(client: httpx.Client, tmp_path: Path) -> None:
    """A registered template is trusted: its pre and post hooks run without asking."""
    hooks = {"pre_generate": ["test -f README.md"], "post_generate": ["echo hi > post.txt"]}
    name = unique("reghooks")
    client.post(TEMPLATES, json={"path": str(write_template(tmp_path / "t", name, hooks=hooks))})
    target = tmp_path / "proj"
    view = generated(client, name, target)
    assert view["hooks"] == ["test -f README.md", "echo hi > post.txt"]
    assert (target / "post.txt").read_text() == "hi\n"


def test_failing_pre_hook_leaves_nothing(client: httpx.Client, tmp_path: Path) -> None:
    """A failing pre-generate hook is 400 naming the hook and status; nothing is left behind."""
    hooks = {"pre_generate": ["echo nope; exit 7"]}
    path = write_template(tmp_path / "tpl", unique("prefail"), hooks=hooks)
    target = tmp_path / "proj"
    error = error_of(scaffold(client, str(path), target, trust=True), 400)
    assert error["code"] == "scaffold_hook_failed"
    assert "pre_generate[0]" in error["message"]
    assert "status 7" in error["message"]
    assert error["details"]["exit_code"] == 7
    assert not target.exists()


# -- validate --------------------------------------------------------------------------


def test_validate_ok_then_drift(client: httpx.Client, tmp_path: Path) -> None:
    """A fresh project validates; an edited, a removed and a chmodded file are each reported."""
    name = unique("checked")
    check = "test -f {{ project_name }}/__init__.py"
    path = write_template(tmp_path / "checked", name, validate=[check])
    client.post(TEMPLATES, json={"path": str(path)})
    target = tmp_path / "proj"
    generated(client, name, target)
    response = client.get(f"{SCAFFOLD}/validate", params={"path": str(target)})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True, report
    assert report["problems"] == []
    assert report["commands"] == [
        {"command": "test -f demo/__init__.py", "exit_code": 0, "output": ""}
    ]

    (target / "README.md").write_text("edited\n")
    (target / "run.sh").chmod(0o644)
    (target / "demo" / "__init__.py").unlink()
    report = client.get(f"{SCAFFOLD}/validate", params={"path": str(target)}).json()
    assert report["ok"] is False
    assert "changed: README.md" in report["problems"]
    assert "mode changed: run.sh" in report["problems"]
    assert "missing: demo/__init__.py" in report["problems"]
    assert report["commands"][0]["exit_code"] != 0
    assert any("validate command" in p for p in report["problems"])

    skipped = client.get(f"{SCAFFOLD}/validate", params={"path": str(target), "commands": False})
    assert skipped.json()["commands"] == []


def test_validate_commands_of_a_path_template_need_trust(
    client: httpx.Client, tmp_path: Path
) -> None:
    """The checks of a template given by path run only with trust=true; files are still checked."""
    path = write_template(tmp_path / "tpl", unique("pathcheck"), validate=["touch checked-marker"])
    target = tmp_path / "proj"
    generated(client, str(path), target)
    report = client.get(f"{SCAFFOLD}/validate", params={"path": str(target)}).json()
    assert report["commands"] == []
    assert "trust" in report["commands_skipped"]
    assert report["ok"] is True
    assert not (target / "checked-marker").exists()

    (target / "README.md").write_text("edited\n")
    report = client.get(f"{SCAFFOLD}/validate", params={"path": str(target)}).json()
    assert report["problems"] == ["changed: README.md"]

    params: dict[str, Any] = {"path": str(target), "trust": True}
    report = client.get(f"{SCAFFOLD}/validate", params=params).json()
    assert [c["exit_code"] for c in report["commands"]] == [0]
    assert report["commands_skipped"] is None
    assert (target / "checked-marker").is_file()


def test_validate_unknown_or_relative_path(client: httpx.Client, tmp_path: Path) -> None:
    """A path that does not exist or was not generated is 400; a relative one is 422."""
    response = client.get(f"{SCAFFOLD}/validate", params={"path": str(tmp_path / "absent")})
    assert error_of(response, 400)["code"] == "scaffold_error"
    response = client.get(f"{SCAFFOLD}/validate", params={"path": str(tmp_path)})
    assert ".gaia-answers.yml" in error_of(response, 400)["message"]
    response = client.get(f"{SCAFFOLD}/validate", params={"path": "relative/dir"})
    assert error_of(response, 422)
    assert error_of(client.get(f"{SCAFFOLD}/validate"), 422)["code"] == "invalid_request"


# -- registering what leaves the template ----------------------------------------------


def test_register_refuses_a_source_symlinked_outside(client: httpx.Client, tmp_path: Path) -> None:
    """A source symlinked out of the template directory is refused on register, not copied in."""
    (tmp_path / "secret.txt").write_text("outside the template")
    path = write_template(
        tmp_path / "tpl", unique("symlinked"), files=[{"path": "data.txt", "source": "data.txt"}]
    )
    (path / "data.txt").symlink_to(tmp_path / "secret.txt")
    by_path = scaffold(client, str(path), tmp_path / "by-path")
    assert "outside the template directory" in str(error_of(by_path, 422)["details"])

    response = client.post(TEMPLATES, json={"path": str(path)})
    name = yaml.safe_load((path / "template.yaml").read_text())["name"]
    by_name = scaffold(client, name, tmp_path / "by-name")
    assert not (tmp_path / "by-name" / "data.txt").exists(), "the outside file was copied in"
    assert response.status_code == 422, response.text
    assert by_name.status_code == 404, by_name.text


# -- --force over what is in the way (bugs: see the report) ---------------------------


def test_force_over_a_file_where_a_directory_goes_is_400_and_atomic(
    client: httpx.Client, template: Path, tmp_path: Path
) -> None:
    """force=true over a file where a directory goes is a 400, not a 500, and moves nothing."""
    target = tmp_path / "proj"
    target.mkdir()
    (target / "docs").write_text("a file of the user's")
    response = scaffold(client, str(template), target, force=True)
    assert sorted(p.name for p in target.iterdir()) == ["docs"]
    assert error_of(response, 400)["code"] == "scaffold_error"


# -- templates whose expressions would take minutes -------------------------------------

BOMB = "{{ 10**(3*10**6) }}"


def test_listing_and_getting_never_evaluate_and_generating_is_422(
    server: Server, tmp_path: Path
) -> None:
    """GET /templates compiled every body to find its variables, and Jinja folded
    {{ 10**(3*10**6) }} while compiling: seconds of CPU, then a 500 for the whole list.
    Now listing only parses; generating is a prompt 422 naming the entries."""
    name = unique("bomb")
    root = tmp_path / "bomb"
    root.mkdir()
    (root / "b.txt.j2").write_text(BOMB + "\n")
    spec = {
        "name": name,
        "variables": [{"name": "big", "default": BOMB}],
        "files": [{"path": "a.txt", "template": BOMB}, {"path": "b.txt", "source": "b.txt.j2"}],
    }
    (root / "template.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with server.client() as guarded:  # its 10 s timeout is the hang guard
        assert guarded.post(TEMPLATES, json={"path": str(root)}).status_code == 201
        listed = guarded.get(TEMPLATES)
        assert listed.status_code == 200, listed.text
        assert any(t["name"] == name for t in listed.json())
        shown = guarded.get(f"{TEMPLATES}/{name}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["variables"][0]["default"] == BOMB
        target = tmp_path / "out"
        response = guarded.post(SCAFFOLD, json={"template": name, "path": str(target)})
        error = error_of(response, 422)
        (problem,) = error["details"]
        assert problem["message"].startswith("variables.big.default: cannot render: number too")
        body = {"template": name, "path": str(target), "variables": {"big": "1"}}
        error = error_of(guarded.post(SCAFFOLD, json=body), 422)
        messages = sorted(p["message"].split(": cannot")[0] for p in error["details"])
        assert messages == ["files[0].template", "files[1].source"]
        assert not target.exists()
