// One agent task: its prompt, status, live output, result and the diff of its worktree,
// with Cancel and Retry. Live through the page's one stream (watch "agent_task:ID").
import { api, h, show, view, main, live, badge, button, toast, duration, since, when, title } from "../gaia.js";
import { money, tokens, taskLink, shortId, tick } from "./agents_common.js";

const MAX_DIFF_LINES = 20000; // drawn; the branch holds the rest
const MAX_OUTPUT_CHARS = 2_000_000; // kept in the page; older text is dropped first

const taskIdFromUrl = () => decodeURIComponent(location.pathname.split("/").pop());
let taskId = main.dataset.task || taskIdFromUrl();
let task = null;
let diffFor = null; // the status the diff was last fetched for
let outputChars = 0; // in the output box, counted rather than measured on each chunk

const head = h("div", { class: "toolbar", id: "task-head" });
const notice = h("div", { id: "task-notice" });
const details = h("dl", { class: "facts", id: "task-details" });
const prompt = h("pre", { class: "prompt-text", id: "task-prompt" });
const output = h("pre", { class: "log", id: "task-output", tabindex: "0", "aria-label": "Output" });
const outputNote = h("p", { class: "muted small", id: "output-note" });
// For an agent whose stdout is a JSONL event stream: what each event says, in words.
const summary = h("ol", { class: "agent-events", id: "task-events", "aria-label": "What the agent did", hidden: true });
let showRaw = false;
const rawToggle = h("button", { type: "button", id: "raw-toggle", hidden: true }, "Show raw output");
rawToggle.addEventListener("click", () => { showRaw = !showRaw; drawOutputMode(); });
function drawOutputMode() {
  const hasEvents = summary.childElementCount > 0;
  rawToggle.hidden = !hasEvents;
  rawToggle.textContent = showRaw ? "Show summary" : "Show raw output";
  summary.hidden = !hasEvents || showRaw;
  output.hidden = hasEvents && !showRaw;
}
const result = h("div", { id: "task-result" });
const diffBox = h("div", { id: "task-diff" });
const diffNote = h("span", { class: "muted small", id: "diff-note" });

show(view,
  head,
  notice,
  h("div", { class: "grid2" },
    h("section", { class: "panel" }, h("h2", {}, "Prompt"), prompt),
    h("section", { class: "panel" }, h("h2", {}, "Details"), details)),
  h("div", { class: "grid2" },
    h("section", { class: "panel", id: "output-panel" },
        h("div", { class: "toolbar" }, h("h2", {}, "Output"), h("span", { class: "spacer" }), outputNote, rawToggle),
      summary, output),
    h("section", { class: "panel", id: "result-panel" }, h("h2", {}, "Result"), result)),
  h("section", { class: "panel", id: "diff-panel" },
    h("div", { class: "toolbar" }, h("h2", {}, "Diff"), diffNote, h("span", { class: "spacer" }),
      button("Refresh diff", () => loadDiff(true))),
    diffBox));

function fact(name, ...value) {
  return [h("dt", {}, name), h("dd", {}, ...value)];
}

function elapsed(t) {
  if (t.result && t.result.duration_ms !== null) return duration(t.result.duration_ms / 1000);
  if (t.started_at && t.finished_at) return duration(since(t.started_at, t.finished_at));
  if (t.started_at) return h("span", { "data-since": t.started_at }, duration(since(t.started_at)));
  return "-";
}

async function cancel() {
  const done = await api(`/agents/tasks/${encodeURIComponent(taskId)}/cancel`, { method: "POST" });
  toast(`Task ${shortId(taskId)} is ${done.status}`);
}

async function retry() {
  const fresh = await api(`/agents/tasks/${encodeURIComponent(taskId)}/retry`, { method: "POST" });
  toast(`Retrying as task ${shortId(fresh.id)}`);
  history.pushState(null, "", `/agents/tasks/${encodeURIComponent(fresh.id)}`);
  open(fresh.id);
}

function drawHead(t) {
  const active = t.status === "queued" || t.status === "running";
  show(head,
    badge(t.status),
    h("span", { class: "muted" }, `${t.agent} · ${t.task_type} · priority ${t.priority}`),
    t.retry_of ? h("span", { class: "muted" }, "retry of ", taskLink(t.retry_of)) : null,
    h("span", { class: "spacer" }),
    h("a", { href: "/agents" }, "All agent tasks"),
    active ? button("Cancel", cancel, { class: "danger", id: "cancel" }) : null,
    active ? null : button("Retry", retry, { class: "primary", id: "retry" }));
}

function drawDetails(t) {
  show(details,
    fact("Task", h("span", { class: "mono" }, t.id)),
    fact("Agent", t.agent, t.requested_agent !== t.agent ? h("span", { class: "muted" }, ` (asked: ${t.requested_agent})`) : null),
    fact("Status", badge(t.status), t.error ? h("div", { class: "error" }, t.error) : null),
    fact("Created", when(t.created_at)),
    fact("Started", when(t.started_at)),
    fact("Finished", when(t.finished_at)),
    fact("Duration", elapsed(t)),
    fact("Isolation", t.isolation, t.visible ? " · visible (tmux)" : ""),
    fact("Work dir", h("span", { class: "mono" }, t.work_dir || "-")),
    t.worktree ? fact("Worktree", h("span", { class: "mono" }, t.worktree)) : null,
    t.timeout ? fact("Timeout", duration(t.timeout)) : null);
}

function drawResult(t) {
  const r = t.result;
  if (!r) {
    show(result, h("p", { class: "muted" }, t.status === "queued" ? "Queued: waiting for a free slot." : "Running: the result comes when the agent ends."));
    return;
  }
  const stat = r.diff_stat || {};
  show(result,
    h("dl", { class: "facts" },
      fact("Outcome", badge(t.status)),
      fact("Exit code", r.exit_code === null ? "-" : String(r.exit_code)),
      r.error ? fact("Error", h("span", { class: "error" }, r.error)) : null,
      fact("Tokens", r.input_tokens === null && r.output_tokens === null ? "-" : `${tokens(r.input_tokens)} in · ${tokens(r.output_tokens)} out`),
      fact("Cost", r.cost_usd === null ? "-" : money(r.cost_usd)),
      r.num_turns !== null ? fact("Turns", String(r.num_turns)) : null,
      r.session_id ? fact("Session", h("span", { class: "mono" }, r.session_id)) : null,
      fact("Branch", r.branch ? h("span", { class: "mono" }, r.branch) : "-"),
      r.commit ? fact("Commit", h("span", { class: "mono" }, r.commit.slice(0, 12)), r.base_commit ? h("span", { class: "muted" }, ` on ${r.base_commit.slice(0, 12)}`) : null) : null,
      stat.files_changed ? fact("Changes", `${stat.files_changed} file${stat.files_changed === 1 ? "" : "s"}, `, h("span", { class: "add-count" }, `+${stat.insertions}`), " ", h("span", { class: "del-count" }, `-${stat.deletions}`)) : null),
    h("h3", {}, "Output"),
    r.output ? h("pre", { class: "result-output", id: "result-output" }, r.output) : h("p", { class: "muted" }, "(no output)"));
}

// While the agent works, what it writes says it is changing things: the diff is fetched
// again after new output, at most every DIFF_EVERY ms (a fetch on news, never a poll).
const DIFF_EVERY = 5000;
let diffTimer = null;
function diffSoon() {
  if (diffTimer || !task || task.status !== "running" || task.isolation !== "worktree") return;
  diffTimer = setTimeout(() => { diffTimer = null; loadDiff(true); }, DIFF_EVERY);
}

function appendOutput(chunk) {
  diffSoon();
  const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
  if (chunk.skipped) outputNote.textContent = `The first ${chunk.skipped.toLocaleString()} bytes are left out: the log is long.`;
  if (chunk.text) {
    output.append(chunk.stream === "stderr" ? h("span", { class: "stderr" }, chunk.text) : document.createTextNode(chunk.text));
    outputChars += chunk.text.length;
  }
  while (outputChars > MAX_OUTPUT_CHARS && output.firstChild) {
    outputChars -= output.firstChild.textContent.length;
    output.firstChild.remove();
  }
  if (atBottom) output.scrollTop = output.scrollHeight;
  if (chunk.events && chunk.events.length) {
    const follow = summary.scrollTop + summary.clientHeight >= summary.scrollHeight - 4;
    summary.append(...chunk.events.map((text) => h("li", {}, text)));
    while (summary.childElementCount > 5000) summary.firstChild.remove();
    drawOutputMode();
    if (follow) summary.scrollTop = summary.scrollHeight;
  }
}

function diffLine(line) {
  let cls = null;
  if (line.startsWith("diff --git") || line.startsWith("index ") || line.startsWith("--- ") || line.startsWith("+++ ")
    || line.startsWith("new file") || line.startsWith("deleted file") || line.startsWith("similarity") || line.startsWith("rename ")) cls = "meta";
  else if (line.startsWith("@@")) cls = "hunk";
  else if (line.startsWith("+")) cls = "add";
  else if (line.startsWith("-")) cls = "del";
  return h("span", { class: cls || "ctx" }, line || " ");
}

function drawDiff(text, source) {
  if (!text.trim()) {
    show(diffBox, h("p", { class: "muted" }, "No changes."));
    return;
  }
  const lines = text.replace(/\n$/, "").split("\n");
  const shown = lines.slice(0, MAX_DIFF_LINES);
  const pre = h("pre", { class: "diff", id: "diff-text", "aria-label": "Unified diff" });
  // Each line is a block of its own (coloured across the width), so no newline between.
  pre.append(...shown.map(diffLine));
  const files = lines.filter((l) => l.startsWith("diff --git")).length;
  const added = lines.filter((l) => l.startsWith("+") && !l.startsWith("+++")).length;
  const removed = lines.filter((l) => l.startsWith("-") && !l.startsWith("---")).length;
  show(diffBox,
    h("p", { class: "muted small" },
      `${files} file${files === 1 ? "" : "s"}, `, h("span", { class: "add-count" }, `+${added}`), " ", h("span", { class: "del-count" }, `-${removed}`),
      source === "worktree" ? " · the worktree as it is now (uncommitted changes included)" : " · the commit on the task's branch",
      lines.length > shown.length ? ` · showing the first ${shown.length} of ${lines.length} lines` : ""),
    pre);
}

async function loadDiff(force = false) {
  if (!task) return;
  if (task.isolation !== "worktree") {
    show(diffBox, h("p", { class: "muted" }, "No diff: this task runs in place (isolation none), not in a worktree of its own."));
    return;
  }
  if (task.status === "queued") {
    show(diffBox, h("p", { class: "muted" }, "No diff yet: the task has not started."));
    return;
  }
  if (!force && diffFor === task.status) return;
  diffFor = task.status;
  const id = taskId;
  diffNote.textContent = "loading…";
  try {
    const response = await fetch(`/api/orchestration/agents/tasks/${encodeURIComponent(id)}/diff`, { credentials: "same-origin" });
    const text = await response.text();
    if (id !== taskId) return; // another task was opened meanwhile
    if (!response.ok) {
      let message = text;
      try { const problem = JSON.parse(text); message = problem.detail || problem.message || text; } catch { /* plain text */ }
      show(diffBox, h("p", { class: response.status === 409 ? "muted" : "error", id: "diff-problem" }, message));
    } else {
      drawDiff(text, response.headers.get("X-Gaia-Diff-Source"));
    }
  } catch (error) {
    show(diffBox, h("p", { class: "error" }, String(error.message || error)));
  } finally {
    diffNote.textContent = "";
  }
}

function drawTask(t) {
  taskId = t.id; // the URL may name it by a prefix
  const changed = !task || task.status !== t.status;
  task = t;
  title(`Agent task ${shortId(t.id)}`);
  show(notice);
  drawHead(t);
  prompt.textContent = t.instruction;
  if (Object.keys(t.context || {}).length) prompt.append(h("div", { class: "muted small" }, `context: ${JSON.stringify(t.context)}`));
  drawDetails(t);
  drawResult(t);
  if (changed) loadDiff();
}

function showError(data) {
  const message = data && data.message ? data.message : String(data);
  show(notice, h("p", { class: "error panel", id: "task-error" }, message));
}

function reset() {
  clearTimeout(diffTimer);
  diffTimer = null;
  task = null;
  diffFor = null;
  show(head);
  show(notice);
  show(details);
  prompt.textContent = "";
  show(output);
  outputChars = 0;
  show(summary);
  showRaw = false;
  drawOutputMode();
  outputNote.textContent = "";
  show(result, h("p", { class: "muted" }, "Loading…"));
  show(diffBox);
}

let stream = null;
function open(id) {
  taskId = id;
  reset();
  title(`Agent task ${shortId(id)}`);
  const watches = [`agent_task:${id}`];
  if (stream) stream.set(watches);
  else stream = live(watches, { task: drawTask, output: appendOutput, error: showError });
}

addEventListener("popstate", () => open(taskIdFromUrl()));
open(taskId);
tick();
