// Agents: every adapter (availability, slots, figures), the queue by priority, the latest
// tasks and a form to queue one. Live through the page's one stream (watch "agents").
import { api, h, show, view, live, badge, button, toast, duration, since, when, ago, problems } from "../gaia.js";
import { money, tokens, taskLink, shortId, tick } from "./agents_common.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"];

const cards = h("div", { class: "cards", id: "agent-figures", "aria-label": "Statistics" });
const adapters = h("tbody");
const queueBody = h("tbody");
const queueNote = h("p", { class: "muted", id: "queue-note" });
const tasksBody = h("tbody");
const tasksNote = h("p", { class: "muted", id: "tasks-note" });
const statusFilter = h("select", { id: "task-status", "aria-label": "Show tasks of status" },
  h("option", { value: "" }, "all statuses"),
  STATUSES.map((s) => h("option", { value: s }, s)));
const agentChoice = h("select", { id: "new-agent", name: "agent" });
const form = queueForm();

show(view,
  cards,
  h("section", { class: "panel", id: "adapters" },
    h("h2", {}, "Adapters"),
    h("table", { "aria-label": "Adapters" },
      h("thead", {}, h("tr", {},
        ["Agent", "Kind", "Availability", "Slots", "Queued", "Success", "Mean duration", "Tokens in / out", "Cost", "Takes"]
          .map((name, i) => h("th", { scope: "col", class: i >= 3 && i <= 8 ? "num" : null }, name)))),
      adapters)),
  h("div", { class: "grid2" },
    h("section", { class: "panel", id: "queue" },
      h("h2", {}, "Queue"),
      h("p", { class: "muted small" }, "Queued tasks in the order they start: highest priority first, then first queued."),
      h("table", { "aria-label": "Queue" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col", class: "num" }, "#"),
          h("th", { scope: "col", class: "num" }, "Priority"),
          h("th", { scope: "col" }, "Task"),
          h("th", { scope: "col" }, "Agent"),
          h("th", { scope: "col" }, "Prompt"),
          h("th", { scope: "col" }, "Queued"),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        queueBody),
      queueNote),
    form),
  h("section", { class: "panel", id: "tasks" },
    h("div", { class: "toolbar" }, h("h2", {}, "Tasks"), h("span", { class: "spacer" }),
      h("label", { class: "inline" }, "Status", statusFilter)),
    h("table", { "aria-label": "Tasks" },
      h("thead", {}, h("tr", {},
        ["Task", "Status", "Agent", "Prompt", "Created", "Duration", "Cost"]
          .map((name, i) => h("th", { scope: "col", class: i >= 5 ? "num" : null }, name)))),
      tasksBody),
    tasksNote));

function figure(label, value, detail, id) {
  return h("div", { class: "card", "data-figure": id },
    h("div", { class: "label" }, label),
    h("div", { class: "figure" }, String(value)),
    h("div", { class: "muted" }, detail));
}

function drawFigures(board) {
  const stats = [...board.agents.map((a) => a.stats).filter(Boolean), ...board.former];
  const sum = (key) => stats.reduce((n, s) => n + (s[key] || 0), 0);
  const succeeded = sum("succeeded"), failed = sum("failed");
  const decided = succeeded + failed;
  const timed = stats.filter((s) => s.mean_duration_ms !== null);
  // The mean of the agents' means, weighted by how many finished tasks each had.
  const weight = timed.reduce((n, s) => n + s.total, 0);
  const mean = weight ? timed.reduce((n, s) => n + s.mean_duration_ms * s.total, 0) / weight : null;
  const cost = sum("cost_usd");
  show(cards,
    figure("Tasks finished", sum("total"), `${succeeded} succeeded · ${failed} failed · ${sum("cancelled")} cancelled`, "finished"),
    figure("Success rate", decided ? `${Math.round((100 * succeeded) / decided)}%` : "-", decided ? `of ${decided} decided` : "no task finished yet", "success"),
    figure("Running", sum("active"), `${board.queued} queued`, "running"),
    figure("Mean duration", mean === null ? "-" : duration(mean / 1000), "per finished task", "duration"),
    figure("Tokens", tokens(sum("input_tokens") + sum("output_tokens")), `${tokens(sum("input_tokens"))} in · ${tokens(sum("output_tokens"))} out`, "tokens"),
    figure("Cost", cost ? money(cost) : "-", cost ? "where the agent reports it" : "no agent reported a cost", "cost"));
}

function slots(agent) {
  const running = agent.stats ? agent.stats.active : 0;
  const max = agent.max_concurrency;
  const bar = h("span", { class: "slots", "aria-hidden": "true" });
  for (let i = 0; i < Math.min(max, 16); i++) bar.append(h("span", { class: i < running ? "slot used" : "slot" }));
  return h("td", { class: "num", "data-slots": `${running}/${max}` }, bar, ` ${running}/${max}`);
}

function drawAdapters(board) {
  if (!board.agents.length) {
    show(adapters, h("tr", {}, h("td", { colspan: 10, class: "muted" }, "No agent is registered.")));
    return;
  }
  show(adapters, board.agents.map((agent) => {
    const s = agent.stats;
    const state = agent.available ? "available" : "unavailable";
    return h("tr", { "data-agent": agent.id, class: agent.available ? null : "unavailable" },
      h("th", { scope: "row", title: agent.registered ? `${agent.source} agent` : "built-in, not registered" }, agent.id),
      h("td", {}, agent.kind, " ", h("span", { class: "muted mono small exe", title: agent.command.join(" ") }, agent.executable || agent.command[0] || "")),
      h("td", {}, badge(state), agent.reason ? h("span", { class: "reason" }, agent.reason) : null),
      slots(agent),
      h("td", { class: "num" }, s ? s.queued : 0),
      h("td", { class: "num", title: s ? `${s.succeeded} succeeded of ${s.succeeded + s.failed} decided` : null },
        s && s.success_rate !== null ? `${Math.round(100 * s.success_rate)}%` : "-"),
      h("td", { class: "num" }, s && s.mean_duration_ms !== null ? duration(s.mean_duration_ms / 1000) : "-"),
      h("td", { class: "num" }, s ? `${tokens(s.input_tokens)} / ${tokens(s.output_tokens)}` : "-"),
      h("td", { class: "num" }, s && s.cost_usd ? money(s.cost_usd) : "-"),
      h("td", { class: "small takes" }, agent.capabilities.join(", ")));
  }));
}

async function cancel(id) {
  await api(`/agents/tasks/${encodeURIComponent(id)}/cancel`, { method: "POST" });
  toast(`Task ${shortId(id)} cancelled`);
}

function drawQueue(board) {
  if (!board.queue.length) {
    show(queueBody, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "The queue is empty.")));
  } else {
    show(queueBody, board.queue.map((task, i) =>
      h("tr", { "data-task": task.id },
        h("td", { class: "num" }, i + 1),
        h("td", { class: "num" }, task.priority),
        h("td", {}, taskLink(task.id)),
        h("td", {}, task.agent),
        h("td", { class: "prompt", title: task.prompt }, task.prompt),
        h("td", { title: when(task.created_at) }, h("span", { "data-ago": task.created_at }, ago(task.created_at))),
        h("td", {}, button("Cancel", () => cancel(task.id), { class: "danger small", "aria-label": `Cancel task ${shortId(task.id)}` })))));
  }
  queueNote.textContent = board.queued > board.queue.length
    ? `Showing the first ${board.queue.length} of ${board.queued} queued tasks.`
    : `${board.queued} queued.`;
}

function taskDuration(task) {
  if (task.duration_ms !== null && task.duration_ms !== undefined) return duration(task.duration_ms / 1000);
  if (task.started_at && task.finished_at) return duration(since(task.started_at, task.finished_at));
  if (task.started_at) return h("span", { "data-since": task.started_at }, duration(since(task.started_at)));
  return "-";
}

function drawTasks(board) {
  if (!board.tasks.length) {
    const what = board.status ? `No ${board.status} task.` : "No task yet: queue one with the form above, or `gaia agent run`.";
    show(tasksBody, h("tr", {}, h("td", { colspan: 7, class: "muted" }, what)));
  } else {
    show(tasksBody, board.tasks.map((task) =>
      h("tr", { "data-task": task.id, "data-status": task.status },
        h("td", {}, taskLink(task.id)),
        h("td", {}, badge(task.status)),
        h("td", {}, task.agent),
        h("td", { class: "prompt", title: task.error ? `${task.prompt}\n${task.error}` : task.prompt }, task.prompt,
          task.error ? h("div", { class: "error small" }, task.error) : null),
        h("td", { title: when(task.created_at) }, h("span", { "data-ago": task.created_at }, ago(task.created_at))),
        h("td", { class: "num" }, taskDuration(task)),
        h("td", { class: "num" }, task.cost_usd ? money(task.cost_usd) : "-"))));
  }
  tasksNote.textContent = board.total > board.tasks.length
    ? `Showing the latest ${board.tasks.length} of ${board.total} tasks.`
    : `${board.total} task${board.total === 1 ? "" : "s"}.`;
}

function drawAgentChoice(board) {
  const chosen = agentChoice.value;
  show(agentChoice,
    h("option", { value: "auto" }, "auto (least busy that fits)"),
    board.agents.filter((a) => a.registered).map((a) =>
      h("option", { value: a.id, disabled: !a.available }, a.available ? a.id : `${a.id} (unavailable)`)));
  if ([...agentChoice.options].some((o) => o.value === chosen)) agentChoice.value = chosen;
}

function queueForm() {
  const prompt = h("textarea", { id: "new-prompt", name: "instruction", rows: 4, required: true, placeholder: "What the agent should do" });
  const type = h("select", { id: "new-type", name: "task_type" },
    ["code", "review", "refactor", "test", "shell"].map((t) => h("option", { value: t }, t)));
  const priority = h("input", { id: "new-priority", name: "priority", type: "number", value: "0", min: "-1000", max: "1000", step: "1" });
  const workDir = h("input", { id: "new-workdir", name: "work_dir", type: "text", placeholder: "/absolute/path (default: the daemon's)", class: "mono" });
  const isolation = h("select", { id: "new-isolation", name: "isolation" },
    h("option", { value: "" }, "default (worktree for code, refactor)"),
    h("option", { value: "worktree" }, "worktree"),
    h("option", { value: "none" }, "none (in place)"));
  const errors = h("ul", { class: "problems", id: "new-problems" });
  const done = h("p", { id: "new-done", role: "status" });
  const el = h("form", { class: "panel", id: "new-task", "aria-label": "Queue a task" },
    h("h2", {}, "Queue a task"),
    h("div", { class: "form-grid" },
      h("label", { for: "new-agent" }, "Agent"), agentChoice,
      h("label", { for: "new-type" }, "Type"), type,
      h("label", { for: "new-prompt" }, "Prompt"), prompt,
      h("label", { for: "new-priority" }, "Priority"), priority,
      h("label", { for: "new-workdir" }, "Work dir"), workDir,
      h("label", { for: "new-isolation" }, "Isolation"), isolation),
    errors,
    h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Queue task"), done));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = el.querySelector("button[type=submit]");
    submit.disabled = true;
    show(errors);
    done.textContent = "";
    const body = {
      agent: agentChoice.value || "auto",
      instruction: prompt.value,
      task_type: type.value,
      priority: Number(priority.value || 0),
      wait: false,
    };
    if (workDir.value.trim()) body.work_dir = workDir.value.trim();
    if (isolation.value) body.isolation = isolation.value;
    try {
      const task = await api("/agents/execute", { method: "POST", body });
      show(done, "Queued ", taskLink(task.id), ".");
      prompt.value = "";
    } catch (error) {
      show(errors, problems(error).map((line) => h("li", {}, line)));
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

function draw(data) {
  drawFigures(data);
  drawAdapters(data);
  drawQueue(data);
  drawTasks(data);
  drawAgentChoice(data);
}

function watches() {
  const status = new URLSearchParams(location.search).get("status") || "";
  statusFilter.value = STATUSES.includes(status) ? status : "";
  // Until the stream sends the list of the new filter, the old one is not shown as it.
  show(tasksBody, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "Loading…")));
  tasksNote.textContent = "";
  return [statusFilter.value ? `agents:${statusFilter.value}` : "agents"];
}

const stream = live(watches(), { agents: draw });
statusFilter.addEventListener("change", () => {
  const url = new URL(location.href);
  if (statusFilter.value) url.searchParams.set("status", statusFilter.value);
  else url.searchParams.delete("status");
  history.pushState(null, "", url);
  stream.set(watches());
});
addEventListener("popstate", () => stream.set(watches()));
tick();
