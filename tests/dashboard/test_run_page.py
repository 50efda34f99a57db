"""The run page in a real Chromium on a real daemon running real workflows of shell tasks:
the graph and the statuses, live changes, the selected task's log, the buttons, the back
button, and a 2,000-task run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import Dashboard, api
from tests.dashboard.run_support import create_run, wait_run, wide_dag

USABLE_BOUND_MS = 30_000  # a generous bound for a big page on a loaded machine, not a target

RELEASE = """
    name: release
    tasks:
      - {id: checkout, command: 'echo checked out; sleep 0.2'}
      - {id: lint, command: 'echo lint ok', dependencies: [checkout]}
      - id: unit
        command: >-
          echo running unit tests;
          test -f unit-ran || { touch unit-ran; echo flaky; exit 1; }; echo unit ok
        on_error: retry
        retry: {max_attempts: 3, backoff: {initial: 0.2, jitter: false}}
        dependencies: [checkout]
      - {id: build, command: 'echo building; sleep 0.3; echo built', dependencies: [lint]}
      - {id: package, command: 'echo packaged', dependencies: [build, unit]}
      - id: e2e
        command: >-
          echo e2e starting;
          test -f fixed || { echo "e2e: 1 failed"; exit 3; }; echo "e2e: all passed"
        dependencies: [package]
      - {id: publish, command: 'echo published', dependencies: [package, e2e]}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def open_run(dashboard: Dashboard, run_id: str, task: str | None = None) -> Page:
    page = dashboard.goto(f"/workflows/{run_id}" + (f"?task={task}" if task else ""))
    expect(page.locator("main[data-ready]")).to_be_attached()
    return page


def task_option(page: Page, key: str, status: str) -> Any:
    """The task list's row for ``key``, saying ``status`` in words."""
    return page.get_by_role("option", name=re.compile(rf"^{re.escape(key)}\s+{status}$"))


def node_pixel(page: Page, key: str) -> list[int]:
    """The colour the graph painted inside the node of ``key`` (left of its label)."""
    return list(
        page.evaluate(
            """(key) => {
              const graph = window.gaiaRun.graph();
              const node = graph.byId.get(key);
              const v = graph.view, r = graph.ratio;
              const x = (node.x + 3) * v.scale + v.x, y = (node.y + 3) * v.scale + v.y;
              const pixel = graph.ctx.getImageData(Math.round(x * r), Math.round(y * r), 1, 1);
              return Array.from(pixel.data);
            }""",
            key,
        )
    )


def test_the_graph_names_each_task_and_says_its_status(dashboard: Dashboard, workdir: Path) -> None:
    run_id = create_run(dashboard.server, RELEASE, workdir, start=True)
    final = wait_run(dashboard.server, run_id, {"failed"})
    assert final["tasks"]["e2e"] == "failed" and final["tasks"]["publish"] == "skipped"
    page = open_run(dashboard, run_id)

    # Every node is drawn with its id, and the page's statuses are the API's.
    drawn = dict(page.evaluate("() => window.gaiaRun.graph().drawnLabels"))
    assert drawn == final["tasks"]
    # Coloured by status: a completed node is green, a failed one red, a skipped one grey.
    red, green, _blue, _alpha = node_pixel(page, "e2e")
    assert red > green
    red, green, _blue, _alpha = node_pixel(page, "build")
    assert green > red
    # The status in words, where a screen reader finds it: the task list.
    for key, status in final["tasks"].items():
        expect(task_option(page, key, status)).to_be_visible()
    expect(page.get_by_label("Run status")).to_contain_text("failed")
    expect(page.get_by_role("img", name=re.compile("Graph of 7 tasks in 6 layers"))).to_be_visible()
    # The timeline: a row per task that ran; the flaky unit tests as two attempts.
    expect(page.locator(".gantt-canvas[data-rows='6']")).to_be_attached()
    attempts = page.evaluate("() => window.gaiaRun.gantt.attemptsOf('unit').map(a => a.status)")
    assert attempts == ["failed", "completed"]

    # Select the failed task: its status, exit code, error and log.
    task_option(page, "e2e", "failed").click()
    panel = page.get_by_role("complementary", name="Selected task")
    expect(panel.get_by_role("heading", name="e2e")).to_be_visible()
    expect(panel.locator(".task-status")).to_have_text("Status failed")
    expect(panel.locator("dl.facts")).to_contain_text("Exit code3")
    expect(panel.get_by_label("Log of e2e")).to_contain_text("e2e: 1 failed")

    # Retry it once it can pass: it and the task it held back run; the page follows.
    (workdir / "fixed").touch()
    panel.get_by_role("button", name="Retry task").click()
    done = wait_run(dashboard.server, run_id, {"completed", "failed"})
    assert done["status"] == "completed", done
    expect(task_option(page, "e2e", "completed")).to_be_visible()
    expect(task_option(page, "publish", "completed")).to_be_visible()
    expect(panel.get_by_label("Log of e2e")).to_contain_text("e2e: all passed")
    expect(panel.locator("table.attempts tbody tr")).to_have_count(2)
    expect(page.get_by_label("Run status")).to_contain_text("completed")
    detail = api(dashboard.server, "GET", f"/workflows/{run_id}/tasks/e2e")
    assert [e["status"] for e in detail["executions"]] == ["failed", "completed"]
    lint = api(dashboard.server, "GET", f"/workflows/{run_id}/tasks/lint")
    assert lint["attempts"] == 1  # what had completed did not run again
    dashboard.shot("run")


def test_a_status_change_and_a_running_tasks_log_arrive_live(
    dashboard: Dashboard, workdir: Path
) -> None:
    run_id = create_run(
        dashboard.server,
        """
        name: gated
        tasks:
          - id: gate
            command: >-
              echo waiting for the gate; while [ ! -f open ]; do sleep 0.1; done;
              echo "the gate opened"
          - {id: after, command: 'echo after the gate', dependencies: [gate]}
        """,
        workdir,
        start=True,
    )
    wait_run(dashboard.server, run_id, {"running"})
    page = open_run(dashboard, run_id, task="gate")
    page.evaluate("() => { window.notReloaded = true; }")
    panel = page.get_by_role("complementary", name="Selected task")
    log = panel.get_by_label("Log of gate")
    expect(log).to_contain_text("waiting for the gate")
    expect(task_option(page, "gate", "running")).to_be_visible()
    expect(task_option(page, "after", "pending")).to_be_visible()

    (workdir / "open").touch()
    expect(log).to_contain_text("the gate opened")  # a line written while the page watched
    expect(panel.locator(".task-status")).to_have_text("Status completed")
    expect(task_option(page, "after", "completed")).to_be_visible()
    expect(page.get_by_label("Run status")).to_contain_text("completed")
    assert page.evaluate("() => window.notReloaded") is True
    # One stream all along (the sign-in's Overview had its own, before).
    streams = [u for u in dashboard.guard.requests if "/events?watch=run" in u]
    assert len(streams) == 1, streams


def test_stop_and_resume_do_what_they_say(dashboard: Dashboard, workdir: Path) -> None:
    run_id = create_run(
        dashboard.server,
        """
        name: long
        tasks:
          - {id: wait, command: 'echo sleeping; sleep 60'}
        """,
        workdir,
        start=True,
    )
    wait_run(dashboard.server, run_id, {"running"})
    page = open_run(dashboard, run_id)
    page.get_by_role("button", name="Stop run").click()
    stopped = wait_run(dashboard.server, run_id, {"cancelled"})
    assert stopped["tasks"]["wait"] == "cancelled"
    expect(page.get_by_label("Run status")).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Stop run")).to_be_hidden()

    page.get_by_role("button", name="Resume run").click()
    resumed = wait_run(dashboard.server, run_id, {"running"})
    assert resumed["tasks"]["wait"] in ("pending", "running")
    expect(task_option(page, "wait", "running")).to_be_visible()
    page.get_by_role("button", name="Stop run").click()
    wait_run(dashboard.server, run_id, {"cancelled"})
    attempts = api(dashboard.server, "GET", f"/workflows/{run_id}/attempts")
    assert [a["attempt"] for a in attempts] == [1, 2]


def test_retry_is_offered_only_for_a_failed_task_of_a_run_that_ended(
    dashboard: Dashboard, workdir: Path
) -> None:
    run_id = create_run(
        dashboard.server,
        """
        name: broken
        tasks:
          - {id: ok, command: 'true'}
          - {id: bad, command: 'echo broken >&2; exit 5', dependencies: [ok]}
        """,
        workdir,
        start=True,
    )
    wait_run(dashboard.server, run_id, {"failed"})
    page = open_run(dashboard, run_id, task="ok")
    panel = page.get_by_role("complementary", name="Selected task")
    expect(panel.get_by_role("heading", name="ok")).to_be_visible()
    expect(panel.get_by_role("button", name="Retry task")).to_have_count(0)
    task_option(page, "bad", "failed").click()
    expect(panel.get_by_label("Log of bad")).to_contain_text("broken")
    expect(panel.get_by_role("button", name="Retry task")).to_be_visible()
    with dashboard.server.client() as client:
        refused = client.post(f"/api/orchestration/workflows/{run_id}/tasks/ok/retry")
    assert refused.status_code == 409
    assert "not failed" in refused.json()["error"]["message"]


def test_the_selected_task_is_in_the_url_and_back_works(
    dashboard: Dashboard, workdir: Path
) -> None:
    run_id = create_run(
        dashboard.server,
        """
        name: three
        tasks:
          - {id: one, command: 'echo first'}
          - {id: two, command: 'echo second', dependencies: [one]}
          - {id: three, command: 'echo third', dependencies: [two]}
        """,
        workdir,
        start=True,
    )
    wait_run(dashboard.server, run_id, {"completed"})
    page = open_run(dashboard, run_id)
    panel = page.get_by_role("complementary", name="Selected task")
    task_option(page, "one", "completed").click()
    expect(page).to_have_url(re.compile(r"\?task=one$"))
    expect(panel.get_by_label("Log of one")).to_contain_text("first")
    task_option(page, "three", "completed").click()
    expect(page).to_have_url(re.compile(r"\?task=three$"))
    expect(panel.get_by_label("Log of three")).to_contain_text("third")

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?task=one$"))
    expect(panel.get_by_role("heading", name="one")).to_be_visible()
    expect(panel.get_by_label("Log of one")).to_contain_text("first")
    listbox = page.get_by_role("listbox", name="Tasks and their statuses")
    expect(listbox.get_by_role("option", selected=True)).to_have_text(re.compile("^one"))
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/workflows/{run_id}$"))
    expect(panel).to_contain_text("Select a task")
    page.go_forward()
    expect(panel.get_by_role("heading", name="one")).to_be_visible()


def test_a_2000_task_run_becomes_usable(dashboard: Dashboard, workdir: Path) -> None:
    run_id = create_run(dashboard.server, wide_dag(2000), workdir)  # pending: laid out all the same
    page = dashboard.goto(f"/workflows/{run_id}")
    expect(page.locator("main[data-ready]")).to_be_attached(timeout=USABLE_BOUND_MS)
    page.get_by_label("Find a task by id").fill("t1999")
    option = task_option(page, "t1999", "pending")
    expect(option).to_be_visible(timeout=USABLE_BOUND_MS)
    option.click()
    panel = page.get_by_role("complementary", name="Selected task")
    expect(panel.get_by_role("heading", name="t1999")).to_be_visible(timeout=USABLE_BOUND_MS)
    expect(panel.locator(".task-status")).to_have_text("Status pending")
    expect(panel.get_by_label("Log of t1999")).to_have_attribute("data-loaded", "1")
    # The virtualised list holds a screenful of rows, not 2,000.
    page.get_by_label("Find a task by id").fill("")
    assert page.locator("[role=option]").count() < 100
    expect(page.get_by_text("2000 tasks", exact=True)).to_be_visible()
    dashboard.shot("run-2000")


def node_centre(page: Page, key: str) -> tuple[float, float]:
    """Where ``key``'s node is on the screen (page coordinates)."""
    x, y = page.evaluate(
        """(key) => {
          const graph = window.gaiaRun.graph();
          const node = graph.byId.get(key), v = graph.view;
          const rect = graph.canvas.getBoundingClientRect();
          return [rect.left + (node.x + graph.nodeW / 2) * v.scale + v.x,
                  rect.top + (node.y + graph.nodeH / 2) * v.scale + v.y];
        }""",
        key,
    )
    return float(x), float(y)


def test_a_click_on_a_node_selects_it_and_the_graph_pans_and_zooms(
    dashboard: Dashboard, workdir: Path
) -> None:
    run_id = create_run(
        dashboard.server,
        """
        name: pair
        tasks:
          - {id: left, command: 'echo from the left'}
          - {id: right, command: 'echo from the right', dependencies: [left]}
        """,
        workdir,
        start=True,
    )
    wait_run(dashboard.server, run_id, {"completed"})
    page = open_run(dashboard, run_id)
    panel = page.get_by_role("complementary", name="Selected task")
    page.mouse.click(*node_centre(page, "right"))
    expect(page).to_have_url(re.compile(r"\?task=right$"))
    expect(panel.get_by_label("Log of right")).to_contain_text("from the right")

    scale = page.evaluate("() => window.gaiaRun.graph().view.scale")
    x, y = node_centre(page, "left")
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)  # zoom in, around the pointer
    zoomed = page.evaluate("() => window.gaiaRun.graph().view.scale")
    assert zoomed > scale
    # The node under the pointer stayed under it: a click there still finds it.
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(r"\?task=left$"))
    before = node_centre(page, "left")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 30, steps=4)
    page.mouse.up()  # a drag pans and selects nothing
    after = node_centre(page, "left")
    assert round(after[0] - before[0]) == 60 and round(after[1] - before[1]) == 30
    expect(page).to_have_url(re.compile(r"\?task=left$"))
    page.get_by_role("button", name="Fit graph").click()
    assert page.evaluate("() => window.gaiaRun.graph().view.scale") == scale
