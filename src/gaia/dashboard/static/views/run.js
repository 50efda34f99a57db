// One workflow run: its DAG (canvas, laid out by the server), a searchable task list, a
// Gantt timeline of attempts, and the selected task (?task=ID) with its log following live.
// One SSE connection: run:ID always, plus log:ID/TASK for the selected task.
import { api, live, h, show, view, main, badge, button, toast, duration, since, when, title } from "../gaia.js";
import { RunGraph } from "../lib/run_graph.js";
import { TaskList } from "../lib/task_list.js";
import { RunGantt } from "../lib/run_gantt.js";
import { TaskPanel } from "../lib/task_panel.js";

const runId = main.dataset.run;
const path = `/workflows/${encodeURIComponent(runId)}`;
// A 5,000-row list and a streaming log would flood a screen reader's polite region:
// statuses are read where they are (the list, the task panel), not announced.
view.setAttribute("aria-live", "off");

const statuses = new Map(); // task id -> status
let run = null;
let graph = null;
let list = null;
let selected = new URLSearchParams(location.search).get("task");
let snapshot = false; // the first full list of statuses arrived

// -- the skeleton -----------------------------------------------------------------------

const summary = h("div", { class: "run-summary", "aria-label": "Run status" });
const startButton = button("Start run", () => act("start", "started"), { hidden: true, class: "primary" });
const stopButton = button("Stop run", () => act("stop", "stopping"), { hidden: true, class: "danger" });
const resumeButton = button("Resume run", () => act("resume", "resumed"), { hidden: true, class: "primary" });
const fitButton = button("Fit graph", () => graph && graph.fit(), { title: "show the whole graph" });
const canvas = h("canvas", {
  class: "run-graph", tabindex: "0", role: "img",
  "aria-label": "The run's task graph; the task list beside it gives each task's status",
});
const graphBox = h("div", { class: "graph-box" }, canvas, h("p", { class: "muted graph-note" }, "Loading the graph…"));
const listBox = h("div", { class: "list-box" }, h("p", { class: "muted" }, "Loading tasks…"));
const ganttCanvas = h("canvas", { class: "gantt-canvas", "aria-hidden": "true" });
const ganttScroller = h("div", { class: "gantt-scroller", role: "img", tabindex: "0" }, h("div", { class: "gantt-spacer" }));
const gantt = new RunGantt(ganttScroller, ganttCanvas, { onSelect: (key) => select(key) });
const panel = new TaskPanel(runId, {
  retry: (key) => retry(key),
  attempts: (key) => gantt.attemptsOf(key),
  runStatus: () => run && run.status,
});

show(view,
  h("div", { class: "run-head" }, summary,
    h("div", { class: "toolbar" }, startButton, stopButton, resumeButton, h("span", { class: "spacer" }),
      h("a", { href: "/workflows" }, "All runs"))),
  h("div", { class: "run-body" },
    h("aside", { class: "run-tasks panel", "aria-label": "Tasks" }, listBox),
    h("div", { class: "run-main" },
      h("section", { class: "panel graph-panel", "aria-label": "Graph" },
        h("div", { class: "toolbar" }, h("h2", {}, "Graph"), h("span", { class: "muted" }, "drag to pan, wheel to zoom, click a task"),
          h("span", { class: "spacer" }), fitButton),
        graphBox),
      h("section", { class: "panel gantt-panel", "aria-label": "Timeline" },
        h("h2", {}, "Timeline of attempts"),
        h("div", { class: "gantt-box" }, ganttCanvas, ganttScroller))),
    h("aside", { class: "run-task panel", "aria-label": "Selected task" }, panel.element)));

title(`Run ${runId.slice(0, 8)}`);

// -- live -------------------------------------------------------------------------------

const watches = () => [`run:${runId}`, ...(selected ? [`log:${runId}/${selected}`] : [])];
const stream = live(watches(), {
  run: drawRun,
  tasks: applyTasks,
  attempts: (items) => { gantt.merge(items); if (selected && items.some((a) => a.task === selected)) panel.drawAttempts(); },
  task: (state) => { if (state.task === selected) panel.setState(state); },
  log: (event) => { if (event.task === selected) panel.appendLog(event); },
});

function applyTasks({ full, tasks }) {
  if (full) snapshot = true;
  for (const item of tasks) {
    statuses.set(item[0], item[1]);
  }
  if (graph) graph.invalidate();
  if (list) list.update();
  if (selected && tasks.some((item) => item[0] === selected)) panel.setStatus(statuses.get(selected));
  ready();
}

function drawRun(state) {
  const first = run === null;
  run = state;
  title(`Run ${state.name}`);
  const counts = Object.entries(state.task_counts || {}).filter(([, n]) => n)
    .map(([status, n]) => h("span", { class: "count" }, badge(status), ` ${n}`));
  const took = state.started_at ? duration(since(state.started_at, state.finished_at)) : "-";
  show(summary,
    h("div", { class: "run-line" },
      h("span", { class: "label" }, "Status"), badge(state.stopping ? "stopping" : state.status),
      h("span", { class: "label" }, "Started"), h("span", {}, when(state.started_at)),
      h("span", { class: "label" }, "Duration"), h("span", { class: "run-took" }, took),
      h("span", { class: "label" }, "Run"), h("code", {}, state.id)),
    h("div", { class: "run-line counts", "aria-label": "Tasks by status" }, counts),
    state.error ? h("p", { class: "error run-error" }, state.error) : null);
  startButton.hidden = state.status !== "pending";
  stopButton.hidden = !["running", "pending"].includes(state.status);
  resumeButton.hidden = !["failed", "cancelled", "interrupted"].includes(state.status);
  panel.drawActions();
  if (first) ready();
}

// A running run's duration grows: the page counts it (no request).
setInterval(() => {
  if (!run || run.status !== "running" || !run.started_at) return;
  const took = summary.querySelector(".run-took");
  if (took) took.textContent = duration(since(run.started_at));
}, 1000);

// -- the graph and the list, once the layout is here -------------------------------------

api(`${path}/graph`).then((layout) => {
  const status = (key) => statuses.get(key) || "pending";
  list = new TaskList(layout.nodes.map((node) => node.id), { status, onSelect: (key) => select(key) });
  show(listBox, list.element);
  graphBox.querySelector(".graph-note").remove();
  graph = new RunGraph(canvas, layout, { status, onSelect: (key) => select(key) });
  canvas.setAttribute("aria-label", `Graph of ${layout.nodes.length} tasks in ${layout.layers} layers; the task list gives each task's status`);
  if (selected) { list.select(selected); graph.select(selected); }
  ready();
}).catch((error) => {
  show(graphBox, h("p", { class: "error" }, `The graph could not be loaded: ${error.message}`));
  show(listBox, h("p", { class: "error" }, error.message));
  if (error.status === 404) title("No such run");
});

api(`${path}/attempts`).then((items) => {
  gantt.merge(items);
  if (selected) { gantt.select(selected); panel.drawAttempts(); }
}).catch((error) => toast(`The timeline could not be loaded: ${error.message}`, "error"));

/** Mark the page usable (the graph drawn with every status, the list searchable). */
function ready() {
  if (graph && snapshot && run && !main.dataset.ready) {
    graph.draw();
    main.dataset.ready = "1";
  }
}

// -- selection (in the URL: ?task=ID; back and forward work) -----------------------------

function select(key, { push = true } = {}) {
  if (!key) {
    selected = null;
    panel.clear();
    if (list) list.select(null);
    if (graph) graph.select(null);
    gantt.select(null);
    stream.set(watches());
    return;
  }
  const changed = key !== selected;
  selected = key;
  if (push && changed) history.pushState({ task: key }, "", `?task=${encodeURIComponent(key)}`);
  if (list) list.select(key);
  if (graph) graph.select(key);
  gantt.select(key);
  if (changed || !panel.key) {
    panel.show(key, statuses.get(key));
    stream.set(watches()); // still one connection: it now also follows this task's log
  }
}

addEventListener("popstate", () => {
  const key = new URLSearchParams(location.search).get("task");
  select(key, { push: false });
});

// The stream opened above already follows the task named in the URL.
if (selected) panel.show(selected, statuses.get(selected));
else panel.clear();

// -- actions ----------------------------------------------------------------------------

async function act(what, done) {
  const result = await api(`${path}/${what}`, { method: "POST" });
  toast(`Run ${done}${result.detail && result.detail !== done ? ` (${result.detail})` : ""}`);
}

async function retry(key) {
  const result = await api(`${path}/tasks/${encodeURIComponent(key)}/retry`, { method: "POST" });
  const others = result.tasks.length - 1;
  const also = others === 1 ? " and 1 task that depends on it" : others > 1 ? ` and ${others} tasks that depend on it` : "";
  toast(`Retrying ${key}${also}`);
}

// What the page drew, for tests and the curious: window.gaiaRun.graph().drawnLabels lists
// the [task id, status] of each node labelled in the last frame.
window.gaiaRun = { graph: () => graph, gantt, statuses };
