// Services: `gaia service list` as a live table, with controls and CPU/memory sparklines.
// Everything arrives on the page's one stream (watch "services"); the buttons call the API.
import { view, show, h, live, badge } from "../gaia.js";
import { controls, uptime, cpu, memory, Samples, SampleChart } from "../lib/services.js";

const SHOWN_MAX = 200; // rows drawn at once (each has two charts); the filter finds the rest
const SPARK_POINTS = 60;

const params = new URLSearchParams(location.search);
const filter = h("input", {
  type: "search", placeholder: "Filter by name", "aria-label": "Filter services by name",
  value: params.get("q") || "",
});
const counts = h("span", { class: "muted", id: "service-counts" });
const capped = h("p", { class: "muted", id: "services-capped", hidden: true });
const tbody = h("tbody");
const table = h("table", { class: "services", "aria-label": "Services" },
  h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, "Service"),
    h("th", { scope: "col" }, "State"),
    h("th", { scope: "col" }, "Health"),
    h("th", { scope: "col", class: "num" }, "PID"),
    h("th", { scope: "col", class: "num" }, "Port"),
    h("th", { scope: "col", class: "num" }, "Uptime"),
    h("th", { scope: "col", class: "num" }, "Restarts"),
    h("th", { scope: "col" }, "CPU"),
    h("th", { scope: "col" }, "Memory"),
    h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
  tbody);
const empty = h("p", { class: "muted", hidden: true },
  "No services are registered. Register one with ", h("code", {}, "gaia service register FILE"),
  " or POST /api/orchestration/services.");
show(view,
  h("div", { class: "toolbar" }, filter, h("span", { class: "spacer" }), counts),
  h("section", { class: "panel flush" }, table, empty, capped));

/** name -> { row, cells, controls, samples, charts, state } */
const rows = new Map();
let services = [];

function entry(name) {
  let item = rows.get(name);
  if (item) return item;
  const cells = {
    name: h("td", {}, h("a", { href: `/services/${encodeURIComponent(name)}` }, name)),
    state: h("td"), health: h("td"),
    pid: h("td", { class: "num mono" }), port: h("td", { class: "num mono" }),
    uptime: h("td", { class: "num" }), restarts: h("td", { class: "num" }),
    cpuText: h("span", { class: "figure" }), rssText: h("span", { class: "figure" }),
  };
  const ctl = controls(name);
  const cpuCell = h("td", { class: "metric" }, cells.cpuText);
  const rssCell = h("td", { class: "metric" }, cells.rssText);
  const row = h("tr", { dataset: { service: name } },
    cells.name, cells.state, cells.health, cells.pid, cells.port, cells.uptime, cells.restarts,
    cpuCell, rssCell, h("td", { class: "actions" }, ctl.el));
  item = { row, cells, cpuCell, rssCell, charts: null, controls: ctl, samples: new Samples(SPARK_POINTS), state: null };
  rows.set(name, item);
  return item;
}

/** A row's two charts, made once it has samples: a list of services never started
 * (or a thousand) costs no chart at all. */
function sparklines(item, name) {
  const charts = {
    cpu: new SampleChart("cpu", { small: true, label: `CPU of ${name}` }),
    rss: new SampleChart("rss", { small: true, label: `memory of ${name}` }),
  };
  item.cpuCell.append(charts.cpu.el);
  item.rssCell.append(charts.rss.el);
  return charts;
}

function fill(item, s) {
  const { cells } = item;
  item.state = s;
  cells.name.title = s.description || "";
  cells.state.replaceChildren(badge(s.state));
  cells.health.replaceChildren(s.health_check ? badge(s.health) : h("span", { class: "muted" }, "no check"));
  cells.pid.textContent = s.pid ?? "-";
  cells.port.textContent = s.port ?? "-";
  cells.uptime.textContent = uptime(s.started_at);
  cells.restarts.textContent = String(s.restart_count);
  item.controls.update(s.state);
  figures(item);
}

function figures(item) {
  const latest = item.samples.latest(item.state?.started_at);
  item.cells.cpuText.textContent = cpu(latest?.cpu);
  item.cells.rssText.textContent = memory(latest?.rss);
}

function draw() {
  const term = filter.value.trim().toLowerCase();
  const matching = services.filter((s) => !term || s.name.toLowerCase().includes(term));
  const shown = matching.slice(0, SHOWN_MAX);
  const wanted = shown.map((s) => { const item = entry(s.name); fill(item, s); return item.row; });
  // Reorder only when the order changed: moving a row would take the focus off its buttons.
  const current = [...tbody.children];
  if (current.length !== wanted.length || current.some((row, i) => row !== wanted[i])) tbody.replaceChildren(...wanted);
  const registered = new Set(services.map((s) => s.name));
  for (const [name, item] of rows) {
    if (registered.has(name)) continue;
    if (item.charts) { item.charts.cpu.destroy(); item.charts.rss.destroy(); }
    rows.delete(name);
  }
  empty.hidden = services.length > 0;
  capped.hidden = matching.length <= SHOWN_MAX;
  capped.textContent = `Showing ${shown.length} of ${matching.length} services: filter by name to find the others.`;
  const by = (key) => services.reduce((acc, s) => ((acc[s[key]] = (acc[s[key]] || 0) + 1), acc), {});
  const states = Object.entries(by("state")).map(([k, n]) => `${n} ${k}`).join(", ");
  const unhealthy = by("health").unhealthy || 0;
  counts.textContent = services.length
    ? `${services.length} services: ${states}${unhealthy ? ` · ${unhealthy} unhealthy` : ""}`
    : "";
}

filter.addEventListener("input", () => {
  const url = new URL(location.href);
  if (filter.value) url.searchParams.set("q", filter.value); else url.searchParams.delete("q");
  history.replaceState(null, "", url);
  draw();
});

// Uptime counts on in the page; nothing is asked of the daemon for it.
setInterval(() => {
  for (const item of rows.values()) if (item.state) item.cells.uptime.textContent = uptime(item.state.started_at);
}, 1000);

live(["services"], {
  services(data) {
    services = data.services;
    draw();
  },
  metrics(data) {
    const touched = new Set();
    for (const sample of data.samples) {
      entry(sample.service).samples.add(sample);
      touched.add(sample.service);
    }
    for (const name of touched) {
      const item = rows.get(name);
      if (!item.charts) item.charts = sparklines(item, name);
      item.charts.cpu.draw(item.samples);
      item.charts.rss.draw(item.samples);
      figures(item);
    }
  },
});
