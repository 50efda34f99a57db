// Overview: counts across every component and the latest events, live.
import { h, show, view, live, badge, when } from "../gaia.js";

const cards = h("div", { class: "cards", id: "summary" });
const events = h("ul", { class: "events", id: "activity", "aria-label": "Latest events" });
show(view, cards, h("section", { class: "panel" }, h("h2", {}, "Latest events"), events));

const PAGES = {
  workflows: (item) => `/workflows/${encodeURIComponent(item.id)}`,
  services: (item) => `/services/${encodeURIComponent(item.id)}`,
  sessions: (item) => `/sessions/${encodeURIComponent(item.id)}`,
  agents: (item) => (item.component === "agents" ? `/agents/tasks/${encodeURIComponent(item.id)}` : "/agents"),
};

function card(label, figure, detail, href) {
  return h("a", { class: "card", href, "data-card": label },
    h("div", { class: "label" }, label),
    h("div", { class: "figure" }, String(figure)),
    h("div", { class: "muted" }, detail));
}

function describe(counts) {
  const parts = Object.entries(counts || {}).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(", ") : "none";
}

function total(counts) {
  return Object.values(counts || {}).reduce((sum, n) => sum + n, 0);
}

function drawSummary(s) {
  const runs = total(s.runs.by_status);
  const tasks = s.agents.by_status || {};
  show(cards,
    card("Running runs", s.runs.running, `of ${runs} runs: ${describe(s.runs.by_status)}`, "/workflows?status=running"),
    card("Failed runs", s.runs.failed, s.runs.failed ? "open them to retry or resume" : "no run failed", "/workflows?status=failed"),
    card("Services", s.services.total, `${describe(s.services.by_state)} · health: ${describe(s.services.by_health)}`, "/services"),
    card("Sessions", s.sessions.alive, `alive · ${s.sessions.by_status?.dead || 0} dead`, "/sessions"),
    card("Agent tasks queued", s.agents.queued, "waiting for a slot", "/agents"),
    card("Agent tasks running", s.agents.running, `${tasks.succeeded || 0} succeeded · ${tasks.failed || 0} failed in all`, "/agents"));
}

function drawActivity(items) {
  if (!items.length) {
    show(events, h("li", { class: "muted" }, "Nothing has happened yet: run a workflow, start a service or an agent task."));
    return;
  }
  show(events, items.map((item) =>
    h("li", { "data-component": item.component },
      h("time", { datetime: item.at }, when(item.at)),
      badge(item.status),
      h("a", { href: PAGES[item.component](item) }, item.text))));
}

live(["summary", "activity"], { summary: drawSummary, activity: drawActivity });
