"""The Agents views in a real browser on a real daemon, with shell-script agents.

The agents are `command` agents registered through `POST /agents`: one edits a file of a
real git repository and commits (worktree isolation, so the task page shows a coloured
diff), others block on a flag file so the test decides when they go on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.agents.model_stub import ModelStub, claude_env, directive
from tests.agents.support import agent_processes, git, kill_leftover_agents
from tests.api.test_workflows_api import Server, gaia_env, start_server, stop_server_checked
from tests.dashboard.conftest import ROOT, Dashboard, api
from tests.helpers import wait_until

CLAUDE = ROOT / "tools" / "agent-clis" / "node_modules" / ".bin" / "claude"

# Edits README.md, adds NOTES.md, commits on the task's branch, and says so.
EDIT = (
    'printf "hello\\nedited by the agent\\n" > README.md; '
    'printf "a new file\\nfrom the agent\\n" > NOTES.md; '
    "git add -A && git -c user.name=agent -c user.email=agent@localhost commit -qm 'agent: edit'; "
    'echo "edited README.md: $0"'
)
# Says one line, waits for the flag file named by its prompt, says another, then sleeps.
WAIT = (
    'echo "first line"; while [ ! -e "$0" ]; do sleep 0.05; done; echo "second line"; exec sleep 60'
)

# Waits for the flag file named by its prompt's last line, then ends.
WAIT_THEN_END = (
    'flag=$(printf "%s" "$0" | tail -n 1); echo "waiting for $flag"; '
    'while [ ! -e "$flag" ]; do sleep 0.05; done; echo "went on"'
)

AGENTS: dict[str, dict[str, Any]] = {
    "editor": {"command": ["sh", "-c", EDIT, "{prompt}"]},
    "waiter": {"command": ["sh", "-c", WAIT, "{prompt}"], "max_concurrency": 4},
    "single": {"command": ["sh", "-c", WAIT_THEN_END, "{prompt}"], "max_concurrency": 1},
    "ghost": {"command": ["/nonexistent/gaia-ghost-agent", "{prompt}"]},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The module's daemon, without the caller's Claude settings (the real Claude Code
    CLI talks to the model stub only)."""
    home = tmp_path_factory.mktemp("agents-view") / "gaia-home"
    home.mkdir()
    env = gaia_env(home)
    env = {k: v for k, v in env.items() if not k.startswith(("CLAUDE", "ANTHROPIC_"))}
    srv = start_server(home, env)
    try:
        yield srv
        stop_server_checked(srv)
    finally:
        srv.kill()
        kill_leftover_agents(home)


@pytest.fixture(scope="module")
def agents(server: Server) -> dict[str, Any]:
    """The test agents, registered once for the module's daemon."""
    return {
        name: api(server, "POST", "/agents", json={"id": name, **table})
        for name, table in AGENTS.items()
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "README.md").write_text("hello\nworld\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


@pytest.fixture
def flags(tmp_path: Path) -> Path:
    path = tmp_path / "flags"
    path.mkdir()
    return path


def queue(server: Server, agent: str, prompt: str, work_dir: Path, **fields: Any) -> dict[str, Any]:
    body = {"agent": agent, "instruction": prompt, "work_dir": str(work_dir), "wait": False}
    body.setdefault("task_type", "review")
    body.update(fields)
    task: dict[str, Any] = api(server, "POST", "/agents/execute", json=body)
    return task


def task_status(server: Server, task_id: str) -> str:
    return str(api(server, "GET", f"/agents/tasks/{task_id}")["status"])


def wait_status(
    server: Server, task_id: str, *statuses: str, timeout: float = 30
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        task: dict[str, Any] = api(server, "GET", f"/agents/tasks/{task_id}")
        return task if task["status"] in statuses else None

    found: dict[str, Any] = wait_until(check, timeout, 0.1, f"task {task_id} to be {statuses}")
    return found


@pytest.fixture
def cleanup(server: Server) -> Iterator[list[str]]:
    """Task ids to cancel at the end if they are still queued or running."""
    ids: list[str] = []
    yield ids
    for task_id in ids:
        if task_status(server, task_id) in ("queued", "running"):
            api(server, "POST", f"/agents/tasks/{task_id}/cancel")


def test_the_task_page_shows_the_result_and_the_diff_and_retry_queues_anew(
    dashboard: Dashboard, server: Server, agents: dict[str, Any], repo: Path
) -> None:
    task = queue(server, "editor", "Edit the README", repo, task_type="code")
    assert task["isolation"] == "worktree"
    done = wait_status(server, task["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done

    page = dashboard.goto(f"/agents/tasks/{task['id']}")
    expect(page.locator("#task-head .badge")).to_have_text("succeeded")
    expect(page.locator("#task-prompt")).to_have_text("Edit the README")
    expect(page.locator("#task-output")).to_contain_text("edited README.md: Edit the README")
    expect(page.locator("#result-output")).to_contain_text("edited README.md")
    result = page.locator("#task-result")
    expect(result).to_contain_text(f"gaia/{task['id']}")
    expect(result.locator("dd").nth(1)).to_have_text("0")  # the exit code
    # The diff: coloured additions and removals, file headers, hunks.
    diff = page.locator("#diff-text")
    expect(diff.locator("span.add", has_text="+edited by the agent")).to_be_visible()
    expect(diff.locator("span.del", has_text="-world")).to_be_visible()
    expect(diff.locator("span.add", has_text="+from the agent")).to_be_visible()
    expect(diff.locator("span.meta", has_text="diff --git a/NOTES.md b/NOTES.md")).to_be_visible()
    expect(diff.locator("span.hunk").first).to_be_visible()
    colours = page.evaluate(
        """() => ['add', 'del'].map((c) =>
            getComputedStyle(document.querySelector(`#diff-text span.${c}`)).color)"""
    )
    assert colours[0] != colours[1]
    assert "rgb(31, 122, 76)" in colours[0]  # green additions
    expect(page.locator("#diff-panel")).to_contain_text("2 files, +3 -1")
    # The output, the result and the whole diff in view (the header bar is 48 px).
    page.locator("#output-panel").evaluate("(el) => scrollTo(0, el.offsetTop - 60)")
    dashboard.shot("agent-task")

    # Retry: a new task with the same request; the page follows it.
    page.get_by_role("button", name="Retry").click()
    expect(page).not_to_have_url(re.compile(re.escape(task["id"]) + "$"))
    new_id = page.url.rsplit("/", 1)[-1]
    fresh = api(server, "GET", f"/agents/tasks/{new_id}")
    assert fresh["retry_of"] == task["id"]
    assert (fresh["instruction"], fresh["agent"], fresh["work_dir"]) == (
        "Edit the README",
        "editor",
        str(repo),
    )
    expect(page.locator("#task-head")).to_contain_text("retry of")
    expect(page.locator("#task-head .badge")).to_have_text("succeeded")
    expect(page.locator("#diff-text span.add", has_text="+edited by the agent")).to_be_visible()
    # Back goes to the first task's page, without a reload.
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(task["id"]) + "$"))
    expect(page.locator("#task-details")).to_contain_text(task["id"])


def test_output_follows_live_and_cancel_kills_the_agent(
    dashboard: Dashboard,
    server: Server,
    agents: dict[str, Any],
    flags: Path,
    cleanup: list[str],
) -> None:
    flag = flags / "go"
    task = queue(server, "waiter", str(flag), flags, isolation="none")
    cleanup.append(task["id"])
    page = dashboard.goto(f"/agents/tasks/{task['id']}")
    output = page.locator("#task-output")
    expect(output).to_contain_text("first line")
    expect(page.locator("#task-head .badge")).to_have_text("running")
    expect(output).not_to_contain_text("second line")
    flag.touch()
    expect(output).to_contain_text("second line")  # appended live, no reload
    expect(page.locator("#diff-panel")).to_contain_text("isolation none")
    wait_until(lambda: agent_processes(task["id"]), 10, 0.05, "the agent's processes")

    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#task-head .badge")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert task_status(server, task["id"]) == "cancelled"
    wait_until(lambda: not agent_processes(task["id"]), 10, 0.05, "the agent to be gone")


def test_the_board_shows_adapters_the_queue_by_priority_and_the_tasks(
    dashboard: Dashboard,
    server: Server,
    agents: dict[str, Any],
    flags: Path,
    cleanup: list[str],
) -> None:
    page = dashboard.goto("/agents")
    # Availability, with the reason when an agent cannot run.
    ghost = page.locator('#adapters tr[data-agent="ghost"]')
    expect(ghost.locator(".badge")).to_have_text("unavailable")
    expect(ghost).to_contain_text("'/nonexistent/gaia-ghost-agent' not found")
    expect(page.locator('#adapters tr[data-agent="editor"] .badge')).to_have_text("available")
    single = page.locator('#adapters tr[data-agent="single"]')
    expect(single.locator("td[data-slots]")).to_have_attribute("data-slots", "0/1")

    # A concurrency-1 agent busy: what is queued behind it waits in priority order.
    busy = queue(server, "single", f"Run the test suite\n{flags / 'busy'}", flags)
    cleanup.append(busy["id"])
    expect(single.locator("td[data-slots]")).to_have_attribute("data-slots", "1/1")
    labels = {
        "low-1": (1, "Tidy the changelog"),
        "high-1": (5, "Fix the failing login test"),
        "mid": (3, "Review the storage layer"),
        "high-2": (5, "Fix the crash on empty input"),
        "low-2": (1, "Rename the helpers module"),
    }
    queued = {}
    for label, (priority, what) in labels.items():
        prompt = f"{what} ({label})\n{flags / label}"
        queued[label] = queue(server, "single", prompt, flags, priority=priority)
        cleanup.append(queued[label]["id"])
    rows = page.locator("#queue tbody tr")
    expected = ["high-1", "high-2", "mid", "low-1", "low-2"]
    expect(rows).to_have_count(len(expected))
    in_order = [
        re.compile(re.escape(f"{labels[label][1]} ({label}) {flags}")) for label in expected
    ]
    expect(rows.locator("td.prompt")).to_have_text(in_order)
    expect(rows.locator("td:nth-child(2)")).to_have_text(["5", "5", "3", "1", "1"])
    expect(page.locator("#queue-note")).to_have_text("5 queued.")
    expect(single.locator("td").nth(3)).to_have_text("5")  # its queued column

    # The tasks list: status, agent, prompt, and a link to each task's page.
    row = page.locator(f'#tasks tr[data-task="{busy["id"]}"]')
    expect(row.locator(".badge")).to_have_text("running")
    expect(row).to_contain_text("single")
    figures = page.locator("#agent-figures")
    expect(figures.locator('[data-figure="running"] .figure')).not_to_have_text("0")
    dashboard.shot("agents")

    # Cancel from the queue: the row goes, and the API says so.
    page.get_by_role("button", name=f"Cancel task {queued['mid']['id'][:8]}").click()
    expect(rows).to_have_count(4)
    assert task_status(server, queued["mid"]["id"]) == "cancelled"

    # Releasing the busy task starts the best queued one: high-1.
    (flags / "busy").touch()
    expect(rows).to_have_count(3)
    expect(rows.first.locator("td.prompt")).to_contain_text("(high-2)")
    assert task_status(server, queued["high-1"]["id"]) == "running"

    # The status filter has its own URL and keeps the one stream.
    page.get_by_label("Show tasks of status").select_option("cancelled")
    expect(page).to_have_url(re.compile(r"/agents\?status=cancelled$"))
    expect(page.locator('#tasks tbody tr[data-status="cancelled"]')).not_to_have_count(0)
    expect(
        page.locator('#tasks tbody tr[data-status]:not([data-status="cancelled"])')
    ).to_have_count(0)
    page.locator(f'#tasks a[title="{queued["mid"]["id"]}"]').click()
    expect(page).to_have_url(re.compile(f"/agents/tasks/{queued['mid']['id']}$"))
    expect(page.locator("#task-head .badge")).to_have_text("cancelled")


def test_the_form_queues_a_task_and_shows_problems(
    dashboard: Dashboard, server: Server, agents: dict[str, Any], repo: Path
) -> None:
    page = dashboard.goto("/agents")
    form = page.get_by_role("form", name="Queue a task")
    expect(form.locator('#new-agent option[value="ghost"]')).to_be_disabled()
    form.get_by_label("Agent").select_option("editor")
    form.get_by_label("Prompt").fill("Edit from the form")
    form.get_by_label("Priority").fill("7")
    form.get_by_label("Work dir").fill(str(repo / "missing"))
    form.get_by_role("button", name="Queue task").click()
    expect(form.locator("#new-problems")).to_contain_text("is not a directory")

    form.get_by_label("Work dir").fill(str(repo))
    form.get_by_role("button", name="Queue task").click()
    link = form.locator("#new-done a")
    expect(link).to_be_visible()
    task_id = str(link.get_attribute("title"))
    task = api(server, "GET", f"/agents/tasks/{task_id}")
    assert (task["agent"], task["instruction"], task["priority"]) == (
        "editor",
        "Edit from the form",
        7,
    )
    assert task["work_dir"] == str(repo)
    row = page.locator(f'#tasks tr[data-task="{task_id}"]')
    expect(row.locator(".badge")).to_have_text("succeeded")
    link.click()
    expect(page.locator("#diff-text span.add", has_text="+edited by the agent")).to_be_visible()


def test_an_unknown_task_says_so(dashboard: Dashboard, agents: dict[str, Any]) -> None:
    missing = str(uuid.uuid4())
    page = dashboard.goto(f"/agents/tasks/{missing}")
    expect(page.locator("#task-error")).to_contain_text(f"agent task '{missing}' not found")


@pytest.mark.skipif(
    not CLAUDE.exists(),
    reason="agent CLIs not installed: run tools/agent-clis/install.sh (make test does)",
)
def test_a_real_claude_code_task_shows_what_it_did_and_its_cost(
    dashboard: Dashboard, server: Server, agents: dict[str, Any], repo: Path, tmp_path: Path
) -> None:
    """The real Claude Code CLI, pointed at the model stub: its events said in words, its
    tokens and cost, and the file it wrote in the diff."""
    with ModelStub() as stub:
        env = claude_env(stub.url, tmp_path / "claude-home")
        table = {"kind": "claude", "command": [str(CLAUDE)], "env": env, "max_turns": 5}
        api(server, "POST", "/agents", json={"id": "claude-stub", "replace": True, **table})
        prompt = "Write the greeting.\n" + directive(
            "greeting.txt", "hello from claude", "all done"
        )
        task = queue(server, "claude-stub", prompt, repo, task_type="code", timeout=180)
        done = wait_status(server, task["id"], "succeeded", "failed", timeout=200)
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert result["cost_usd"] is not None and result["input_tokens"]
    page = dashboard.goto(f"/agents/tasks/{task['id']}")
    events = page.locator("#task-events")
    expect(events).to_contain_text("tool Write(")
    expect(events).to_contain_text("result: success")
    expect(page.locator("#task-output")).to_be_hidden()
    page.get_by_role("button", name="Show raw output").click()
    expect(page.locator("#task-output")).to_contain_text('"type":"result"')
    facts = page.locator("#task-result")
    cost = result["cost_usd"]
    expect(facts).to_contain_text(f"${cost:.4f}" if cost < 0.01 else f"${cost:.2f}")
    expect(facts).to_contain_text(f"{result['input_tokens']} in · {result['output_tokens']} out")
    expect(page.locator("#result-output")).to_have_text("all done")
    expect(page.locator("#diff-text span.add", has_text="+hello from claude")).to_be_visible()
    page.get_by_role("button", name="Show summary").click()
    expect(events).to_be_visible()
    dashboard.shot("agent-task-claude")
