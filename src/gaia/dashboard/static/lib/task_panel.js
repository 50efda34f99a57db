// The selected task of a run: its status, attempts, exit code, error, command, a Retry
// button when it failed, and its log as the live stream brings it.
import { api, h, show, badge, button, duration, since, when } from "../gaia.js";

const LOG_KEEP = 1024 * 1024; // characters kept in the page; the full log is a link away

export class TaskPanel {
  /** retry(key); attempts(key): its attempts so far; runStatus(): the run's status. */
  constructor(runId, { retry, attempts, runStatus }) {
    this.runId = runId;
    this.retry = retry;
    this.attempts = attempts;
    this.runStatus = runStatus;
    this.key = null;
    this.element = h("div", { class: "task-panel" });
  }

  clear() {
    this.key = null;
    show(this.element, h("p", { class: "muted" }, "Select a task in the graph, the list or the timeline to see its status and log."));
  }

  show(key, status) {
    this.key = key;
    this.state = { status: status || "pending" };
    this.detail = null;
    this.heading = h("h2", { class: "task-title" }, key);
    this.statusLine = h("div", { class: "task-status" });
    this.facts = h("dl", { class: "facts" });
    this.actions = h("div", { class: "toolbar" });
    this.attemptRows = h("tbody");
    this.logInfo = h("span", { class: "muted" }, "waiting for output…");
    this.log = h("pre", { class: "log task-log", tabindex: "0", "aria-label": `Log of ${key}` });
    show(this.element,
      this.heading, this.statusLine, this.actions, this.facts,
      h("h3", {}, "Attempts"),
      h("table", { class: "attempts" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Status"), h("th", {}, "Exit"), h("th", {}, "Took"), h("th", {}, "Error"))),
        this.attemptRows),
      h("div", { class: "log-head" }, h("h3", {}, "Log"), this.logInfo),
      this.log);
    this.drawState();
    this.drawAttempts();
    const wanted = key;
    api(`/workflows/${encodeURIComponent(this.runId)}/tasks/${encodeURIComponent(key)}`)
      .then((detail) => { if (this.key === wanted) { this.detail = detail; this.drawState(); } })
      .catch((error) => { if (this.key === wanted) this.facts.append(h("p", { class: "error" }, error.message)); });
  }

  setStatus(status) {
    if (!this.key || !status || this.state.status === status) return;
    this.state = { ...this.state, status };
    this.drawState();
  }

  /** The task's state from the log watch: status, attempts, exit code, error, times. */
  setState(state) {
    this.state = state;
    this.drawState();
  }

  drawState() {
    if (!this.key) return;
    const s = this.state, d = this.detail || {};
    show(this.statusLine, h("span", { class: "label" }, "Status "), badge(s.status));
    const facts = [
      ["Attempts", s.attempts !== undefined ? String(s.attempts) : null],
      ["Exit code", s.exit_code ?? (s.status === "completed" || s.status === "failed" ? "-" : null)],
      ["Started", s.started_at ? when(s.started_at) : null],
      ["Took", s.started_at ? duration(since(s.started_at, s.finished_at)) : null],
      ["On error", d.on_error ? (d.max_attempts > 1 ? `${d.on_error} (up to ${d.max_attempts} attempts a run)` : d.on_error) : null],
      ["Depends on", d.dependencies && d.dependencies.length ? d.dependencies.join(", ") : null],
      ["Command", d.command ? h("code", {}, d.command) : null],
    ].filter(([, value]) => value !== null && value !== undefined);
    show(this.facts, facts.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
      s.error ? [h("dt", {}, "Error"), h("dd", { class: "error" }, s.error)] : null);
    this.drawActions();
  }

  drawActions() {
    if (!this.key) return;
    const runStatus = this.runStatus();
    const canRetry = this.state.status === "failed" && runStatus && runStatus !== "running" && runStatus !== "pending";
    show(this.actions, canRetry ? button(`Retry ${this.key}`, () => this.retry(this.key), { class: "primary", "aria-label": "Retry task" }) : null);
  }

  drawAttempts() {
    if (!this.key) return;
    const items = this.attempts(this.key);
    if (!items.length) {
      show(this.attemptRows, h("tr", {}, h("td", { colspan: "5", class: "muted" }, "not run yet")));
      return;
    }
    show(this.attemptRows, items.map((a) => h("tr", {},
      h("td", {}, String(a.attempt)), h("td", {}, badge(a.status)), h("td", {}, a.exit_code ?? "-"),
      h("td", {}, a.duration_ms !== null && a.duration_ms !== undefined ? duration(a.duration_ms / 1000) : duration(since(a.started_at))),
      h("td", { class: "error" }, a.error || ""))));
  }

  /** A log event: the latest attempt's output so far (reset) or what was appended. */
  appendLog(event) {
    const log = this.log;
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
    if (event.reset) {
      log.textContent = "";
      const url = `/api/orchestration/workflows/${encodeURIComponent(this.runId)}/tasks/${encodeURIComponent(this.key)}/logs?attempt=${event.attempt}`;
      show(this.logInfo, event.attempt ? `attempt ${event.attempt}` : "not run yet",
        event.truncated ? [" · the last 256 KiB · ", h("a", { href: url, target: "_blank" }, "whole log")] : null);
    }
    if (event.text) log.append(event.text);
    if (log.textContent.length > LOG_KEEP) log.textContent = log.textContent.slice(-LOG_KEEP);
    log.dataset.loaded = "1";
    if (atEnd || event.reset) log.scrollTop = log.scrollHeight;
  }
}
