"""The Workflows view in a real browser on a real daemon running real shell tasks: the runs
list, its live updates, its filters in the URL, and starting a run from YAML or a file."""

from __future__ import annotations

import json
import re
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.api.test_workflows_api import Server, wait_status
from tests.dashboard.conftest import Dashboard, api

WF = "/api/orchestration/workflows"


def unique(prefix: str) -> str:
    """A name no other test's run has (the daemon is shared by the module)."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create(server: Server, text: str, workdir: Path, **params: Any) -> dict[str, Any]:
    created: dict[str, Any] = api(
        server,
        "POST",
        "/workflows",
        content=textwrap.dedent(text).lstrip("\n").encode(),
        headers={"content-type": "application/yaml"},
        params={"base_dir": str(workdir), **params},
    )
    return created


def finished(server: Server, run_id: str, statuses: set[str]) -> dict[str, Any]:
    with server.client() as client:
        return wait_status(client, run_id, statuses, timeout=30)


def simple(name: str, command: str = "true") -> str:
    return f"""
        name: {name}
        tasks:
          - id: first
            command: {json.dumps(command)}
          - id: second
            command: "true"
            dependencies: [first]
        """


def waiting(name: str) -> str:
    """A run whose task waits for a file named ``go`` in its folder."""
    return f"""
        name: {name}
        tasks:
          - id: wait-for-go
            command: while [ ! -e go ]; do sleep 0.05; done
        """


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """The base_dir tasks run in; ``go`` is created at the end so no task is left waiting."""
    path = tmp_path / "work"
    path.mkdir()
    try:
        yield path
    finally:
        (path / "go").touch()


def row(page: Page, run_id: str) -> Any:
    return page.locator(f'tr[data-run-id="{run_id}"]')


def ids_shown(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        ".wf-runs tbody tr", "rows => rows.map(r => r.dataset.runId)"
    )
    return ids


def list_loaded(page: Page) -> None:
    """The list has drawn (its count line says how many runs there are)."""
    expect(page.locator("#wf-count")).to_have_text(re.compile(r"\d+ .*runs?"))


# -- the list --------------------------------------------------------------------------


def test_screenshot_of_the_workflows_view(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    """Realistic data: runs of several workflows in each state, one still running (first
    in the module, so the list holds only these)."""
    build = """
        name: build-and-test
        description: compile, test and package the project
        tasks:
          - {id: deps, command: "true"}
          - {id: compile, command: "true", dependencies: [deps]}
          - {id: unit-tests, command: "true", dependencies: [compile]}
          - {id: lint, command: "true", dependencies: [deps]}
          - {id: package, command: "true", dependencies: [unit-tests, lint]}
        """
    nightly = """
        name: nightly-report
        tasks:
          - {id: fetch, command: "true"}
          - {id: crunch, command: "exit 2", dependencies: [fetch]}
          - {id: mail, command: "true", dependencies: [crunch]}
        """
    for text, status in ((build, "completed"), (nightly, "failed"), (build, "completed")):
        finished(server, create(server, text, workdir, start="true")["id"], {status})
    create(server, simple("release-notes"), workdir)
    running = """
        name: deploy-staging
        tasks:
          - {id: build, command: "true"}
          - {id: migrate, command: "true", dependencies: [build]}
          - id: rollout
            command: while [ ! -e go ]; do sleep 0.05; done
            dependencies: [migrate]
          - {id: smoke-test, command: "true", dependencies: [rollout]}
        """
    live = create(server, running, workdir, start="true")
    page = dashboard.goto("/workflows")
    expect(row(page, live["id"]).locator(".wf-task-words")).to_contain_text("2 completed")
    expect(row(page, live["id"]).locator(".wf-duration")).to_have_text(re.compile(r"^\d+ s$"))
    dashboard.shot("workflows")


def test_the_list_shows_runs_with_their_status(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    ok = create(server, simple(unique("ok")), workdir, start="true")
    bad = create(server, simple(unique("bad"), "exit 3"), workdir, start="true")
    later = create(server, simple(unique("later")), workdir)
    finished(server, ok["id"], {"completed"})
    finished(server, bad["id"], {"failed"})

    page = dashboard.goto("/workflows")
    for run, status in ((ok, "completed"), (bad, "failed"), (later, "pending")):
        line = row(page, run["id"])
        expect(line.locator(".badge")).to_have_text(status)
        expect(line.get_by_role("link", name=run["name"])).to_have_attribute(
            "href", f"/workflows/{run['id']}"
        )
        expect(line.get_by_role("link", name=f"run {run['id']}")).to_have_text(run["id"][:8])
    expect(row(page, ok["id"]).locator(".wf-task-words")).to_have_text("2 tasks: 2 completed")
    expect(row(page, bad["id"]).locator(".wf-task-words")).to_have_text(
        "2 tasks: 1 failed · 1 skipped"
    )
    expect(row(page, later["id"]).locator(".wf-started")).to_have_text("not started")
    expect(row(page, ok["id"]).locator(".wf-duration")).to_have_text(re.compile(r"\d"))
    # Newest first, as the API lists them.
    shown = ids_shown(page)
    assert shown.index(later["id"]) < shown.index(bad["id"]) < shown.index(ok["id"])
    expect(page.get_by_role("columnheader", name="Duration")).to_be_visible()

    # The run's id links to its page.
    page.get_by_role("link", name=f"run {ok['id']}").click()
    expect(page).to_have_url(f"{server.url}/workflows/{ok['id']}")


def test_a_change_of_status_and_a_new_run_arrive_without_reloading(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    run = create(server, waiting(unique("waits")), workdir, start="true")
    page = dashboard.goto("/workflows")
    line = row(page, run["id"])
    expect(line.locator(".badge")).to_have_text("running")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    # The duration of a running run ticks.
    duration = line.locator(".wf-duration")
    expect(duration).to_have_text(re.compile(r"\d"))
    before = duration.inner_text()
    expect(duration).not_to_have_text(before)

    (workdir / "go").touch()
    expect(line.locator(".badge")).to_have_text("completed")
    expect(line.locator(".wf-task-words")).to_have_text("1 task: 1 completed")

    newer = create(server, simple(unique("newer")), workdir)
    expect(row(page, newer["id"]).locator(".badge")).to_have_text("pending")
    assert ids_shown(page)[0] == newer["id"], "a new run goes on top"
    api(server, "POST", f"/workflows/{newer['id']}/start")
    expect(row(page, newer["id"]).locator(".badge")).to_have_text("completed")
    assert page.evaluate("window.sameDocument") is True
    dashboard.shot("workflows-live")


def test_filters_are_in_the_url_and_back_restores_them(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    tag = unique("filter")
    good = create(server, simple(f"{tag}-build"), workdir, start="true")
    broken = create(server, simple(f"{tag}-deploy", "exit 1"), workdir, start="true")
    other = create(server, simple(unique("elsewhere"), "exit 1"), workdir, start="true")
    for run, status in ((good, "completed"), (broken, "failed"), (other, "failed")):
        finished(server, run["id"], {status})

    page = dashboard.goto("/workflows")
    list_loaded(page)
    expect(row(page, good["id"])).to_be_visible()
    statuses = page.get_by_role("list", name="Filter by status")
    statuses.get_by_role("link", name=re.compile(r"^Failed")).click()
    expect(page).to_have_url(f"{server.url}/workflows?status=failed")
    expect(row(page, good["id"])).to_have_count(0)
    expect(row(page, broken["id"])).to_be_visible()
    expect(row(page, other["id"])).to_be_visible()
    for status in page.locator(".wf-runs tbody .badge").all_inner_texts():
        assert status == "failed"

    page.get_by_label("Filter by name").fill(tag.upper())  # any case
    expect(page).to_have_url(f"{server.url}/workflows?status=failed&name={tag.upper()}")
    expect(row(page, other["id"])).to_have_count(0)
    expect(row(page, broken["id"])).to_be_visible()
    assert ids_shown(page) == [broken["id"]]
    expect(page.locator("#wf-count")).to_have_text(f"1 failed run named like “{tag.upper()}”")

    page.go_back()
    expect(page).to_have_url(f"{server.url}/workflows?status=failed")
    expect(page.get_by_label("Filter by name")).to_have_value("")
    expect(row(page, other["id"])).to_be_visible()
    page.go_back()
    expect(page).to_have_url(f"{server.url}/workflows")
    expect(row(page, good["id"])).to_be_visible()
    expect(statuses.get_by_role("link", name=re.compile(r"^All"))).to_have_attribute(
        "aria-current", "true"
    )

    # A shared link (the Overview's) opens the filtered list.
    page = dashboard.goto(f"/workflows?status=completed&name={tag}")
    expect(row(page, good["id"])).to_be_visible()
    assert ids_shown(page) == [good["id"]]
    expect(page.get_by_label("Filter by name")).to_have_value(tag)


def test_a_status_filter_drops_a_run_that_leaves_it_live(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    run = create(server, waiting(unique("leaves")), workdir, start="true")
    page = dashboard.goto("/workflows?status=running")
    expect(row(page, run["id"]).locator(".badge")).to_have_text("running")
    (workdir / "go").touch()
    expect(row(page, run["id"])).to_have_count(0)
    page = dashboard.goto("/workflows?status=completed")
    expect(row(page, run["id"]).locator(".badge")).to_have_text("completed")


def test_a_capped_list_says_how_many_it_shows(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    tag = unique("many")
    runs = [create(server, simple(f"{tag}-{i}"), workdir) for i in range(3)]
    page = dashboard.goto(f"/workflows?name={tag}&limit=2")
    expect(page.locator("#wf-count")).to_have_text(
        f"Showing 2 of 3 runs named like “{tag}” (newest first)"
    )
    assert ids_shown(page) == [runs[2]["id"], runs[1]["id"]]
    # A new run goes on top, the oldest shown makes room, and the total follows.
    newest = create(server, simple(f"{tag}-3"), workdir)
    expect(page.locator("#wf-count")).to_have_text(
        f"Showing 2 of 4 runs named like “{tag}” (newest first)"
    )
    assert ids_shown(page) == [newest["id"], runs[2]["id"]]


# -- starting a run --------------------------------------------------------------------


def test_start_from_pasted_yaml_runs_it(
    dashboard: Dashboard, server: Server, workdir: Path
) -> None:
    name = unique("pasted")
    page = dashboard.goto("/workflows")
    page.get_by_role("button", name="Start a workflow…").click()
    expect(page).to_have_url(f"{server.url}/workflows?new=yaml")
    expect(page.get_by_label("Workflow file")).to_be_hidden()
    page.get_by_label("Workflow YAML").fill(
        f"name: {name}\n"
        "variables:\n  word: nothing\n"
        "tasks:\n"
        "  - id: write\n    command: echo ${word} > pasted.txt\n"
    )
    page.get_by_label("Folder for relative paths").fill(str(workdir))
    page.get_by_label("Variables").fill("word=pasted-ok")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[1]
    run = finished(server, run_id, {"completed"})
    assert run["name"] == name
    assert (workdir / "pasted.txt").read_text() == "pasted-ok\n"


def test_create_without_starting(dashboard: Dashboard, server: Server, workdir: Path) -> None:
    name = unique("unstarted")
    page = dashboard.goto("/workflows?new=yaml")
    page.get_by_label("Workflow YAML").fill(simple(name).replace("\n        ", "\n").strip())
    page.get_by_label("Start now").uncheck()
    page.get_by_role("button", name="Create run").click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    run = api(server, "GET", f"/workflows/{page.url.rsplit('/', 1)[1]}")
    assert (run["name"], run["status"]) == (name, "pending")


def test_invalid_yaml_shows_its_problems_at_their_lines(
    dashboard: Dashboard, server: Server
) -> None:
    before = api(server, "GET", "/workflows/counts")["total"]
    page = dashboard.goto("/workflows?new=yaml")
    text = (
        "name: broken\n"
        "tasks:\n"
        "  - id: one\n"
        "    command: echo ${nope}\n"
        "  - id: two\n"
        "    command: echo two\n"
        "    dependencies: [missing]\n"
    )
    editor = page.get_by_label("Workflow YAML")
    editor.fill(text)
    page.get_by_role("button", name="Start", exact=True).click()
    problems = page.locator("#wf-problems li")
    expect(problems.filter(has_text="nope")).to_have_text(re.compile(r"^line 4:\d+ .*nope"))
    expect(problems.filter(has_text="missing")).to_have_text(re.compile(r"^line 7:\d+ "))
    gutter = page.locator(".wf-gutter > div")
    expect(gutter.nth(3)).to_have_class("bad")
    expect(gutter.nth(6)).to_have_class("bad")
    expect(gutter.nth(4)).not_to_have_class("bad")
    assert page.url == f"{server.url}/workflows?new=yaml"
    dashboard.shot("workflows-start")

    # Clicking a problem selects its line in the editor.
    problems.filter(has_text="missing").get_by_role("button").click()
    start = text.index("    dependencies: [missing]")
    selected = editor.evaluate("e => [e.selectionStart, e.selectionEnd]")
    assert selected == [start, start + len("    dependencies: [missing]")]
    expect(editor).to_be_focused()

    # A YAML syntax error, too.
    editor.fill("name: x\ntasks:\n  - id: a\n    command: [unclosed\n")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(problems.first).to_have_text(re.compile(r"^line \d+:\d+ "))
    assert api(server, "GET", "/workflows/counts")["total"] == before, "nothing was created"


def test_start_from_a_file_path(
    dashboard: Dashboard, server: Server, workdir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    name = unique("from-file")
    definition = folder / "flow.yaml"
    # Relative paths in a file are its folder's.
    definition.write_text(
        f"name: {name}\ntasks:\n  - id: write\n    command: echo ${{what}} > out.txt\n"
    )
    page = dashboard.goto("/workflows?new=yaml")
    page.get_by_label("A file on the daemon's machine").check()
    expect(page).to_have_url(f"{server.url}/workflows?new=file")
    expect(page.get_by_label("Workflow YAML")).to_be_hidden()
    page.get_by_label("Workflow file").fill(str(definition))
    page.get_by_label("Variables").fill("what=from-the-file")
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url(re.compile(r"/workflows/[0-9a-f-]{36}$"))
    run = finished(server, page.url.rsplit("/", 1)[1], {"completed"})
    assert run["name"] == name
    assert (folder / "out.txt").read_text() == "from-the-file\n"

    # A file's problems name it, with line and column.
    broken = folder / "broken.yaml"
    broken.write_text("name: broken\ntasks:\n  - id: a\n    command: echo ${nope}\n")
    page = dashboard.goto("/workflows?new=file")
    page.get_by_label("Workflow file").fill(str(broken))
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#wf-problems li").first).to_have_text(
        re.compile(rf"^{re.escape(str(broken))}:4:\d+: .*nope")
    )
    page.get_by_label("Workflow file").fill(str(folder / "absent.yaml"))
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#wf-problems li").first).to_contain_text("absent.yaml")
    expect(page.locator("#wf-problems li").first).to_contain_text("No such file")


# -- the API the view uses ---------------------------------------------------------------


def test_the_runs_watch_sends_the_active_runs_then_changes(server: Server, workdir: Path) -> None:
    run = create(server, waiting(unique("watched")), workdir, start="true")
    finished(server, run["id"], {"running"})
    with (
        server.client() as client,
        client.stream(
            "GET", "/api/orchestration/events", params={"watch": ["runs", "runs:failed"]}
        ) as stream,
    ):
        events = sse_events(stream)
        initial: dict[str | None, Any] = {}
        while len(initial) < 2:
            name, data = next(events)
            assert name == "runs" and data["initial"] is True
            initial[data["status"]] = data
        assert run["id"] in [r["id"] for r in initial[None]["runs"]]
        assert initial[None]["counts"]["running"] >= 1
        assert run["id"] not in [r["id"] for r in initial["failed"]["runs"]]
        (workdir / "go").touch()
        summary: dict[str, Any] = {}
        while not summary:
            name, change = next(events)
            assert name == "runs" and change["initial"] is False
            mine = [r for r in change["runs"] if r["id"] == run["id"]]
            if mine:
                # Only to the unfiltered watch: the run never was failed.
                assert change["status"] is None
                (summary,) = mine
        assert summary["status"] == "completed"
        assert summary["task_counts"] == {"completed": 1}
        # A new run that fails is news for both watches.
        bad = create(server, simple(unique("fails"), "exit 1"), workdir, start="true")
        failed_for: set[str | None] = set()
        while len(failed_for) < 2:
            name, change = next(events)
            if any(r["id"] == bad["id"] and r["status"] == "failed" for r in change["runs"]):
                failed_for.add(change["status"])
        assert failed_for == {None, "failed"}


def sse_events(stream: httpx.Response) -> Iterator[tuple[str, Any]]:
    name = ""
    for line in stream.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.split(":", 1)[1])


def test_an_unknown_status_is_an_error_event(server: Server) -> None:
    with (
        server.client() as client,
        client.stream("GET", "/api/orchestration/events", params={"watch": "runs:nope"}) as s,
    ):
        name, data = next(sse_events(s))
    assert name == "error"
    assert data["watch"] == "runs:nope" and "unknown run status 'nope'" in data["message"]


def test_list_and_counts_filter_by_name(server: Server, workdir: Path) -> None:
    tag = unique("Named_%")  # LIKE's wildcards are matched as themselves
    first = create(server, simple(f"{tag}-a"), workdir)
    create(server, simple(unique("unrelated")), workdir)
    runs = api(server, "GET", "/workflows", params={"name": tag.lower()})
    assert [r["id"] for r in runs] == [first["id"]]
    counts = api(server, "GET", "/workflows/counts", params={"name": tag})
    assert counts == {"total": 1, "by_status": {"pending": 1}}
    everything = api(server, "GET", "/workflows/counts")
    assert everything["total"] == sum(everything["by_status"].values()) >= 2


def test_create_from_a_path_refuses_what_it_cannot_read(server: Server, tmp_path: Path) -> None:
    definition = tmp_path / "ok.yaml"
    definition.write_text(simple("by-path"))
    with server.client() as client:

        def post(**kwargs: Any) -> httpx.Response:
            return client.post(WF, **kwargs)

        relative = post(params={"path": "ok.yaml"})
        assert relative.status_code == 422
        assert "absolute" in relative.json()["detail"]
        both = post(
            params={"path": str(definition)},
            content=b"name: x\ntasks: []\n",
            headers={"content-type": "application/yaml"},
        )
        assert both.status_code == 422
        assert "not both" in both.json()["detail"]
        with_base = post(params={"path": str(definition), "base_dir": str(tmp_path)})
        assert with_base.status_code == 422
        assert with_base.json()["error"]["details"][0]["path"] == "base_dir"
        missing = post(params={"path": str(tmp_path / "absent.yaml")})
        assert missing.status_code == 422
        (detail,) = missing.json()["error"]["details"]
        assert detail["source"] == str(tmp_path / "absent.yaml")
        assert "No such file" in detail["message"]
        a_dir = post(params={"path": str(tmp_path)})
        assert a_dir.status_code == 422
        assert "directory" in a_dir.json()["error"]["details"][0]["message"]
        created = post(params={"path": str(definition)})
        assert created.status_code == 201, created.text
        assert created.json()["name"] == "by-path"
