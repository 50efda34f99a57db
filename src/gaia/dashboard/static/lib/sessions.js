// What the Sessions list and a session's page share: locations of problems, a confirmed
// kill, restore, and the tree of windows and panes.
import { api, h, show, badge, toast, ago, when } from "../gaia.js";

/** A session's page, with a pane selected (gaia ids). */
export function sessionHref(session, window, pane) {
  const params = new URLSearchParams();
  if (window) params.set("window", window);
  if (pane) params.set("pane", pane);
  const qs = params.toString();
  return `/sessions/${encodeURIComponent(session)}${qs ? `?${qs}` : ""}`;
}

/** The details of an API error: gaia's problem documents keep them in `error.details`. */
export function problemDetails(error) {
  const problem = error?.problem || {};
  const details = problem.error?.details ?? problem.details;
  return Array.isArray(details) ? details : [];
}

/** An API error as lines "file:line:column: message" (or the field path, or the message). */
export function locatedProblems(error) {
  const details = problemDetails(error);
  if (!details.length) return [error.message];
  return details.map((p) => {
    const message = p.message || p.msg || "";
    const hint = p.hint ? ` (${p.hint})` : "";
    if (p.line) return `${p.source || "input"}:${p.line}:${p.column || 1}: ${message}${hint}`;
    const where = p.path || (Array.isArray(p.loc) ? p.loc.join(".") : "");
    return where ? `${where}: ${message}${hint}` : `${message}${hint}`;
  });
}

export function problemList(lines, label) {
  return h("ul", { class: "problems", "aria-label": label }, lines.map((line) => h("li", {}, line)));
}

/**
 * A Kill button that asks first, in place: "Kill session NAME?" with the real button
 * beside a Cancel. `done` runs after the session is gone.
 */
export function killControl(session, done) {
  // A dead session has nothing to kill: the same DELETE forgets its record.
  const verb = session.status === "dead" ? "Forget" : "Kill";
  const consequence = session.status === "dead"
    ? "Its record is deleted; it cannot be restored." : "Its processes get SIGHUP.";
  const box = h("span", { class: "confirm" });
  const ask = () => show(box,
    h("span", { class: "confirm-question" }, `${verb} session ${session.name}? ${consequence}`),
    h("button", { type: "button", class: "danger", onclick: kill }, `${verb} session ${session.name}`),
    h("button", { type: "button", onclick: reset }, "Cancel"));
  const reset = () => show(box, h("button", { type: "button", class: "danger", onclick: ask }, verb));
  async function kill(event) {
    event.target.disabled = true;
    try {
      await api(`/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
      toast(`${verb === "Kill" ? "Killed" : "Forgot"} session ${session.name}`);
      if (done) done();
    } catch (error) {
      toast(`${verb} ${session.name}: ${error.message}`, "error");
      reset();
    }
  }
  reset();
  return box;
}

export async function restore(session) {
  try {
    await api(`/sessions/${encodeURIComponent(session.id)}/restore`, { method: "POST" });
    toast(`Restored session ${session.name}`);
  } catch (error) {
    toast(`Restore ${session.name}: ${error.message}`, "error");
  }
}

export function statusBadge(session) {
  return [badge(session.status), session.attached ? h("span", { class: "badge s-running" }, "attached") : null];
}

/** What a pane is doing, in words: its command, or what it was started with. */
export function paneLabel(pane) {
  const what = pane.current_command || (pane.commands || []).join("; ") || "shell";
  return `pane ${pane.index}${pane.tmux_id ? ` (${pane.tmux_id})` : ""}: ${what}`;
}

export function windowLabel(window) {
  return `${window.index}: ${window.name}${window.active ? " (active)" : ""}`;
}

/** "5 s ago", kept current by a local timer (no request: the time passes by itself). */
export function agoText(iso) {
  return h("time", { datetime: iso, "data-ago": iso, title: when(iso) }, ago(iso));
}

setInterval(() => {
  for (const el of document.querySelectorAll("time[data-ago]")) el.textContent = ago(el.dataset.ago);
}, 5000);
