// Sessions: every session, alive and dead, with its windows and panes, live; create one
// from a layout file; kill (after a confirmation) or restore.
import { api, h, show, view, live, when, toast } from "../gaia.js";
import {
  agoText, killControl, locatedProblems, paneLabel, problemList, restore, sessionHref, statusBadge, windowLabel,
} from "../lib/sessions.js";

const LIMIT = 200; // rows drawn; the rest are counted ("showing N of M")

const pathInput = h("input", {
  id: "layout-path", name: "path", type: "text", size: 60, required: true,
  placeholder: "/absolute/path/to/layout.yaml", "aria-describedby": "layout-help",
});
const createErrors = h("div", { id: "create-errors", "aria-live": "polite" });
const createButton = h("button", { type: "submit", class: "primary" }, "Create session");
const createForm = h("form", { class: "panel create-session", "aria-label": "Create a session from a layout file" },
  h("h2", {}, "Create from a layout file"),
  h("div", { class: "toolbar" },
    h("label", { for: "layout-path" }, "Layout file"), pathInput, createButton),
  h("p", { id: "layout-help", class: "muted" },
    "A tmuxp-format YAML file on the daemon's machine (as `gaia session up` takes)."),
  createErrors);
createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  show(createErrors);
  createButton.disabled = true;
  try {
    const session = await api("/sessions/up", { method: "POST", body: { path: pathInput.value.trim() } });
    toast(`Created session ${session.name}`);
    const warnings = session.warnings || [];
    if (warnings.length) show(createErrors, h("p", { class: "muted" }, "Warnings:"), problemList(warnings, "Layout warnings"));
    pathInput.value = "";
  } catch (error) {
    show(createErrors, h("p", { class: "error" }, error.message), problemList(locatedProblems(error), "Layout problems"));
  } finally {
    createButton.disabled = false;
  }
});

const problem = h("p", { class: "error", id: "sessions-problem", hidden: true });
const count = h("p", { class: "muted", id: "sessions-count" });
const body = h("tbody");
const table = h("table", { id: "sessions", "aria-label": "Sessions" },
  h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, "Session"), h("th", { scope: "col" }, "Status"),
    h("th", { scope: "col" }, "Windows and panes"), h("th", { scope: "col" }, "Origin"),
    h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Last activity"),
    h("th", { scope: "col" }, "Actions"))),
  body);
show(view, createForm, h("section", { class: "panel" }, h("h2", {}, "Sessions"), problem, count, table));

function tree(session) {
  if (!session.windows.length) return h("span", { class: "muted" }, "no windows");
  return h("ul", { class: "windows" }, session.windows.map((w) =>
    h("li", { "data-window": w.id },
      h("span", { class: "window-name" }, windowLabel(w)),
      h("ul", { class: "panes" }, w.panes.map((p) =>
        h("li", { "data-pane": p.id },
          session.status === "alive"
            ? h("a", { href: sessionHref(session.name, w.id, p.id) }, paneLabel(p))
            : h("span", {}, paneLabel(p))))))));
}

function actions(session) {
  if (session.status === "alive") return killControl(session, null);
  return h("span", { class: "actions" },
    h("button", { type: "button", onclick: (e) => { e.target.disabled = true; restore(session).finally(() => { e.target.disabled = false; }); } }, "Restore"),
    killControl(session, null));
}

// Rows are redrawn only when their session changed, and each keeps its actions cell while
// the status is the same, so that a kill confirmation in progress survives live updates.
const rows = new Map();
const actionCells = new Map();

function actionsCell(session) {
  const key = `${session.id}:${session.status}`;
  let cell = actionCells.get(session.id);
  if (!cell || cell.key !== key) {
    cell = { key, el: h("td", {}, actions(session)) };
    actionCells.set(session.id, cell);
  }
  return cell.el;
}

function draw(state) {
  problem.hidden = !state.problem;
  problem.textContent = state.problem ? `tmux: ${state.problem}` : "";
  const sessions = state.sessions;
  const shown = sessions.slice(0, LIMIT);
  count.textContent = sessions.length > LIMIT
    ? `showing ${LIMIT} of ${sessions.length} sessions`
    : `${sessions.length} session${sessions.length === 1 ? "" : "s"} (${sessions.filter((s) => s.status === "alive").length} alive)`;
  if (!sessions.length) {
    rows.clear();
    show(body, h("tr", {}, h("td", { colspan: 7, class: "muted" },
      "No sessions yet: create one from a layout file above, or with `gaia session create`.")));
    return;
  }
  const next = [];
  for (const session of shown) {
    const key = JSON.stringify(session);
    let row = rows.get(session.id);
    if (!row || row.key !== key) {
      const el = h("tr", { "data-session": session.name },
        h("th", { scope: "row" }, h("a", { href: sessionHref(session.name) }, session.name)),
        h("td", {}, statusBadge(session)),
        h("td", {}, tree(session)),
        h("td", {}, session.origin, session.layout_file ? h("div", { class: "muted mono" }, session.layout_file) : null),
        h("td", {}, when(session.created_at)),
        h("td", {}, session.status === "alive" ? agoText(session.last_activity_at) : `dead since ${when(session.dead_at)}`),
        actionsCell(session));
      row = { key, el };
      rows.set(session.id, row);
    }
    next.push(row.el);
  }
  for (const id of [...rows.keys()]) {
    if (!shown.some((s) => s.id === id)) { rows.delete(id); actionCells.delete(id); }
  }
  show(body, next);
}

live(["sessions"], { sessions: draw });
