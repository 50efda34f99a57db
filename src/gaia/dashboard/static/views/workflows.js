// Workflows: every run, newest first, filtered by status and name (both in the URL, so a
// link shares the view and back restores it), kept current by the `runs` watch; and a form
// to start one from a file on the daemon's machine or from pasted YAML.
import { api, h, show, view, live, badge, when, ago, duration } from "../gaia.js";
import { startForm } from "./workflows_start.js";

const STATUSES = ["running", "pending", "completed", "failed", "cancelled", "interrupted"];
const LIMIT = 500; // rows drawn at most (?limit=, 1-1000, the API's cap); beyond: "showing N of M"
const TASK_ORDER = ["completed", "running", "retrying", "pending", "failed", "skipped", "cancelled"];

// -- the URL is the state -----------------------------------------------------------------

function fromUrl() {
  const q = new URLSearchParams(location.search);
  const limit = Number.parseInt(q.get("limit") || "", 10);
  return {
    status: q.get("status") || "", name: q.get("name") || "", start: q.get("new") || "",
    limit: limit >= 1 && limit <= 1000 ? limit : LIMIT,
  };
}

function urlOf(s) {
  const q = new URLSearchParams();
  if (s.status) q.set("status", s.status);
  if (s.name) q.set("name", s.name);
  if (s.start) q.set("new", s.start);
  if (s.limit !== LIMIT) q.set("limit", String(s.limit));
  const text = q.toString();
  return `/workflows${text ? `?${text}` : ""}`;
}

let state = fromUrl();

/** Change the state, record it in the history (or replace the entry), and show it. */
function navigate(changes, { replace = false } = {}) {
  state = { ...state, ...changes };
  history[replace ? "replaceState" : "pushState"](null, "", urlOf(state));
  apply();
}

addEventListener("popstate", () => {
  state = fromUrl();
  burst = null; // back or forward wins over what was being typed
  clearTimeout(debounce);
  apply();
});

// -- the page -----------------------------------------------------------------------------

const starter = startForm({
  onClose: () => navigate({ start: "" }),
  onMode: (mode) => navigate({ start: mode }, { replace: true }),
});
const startButton = h("button", {
  type: "button", class: "primary", "aria-expanded": "false", "aria-controls": "wf-start",
  onclick: () => navigate({ start: state.start ? "" : "yaml" }),
}, "Start a workflow…");
const statusLinks = h("ul", { class: "wf-statuses", "aria-label": "Filter by status" });
const nameInput = h("input", {
  type: "search", id: "wf-name", placeholder: "Filter by name", "aria-label": "Filter by name",
  autocomplete: "off", spellcheck: "false",
});
const countLine = h("span", { class: "wf-count muted", id: "wf-count", role: "status" });
const body = h("tbody");
const table = h("table", { class: "wf-runs", "aria-label": "Workflow runs" },
  h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, "Status"),
    h("th", { scope: "col" }, "Name"),
    h("th", { scope: "col" }, "Run"),
    h("th", { scope: "col" }, "Started"),
    h("th", { scope: "col", class: "num" }, "Duration"),
    h("th", { scope: "col" }, "Tasks"))),
  body);
const empty = h("p", { class: "wf-empty muted", hidden: true });
const failure = h("p", { class: "error", role: "alert", hidden: true });

show(view,
  h("div", { class: "toolbar wf-toolbar" }, startButton, statusLinks, nameInput,
    h("span", { class: "spacer" }), countLine),
  starter.element,
  failure,
  h("div", { class: "panel wf-table" }, table, empty));

// -- filters --------------------------------------------------------------------------------

let overallCounts = {}; // runs by status, all names (from the watch)
let namedCounts = null; // runs by status whose name matches the filter (from the API)

function countsShown() {
  return state.name ? namedCounts || {} : overallCounts;
}

// One link per status (built once, then updated in place so that keyboard focus stays).
const statusLinkOf = new Map();
for (const status of ["", ...STATUSES]) {
  const label = status ? status[0].toUpperCase() + status.slice(1) : "All";
  const link = h("a", {
    dataset: { status: status || "all" },
    onclick: (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      navigate({ status });
    },
  }, label, " ", h("span", { class: "n" }, "0"));
  statusLinkOf.set(status, link);
  statusLinks.append(h("li", {}, link));
}

function drawStatusLinks() {
  const counts = countsShown();
  const all = Object.values(counts).reduce((a, b) => a + b, 0);
  for (const [status, link] of statusLinkOf) {
    link.href = urlOf({ ...state, status });
    if (state.status === status) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
    link.querySelector(".n").textContent = String(status ? counts[status] || 0 : all);
  }
}

// Typing filters as you go; one history entry per burst of typing, so back undoes it.
let burst = null; // {pushed, timer} while typing
let debounce = null;

function filterByName() {
  const name = nameInput.value.trim();
  if (name === state.name) return;
  navigate({ name }, { replace: Boolean(burst?.pushed) });
  if (burst) burst.pushed = true;
}

nameInput.addEventListener("input", () => {
  burst = burst || { pushed: false };
  clearTimeout(burst.timer);
  burst.timer = setTimeout(() => { burst = null; }, 1500);
  clearTimeout(debounce);
  debounce = setTimeout(filterByName, 250);
});
nameInput.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  clearTimeout(debounce);
  filterByName();
  burst = null;
});

// As the API matches names: containing the text, ignoring the case of ASCII letters only.
const asciiLower = (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

function nameMatches(run) {
  return !state.name || asciiLower(run.name).includes(asciiLower(state.name));
}

function matches(run) {
  return (!state.status || run.status === state.status) && nameMatches(run);
}

// -- rows -------------------------------------------------------------------------------------

const rows = new Map(); // run id -> {run, tr, at: when the run's figures were read}
let total = 0; // runs matching the filters (the M of "showing N of M")
let loaded = null; // the filters the rows are for
let loading = null; // the load under way, if any
let waiting = []; // live changes that came while loading

function tasksCell(counts) {
  const entries = Object.entries(counts || {}).filter(([, n]) => n);
  entries.sort(([a], [b]) => TASK_ORDER.indexOf(a) - TASK_ORDER.indexOf(b));
  const all = entries.reduce((sum, [, n]) => sum + n, 0);
  if (!all) return h("td", { class: "wf-tasks muted" }, "no tasks");
  const bar = h("span", { class: "wf-bar", "aria-hidden": "true" },
    entries.map(([status, n]) => h("span", { class: `s-${status}`, style: `flex-grow:${n}` })));
  const words = entries.map(([status, n]) => `${n} ${status}`).join(" · ");
  return h("td", { class: "wf-tasks" }, bar, h("span", { class: "wf-task-words" }, `${all} ${all === 1 ? "task" : "tasks"}: ${words}`));
}

function elapsed(row) {
  const { run } = row;
  if (!run.started_at) return null;
  if (run.status !== "running") return run.duration_seconds;
  return (run.duration_seconds || 0) + (performance.now() - row.at) / 1000;
}

function durationText(row) {
  const seconds = elapsed(row);
  if (seconds === null || seconds === undefined) return "-";
  // A running run ticks by whole seconds; a finished one shows its exact figure.
  return row.run.status === "running" && seconds >= 1 ? duration(Math.floor(seconds)).replace(".0 s", " s") : duration(seconds);
}

function cells(row) {
  const { run } = row;
  const href = `/workflows/${encodeURIComponent(run.id)}`;
  return [
    h("td", {}, badge(run.status)),
    h("td", { class: "wf-name" },
      h("a", { href, class: "wf-name-link" }, run.name),
      run.error ? h("div", { class: "wf-error", title: run.error }, run.error) :
        run.description ? h("div", { class: "muted wf-desc" }, run.description) : null),
    h("td", {}, h("a", { href, class: "mono", title: run.id, "aria-label": `run ${run.id}` }, run.id.slice(0, 8))),
    h("td", { class: "wf-started" }, run.started_at ?
      h("time", { datetime: run.started_at, title: ago(run.started_at) }, when(run.started_at)) :
      h("span", { class: "muted", title: `created ${when(run.created_at)}` }, "not started")),
    h("td", { class: "num wf-duration" }, durationText(row)),
    tasksCell(run.task_counts),
  ];
}

function makeRow(run) {
  const row = { run, at: performance.now(), tr: h("tr", { dataset: { runId: run.id, status: run.status } }) };
  row.tr.append(...cells(row));
  return row;
}

function updateRow(row, run) {
  row.run = run;
  row.at = performance.now();
  row.tr.dataset.status = run.status;
  row.tr.replaceChildren(...cells(row));
}

function created(run) {
  return Date.parse(run.created_at);
}

/** Put the run's row where it belongs, newest first; false if it falls past the cap. */
function insertRow(run) {
  const last = body.lastElementChild && rows.get(body.lastElementChild.dataset.runId);
  if (rows.size >= state.limit && last && created(run) < created(last.run)) return false;
  const row = makeRow(run);
  let before = null;
  for (const tr of body.children) {
    if (created(rows.get(tr.dataset.runId).run) < created(run)) { before = tr; break; }
  }
  body.insertBefore(row.tr, before);
  rows.set(run.id, row);
  if (rows.size > state.limit) removeRow(body.lastElementChild.dataset.runId);
  return true;
}

function removeRow(id) {
  const row = rows.get(id);
  if (!row) return;
  row.tr.remove();
  rows.delete(id);
}

function drawCount() {
  const n = rows.size;
  const what = [state.status, "runs"].filter(Boolean).join(" ");
  const named = state.name ? ` named like “${state.name}”` : "";
  countLine.textContent = n < total ? `Showing ${n} of ${total} ${what}${named} (newest first)` :
    `${n} ${n === 1 ? what.replace(/runs$/, "run") : what}${named}`;
  empty.hidden = n > 0;
  table.hidden = n === 0;
  if (!n) {
    const filtered = state.status || state.name;
    show(empty, filtered ? [`No ${what}${named}. `, h("a", { href: "/workflows", onclick: (e) => { e.preventDefault(); navigate({ status: "", name: "" }); } }, "Show every run")] :
      "No runs yet: start a workflow with the button above, or `gaia workflow run FILE`.");
  }
}

function totalFromCounts() {
  const counts = countsShown();
  return state.status ? counts[state.status] || 0 : Object.values(counts).reduce((a, b) => a + b, 0);
}

async function load() {
  const filters = { status: state.status, name: state.name, limit: state.limit };
  const job = (async () => {
    const [runs, counts] = await Promise.all([
      api("/workflows", { query: filters }),
      api("/workflows/counts", { query: { name: filters.name } }),
    ]);
    return { runs, counts };
  })();
  loading = job;
  let result;
  try {
    result = await job;
  } catch (error) {
    if (loading !== job) return;
    loading = null;
    failure.hidden = false;
    failure.textContent = `Could not load the runs: ${error.message}`;
    return;
  }
  if (loading !== job) return; // a newer load replaced this one
  loading = null;
  failure.hidden = true;
  loaded = filters;
  if (filters.name) namedCounts = result.counts.by_status;
  else overallCounts = result.counts.by_status;
  rows.clear();
  body.replaceChildren();
  for (const run of result.runs) {
    const row = makeRow(run);
    body.append(row.tr);
    rows.set(run.id, row);
  }
  total = Math.max(totalFromCounts(), rows.size);
  const queued = waiting;
  waiting = [];
  for (const runs of queued) change(runs);
  drawStatusLinks();
  drawCount();
}

let recount = null;
/** Apply a live change: rows that match the filters are added or updated, others dropped. */
function change(runs) {
  let moved = false; // whether a run matching the name may have entered or left a status
  for (const run of runs) {
    const row = rows.get(run.id);
    const named = nameMatches(run);
    if (row && matches(run)) {
      if (row.run.status !== run.status) moved = true;
      updateRow(row, run);
    } else if (row) {
      removeRow(run.id);
      moved = true;
    } else {
      if (matches(run)) insertRow(run);
      if (named) moved = true; // a new run, or one past the rows drawn
    }
  }
  if (!state.name) total = Math.max(totalFromCounts(), rows.size);
  else if (moved) {
    // The counts the watch sends are of every name: this name's are asked for again (at
    // most twice a second), since a capped list cannot tell them from its rows.
    total = Math.max(total, rows.size);
    recount = recount || setTimeout(async () => {
      recount = null;
      const name = state.name;
      try {
        const counts = await api("/workflows/counts", { query: { name } });
        if (name !== state.name) return;
        namedCounts = counts.by_status;
        total = Math.max(totalFromCounts(), rows.size);
        drawStatusLinks();
        drawCount();
      } catch (error) {
        failure.hidden = false;
        failure.textContent = `Could not count the runs: ${error.message}`;
      }
    }, 500);
  }
  drawStatusLinks();
  drawCount();
}

/** Show the state: the controls, the start form, and the rows (loaded again if the
 * filters changed). */
function apply() {
  if (document.activeElement !== nameInput || !burst) nameInput.value = state.name;
  starter.show(state.start);
  startButton.setAttribute("aria-expanded", String(Boolean(state.start)));
  drawStatusLinks();
  if (!loaded || loaded.status !== state.status || loaded.name !== state.name || loaded.limit !== state.limit) {
    loaded = null;
    load();
  }
}

// The running runs' durations tick (figures from the server plus time since, never the
// browser's clock against the server's).
setInterval(() => {
  for (const row of rows.values()) {
    if (row.run.status === "running") row.tr.querySelector(".wf-duration").textContent = durationText(row);
  }
}, 1000);

live(["runs"], {
  runs(event) {
    overallCounts = event.counts || overallCounts;
    if (event.initial) { // (re)connected: what changed while away is in a fresh load
      loaded = null;
      load();
      return;
    }
    if (loading) waiting.push(event.runs);
    else change(event.runs);
  },
});

apply();
