// What the services list and a service's page share: the control buttons, uptime,
// the figures' formats and the uPlot charts of CPU and memory samples.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { api, h, toast, bytes } from "../gaia.js";

/** States in which each action makes sense (the API refuses the others anyway). */
const ENABLED = {
  start: (s) => !["running", "starting", "stopping"].includes(s),
  stop: (s) => ["running", "starting"].includes(s),
  restart: (s) => !["starting", "stopping"].includes(s),
};
const LABELS = { start: "Start", stop: "Stop", restart: "Restart" };

/**
 * Start / Stop / Restart buttons for service `name` (accessible names "Start web", ...).
 * `update(state)` enables those that make sense; while one runs, all three wait.
 */
export function controls(name) {
  let state = "unknown";
  let busy = false;
  const buttons = {};
  const refresh = () => {
    for (const [action, el] of Object.entries(buttons)) el.disabled = busy || !ENABLED[action](state);
  };
  for (const action of Object.keys(LABELS)) {
    const el = h("button", {
      type: "button",
      class: action === "stop" ? "danger" : null,
      "aria-label": `${LABELS[action]} ${name}`,
      dataset: { action },
    }, LABELS[action]);
    el.addEventListener("click", async () => {
      busy = true;
      refresh();
      try {
        const result = await api(`/services/${encodeURIComponent(name)}/${action}`, { method: "POST" });
        toast(`${name}: ${result.state}`);
      } catch (error) {
        toast(`${LABELS[action]} ${name}: ${error.message}`, "error");
      } finally {
        busy = false;
        refresh();
      }
    });
    buttons[action] = el;
  }
  const box = h("span", { class: "svc-controls", role: "group", "aria-label": `Control ${name}` },
    Object.values(buttons));
  return { el: box, update(next) { state = next; refresh(); } };
}

/** "3d 4h", "2h 5m", "4m 12s", "9s": an uptime that ticks each second. */
export function uptime(startedAt) {
  if (!startedAt) return "-";
  let s = Math.max(0, Math.floor((Date.now() - Date.parse(startedAt)) / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

export const cpu = (value) => (value === null || value === undefined ? "-" : `${value.toFixed(1)} %`);
export const memory = (value) => (value === null || value === undefined ? "-" : bytes(value));

/**
 * A service's CPU/memory samples, newest last, at most `cap`: the columns uPlot draws
 * (seconds, CPU %, RSS bytes).
 */
export class Samples {
  constructor(cap) { this.cap = cap; this.t = []; this.cpu = []; this.rss = []; }
  add(sample) {
    const t = Date.parse(sample.sampled_at) / 1000;
    if (this.t.length && t <= this.t[this.t.length - 1]) return; // already have it
    this.t.push(t); this.cpu.push(sample.cpu_percent); this.rss.push(sample.rss_bytes);
    if (this.t.length > this.cap) { this.t.shift(); this.cpu.shift(); this.rss.shift(); }
  }
  get length() { return this.t.length; }
  /** The newest sample, if it was taken while the current process ran. */
  latest(startedAt) {
    const n = this.t.length;
    if (!n || !startedAt || this.t[n - 1] * 1000 < Date.parse(startedAt) - 1000) return null;
    return { cpu: this.cpu[n - 1], rss: this.rss[n - 1] };
  }
}

const COLOURS = { cpu: ["#2b6cb0", "rgba(43,108,176,.14)"], rss: ["#2f7d5b", "rgba(47,125,91,.14)"] };
// From a little under 0 (a line of zeros stays visible) to above the highest sample.
const atLeast = (floor) => (_u, _min, max) => {
  const top = Math.max(floor, (max || 0) * 1.15);
  return [-top * 0.04, top];
};

/**
 * A chart of one series of samples. `small`: a sparkline for a table cell (no axes);
 * else a chart with a time axis and a legend. The container says how many points it
 * draws (`data-points`), so a test or a script can tell that it has data.
 */
export class SampleChart {
  constructor(kind, { small = false, width = 110, height = 28, label } = {}) {
    this.kind = kind;
    this.el = h("div", { class: small ? "spark" : "chart", dataset: { points: "0", series: kind } });
    const [stroke, fill] = COLOURS[kind];
    const format = kind === "cpu" ? cpu : memory;
    const options = {
      width, height,
      cursor: small ? { show: false } : { drag: { x: false, y: false } },
      select: { show: false },
      legend: { show: !small },
      scales: { x: { time: !small }, y: { range: atLeast(kind === "cpu" ? 1 : 1024 * 1024) } },
      axes: small ? [{ show: false }, { show: false }] : [
        { stroke: "#667085", grid: { stroke: "#eef0f3" } },
        { stroke: "#667085", grid: { stroke: "#eef0f3" }, size: 70, values: (_u, ticks) => ticks.map(format) },
      ],
      series: [
        { label: "time" },
        { label: label || kind, stroke, fill, width: small ? 1.25 : 1.5, points: { show: false },
          value: (_u, v) => format(v) },
      ],
    };
    this.plot = new uPlot(options, [[], []], this.el);
  }
  draw(samples) {
    this.plot.setData([samples.t.slice(), (this.kind === "cpu" ? samples.cpu : samples.rss).slice()]);
    this.el.dataset.points = String(samples.length);
  }
  resize(width, height) { this.plot.setSize({ width, height }); }
  destroy() { this.plot.destroy(); }
}
