// One service: its state, controls, CPU/memory charts, its log following live, its events
// and its health checks, all live on the page's one stream (watch "service:NAME").
import { view, main, show, h, live, badge, api, when, title } from "../gaia.js";
import { controls, uptime, cpu, memory, Samples, SampleChart } from "../lib/services.js";

const NAME = main.dataset.service;
const LOG_LINES_MAX = 5000; // lines kept in the page; older ones drop off the top
const EVENTS_MAX = 500;
const CHECKS_MAX = 200;
const CHART_POINTS = 720;

title(`Service ${NAME}`);

/** The service's definition (GET /services/NAME), or null after saying why there is none. */
async function load() {
  try {
    return await api(`/services/${encodeURIComponent(NAME)}`);
  } catch (error) {
    const missing = error.status === 404;
    show(view, h("section", { class: "panel svc" },
      h("p", { class: missing ? "" : "error" },
        missing ? `No service is registered as “${NAME}”.` : `Could not load ${NAME}: ${error.message}`),
      h("p", {}, h("a", { href: "/services" }, "All services"))));
    return null;
  }
}

const details = await load();
if (details) build(details);

function build(details) {
  const ctl = controls(NAME);
  const stateBadge = h("span", { id: "svc-state" });
  const healthBadge = h("span", { id: "svc-health" });
  const facts = {};
  const fact = (key, label) => {
    facts[key] = h("dd", { dataset: { fact: key } }, "-");
    return h("div", {}, h("dt", {}, label), facts[key]);
  };
  const summary = h("dl", { class: "svc-facts", "aria-label": "State summary" },
    fact("state", "State"), fact("health", "Health"), fact("pid", "PID"), fact("port", "Port"),
    fact("uptime", "Uptime"), fact("restarts", "Restarts"), fact("cpu", "CPU"), fact("rss", "Memory"),
    fact("exit", "Last exit code"), fact("desired", "Wanted"));

  const definition = h("dl", { class: "svc-definition" },
    h("dt", {}, "Command"), h("dd", { class: "mono" }, details.command.join(" ")),
    h("dt", {}, "Directory"), h("dd", { class: "mono" }, details.cwd || "-"),
    h("dt", {}, "Restart policy"), h("dd", {}, details.restart_policy),
    h("dt", {}, "Health check"), h("dd", {}, details.health_check || "none"),
    h("dt", {}, "Depends on"), h("dd", {}, Object.entries(details.depends_on).map(([n, c]) => `${n} (${c})`).join(", ") || "nothing"),
    h("dt", {}, "Environment"), h("dd", { class: "mono" }, details.env_keys.join(" ") || "-"),
    details.description ? [h("dt", {}, "Description"), h("dd", {}, details.description)] : null);

  const charts = { cpu: new SampleChart("cpu", { width: 600, height: 180, label: "CPU" }),
    rss: new SampleChart("rss", { width: 600, height: 180, label: "Memory" }) };
  const samples = new Samples(CHART_POINTS);
  const chartNote = h("p", { class: "muted small" });

  const logBox = h("pre", { class: "log svc-log", tabindex: "0", "aria-label": `Log of ${NAME}` });
  const follow = h("input", { type: "checkbox", checked: true });
  const logNote = h("span", { class: "muted small" });

  const eventRows = h("tbody");
  const checkRows = h("tbody");
  const eventsNote = h("p", { class: "muted small" });
  const checksNote = h("p", { class: "muted small" });

  show(view,
    h("div", { class: "toolbar" },
      h("a", { href: "/services" }, "← All services"), stateBadge, healthBadge,
      h("span", { class: "spacer" }), ctl.el),
    h("section", { class: "panel svc" }, h("h2", {}, "State"), summary, definition),
    h("div", { class: "grid2" },
      h("section", { class: "panel svc", "aria-label": "CPU chart" }, h("h2", {}, "CPU"), charts.cpu.el),
      h("section", { class: "panel svc", "aria-label": "Memory chart" }, h("h2", {}, "Memory"), charts.rss.el)),
    chartNote,
    h("section", { class: "panel svc" },
      h("div", { class: "toolbar" }, h("h2", {}, "Log"), h("span", { class: "spacer" }), logNote,
        h("label", { class: "inline" }, follow, "Follow")),
      logBox),
    h("div", { class: "grid2" },
      h("section", { class: "panel svc" }, h("h2", {}, "Events"),
        h("table", { class: "svc-events", "aria-label": "Events" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "What"),
            h("th", { scope: "col" }, "Message"))), eventRows), eventsNote),
      h("section", { class: "panel svc" }, h("h2", {}, "Health checks"),
        h("table", { class: "svc-checks", "aria-label": "Health checks" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Result"),
            h("th", { scope: "col" }, "Health"), h("th", { scope: "col", class: "num" }, "Latency"),
            h("th", { scope: "col" }, "Detail"))), checkRows), checksNote)));

  // The charts take their panel's width.
  const sizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const chart = entry.target === charts.cpu.el.parentElement ? charts.cpu : charts.rss;
      chart.resize(Math.max(200, Math.floor(entry.contentRect.width)), 180);
    }
  });
  sizer.observe(charts.cpu.el.parentElement);
  sizer.observe(charts.rss.el.parentElement);

  let state = null;

  function drawState(s) {
    state = s;
    stateBadge.replaceChildren(badge(s.state));
    healthBadge.replaceChildren(s.health_check ? badge(s.health) : "");
    facts.state.replaceChildren(badge(s.state));
    facts.health.replaceChildren(s.health_check ? badge(s.health) : "no check");
    facts.pid.textContent = s.pid ?? "-";
    facts.port.textContent = s.port ?? "-";
    facts.uptime.textContent = uptime(s.started_at);
    facts.restarts.textContent = String(s.restart_count);
    facts.exit.textContent = s.last_exit_code ?? "-";
    facts.desired.textContent = s.desired_state;
    ctl.update(s.state);
    drawFigures();
  }

  function drawFigures() {
    const latest = samples.latest(state?.started_at);
    facts.cpu.textContent = cpu(latest?.cpu);
    facts.rss.textContent = memory(latest?.rss);
  }

  let logCount = 0;
  function addLog({ lines, skipped_bytes: skipped, initial }) {
    if (initial) { logBox.textContent = ""; logCount = 0; } // (again, after a reconnect)
    const atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 40;
    const text = [];
    if (skipped) text.push(`… ${skipped} bytes written faster than shown were skipped …`);
    text.push(...lines);
    if (text.length) {
      logBox.append(document.createTextNode(text.join("\n") + "\n"));
      logCount += text.length;
    }
    if (logCount > LOG_LINES_MAX) { // drop the oldest lines: keep the page light
      const all = logBox.textContent.split("\n");
      const keep = all.slice(-LOG_LINES_MAX - 1);
      logBox.textContent = keep.join("\n");
      logCount = keep.length - 1;
    }
    logNote.textContent = logCount ? `last ${logCount} lines${logCount >= LOG_LINES_MAX ? " (older ones dropped)" : ""}` : "nothing written yet";
    if (follow.checked && (atBottom || initial)) logBox.scrollTop = logBox.scrollHeight;
  }

  function change(e) {
    if (e.kind === "state") return [badge(e.to_state), " ", h("span", { class: "muted" }, `from ${e.from_state}`)];
    if (e.kind.startsWith("health:")) return ["health ", badge(e.kind.slice(7))];
    return e.kind;
  }

  function addEvents({ events, initial }) {
    if (initial) eventRows.replaceChildren();
    for (const e of events) {
      eventRows.prepend(h("tr", { dataset: { kind: e.kind, to: e.to_state || "" } },
        h("td", {}, h("time", { datetime: e.at }, when(e.at))), h("td", {}, change(e)), h("td", {}, e.message || "")));
    }
    while (eventRows.children.length > EVENTS_MAX) eventRows.lastElementChild.remove();
    eventsNote.textContent = eventRows.children.length ? `${eventRows.children.length} latest, newest first` : "No events yet.";
  }

  function addChecks({ checks, initial }) {
    if (initial) checkRows.replaceChildren();
    for (const c of checks) {
      checkRows.prepend(h("tr", { dataset: { ok: String(c.ok) } },
        h("td", {}, h("time", { datetime: c.checked_at }, when(c.checked_at))),
        h("td", {}, badge(c.ok ? "ok" : "failed")), h("td", {}, badge(c.health)),
        h("td", { class: "num" }, c.latency_ms === null || c.latency_ms === undefined ? "-" : `${c.latency_ms.toFixed(1)} ms`),
        h("td", { class: "mono" }, c.detail || "")));
    }
    while (checkRows.children.length > CHECKS_MAX) checkRows.lastElementChild.remove();
    checksNote.textContent = details.health_check
      ? (checkRows.children.length ? `${checkRows.children.length} latest, newest first (a check that changes nothing is recorded once a minute)` : "No checks yet.")
      : "This service has no health check.";
  }

  function addSamples({ samples: fresh }) {
    for (const sample of fresh) samples.add(sample);
    charts.cpu.draw(samples);
    charts.rss.draw(samples);
    drawFigures();
    chartNote.textContent = samples.length
      ? `${samples.length} samples of the whole process tree, taken while it runs.`
      : "No CPU or memory samples yet: they are taken while the service runs.";
  }

  setInterval(() => { if (state) facts.uptime.textContent = uptime(state.started_at); }, 1000);

  live([`service:${NAME}`], {
    service: drawState,
    log: addLog,
    events: addEvents,
    health: addChecks,
    metrics: addSamples,
  });
}
