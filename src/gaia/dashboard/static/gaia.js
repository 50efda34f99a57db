// What every view shares: the API, the one live stream, DOM building, formatting.
// No framework and no build: ES modules served by the daemon, nothing from elsewhere.

export const API = "/api/orchestration";
export const main = document.getElementById("main");
export const view = document.getElementById("view");

/** An API error: the problem document's status, code, message and details. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.error?.message || problem?.message || problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Call the REST API (signed in by the cookie); JSON in and out. */
export async function api(path, { method = "GET", body, query, text = false } = {}) {
  let url = API + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    const qs = params.toString();
    if (qs) url += (url.includes("?") ? "&" : "?") + qs;
  }
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    if (typeof body === "string") {
      init.body = body;
      init.headers["Content-Type"] = "application/yaml";
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(url, init);
  if (response.status === 401) {
    location.reload(); // signed out (the daemon restarted): the page shows the sign-in form
    throw new ApiError(401, { message: "signed out" });
  }
  const raw = await response.text();
  let data = raw;
  if (!text) {
    try { data = raw ? JSON.parse(raw) : null; } catch { data = raw; }
  }
  if (!response.ok) throw new ApiError(response.status, typeof data === "object" ? data : { message: raw });
  return data;
}

/**
 * The page's one Server-Sent Events connection. `watches` is a list of watch specs
 * ("summary", "run:ID", ...); `handlers` maps event names to functions of the parsed
 * data. `set(watches)` replaces what is watched (the stream is reopened: still one).
 */
export function live(watches, handlers) {
  const status = document.getElementById("live-status");
  let source = null;
  let current = watches;
  const open = () => {
    if (source) source.close();
    const params = new URLSearchParams();
    for (const spec of current) params.append("watch", spec);
    source = new EventSource(`${API}/events?${params}`);
    source.onopen = () => { status.textContent = "live"; status.className = "live on"; };
    source.onerror = () => { status.textContent = "reconnecting…"; status.className = "live off"; };
    const names = new Set([...Object.keys(handlers), "error", "end"]);
    for (const name of names) {
      source.addEventListener(name, (event) => {
        let data = null;
        try { data = JSON.parse(event.data); } catch { data = event.data; }
        if (name === "error" && !handlers.error) { toast(`${data.watch}: ${data.message}`, "error"); return; }
        if (name === "end" && !handlers.end) { status.textContent = "daemon stopped"; source.close(); return; }
        handlers[name](data);
      });
    }
  };
  open();
  addEventListener("pagehide", () => source && source.close());
  return {
    set(watches) { current = watches; open(); },
    close() { if (source) source.close(); },
  };
}

/** h("a", {href, class: "x", onclick}, "text", child): an element; strings are text. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace `parent`'s content. */
export function show(parent, ...children) {
  parent.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

/** A status as a coloured badge that also says it in words. */
export function badge(status) {
  const text = status ?? "unknown";
  return h("span", { class: `badge s-${String(text).replace(/[^a-z_]/gi, "")}` }, text);
}

/** A button that calls `action` and reports its failure; disabled while it runs. */
export function button(label, action, attrs = {}) {
  const el = h("button", { type: "button", ...attrs }, label);
  el.addEventListener("click", async () => {
    el.disabled = true;
    try { await action(); } catch (error) { toast(error.message, "error"); } finally { el.disabled = false; }
  });
  return el;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = h("div", { class: `toast ${kind}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60) return `${m}m ${s}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function since(iso, until) {
  if (!iso) return null;
  const end = until ? Date.parse(until) : Date.now();
  return Math.max(0, (end - Date.parse(iso)) / 1000);
}

export function when(iso) {
  if (!iso) return "-";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { hour12: false });
}

export function ago(iso) {
  const s = since(iso);
  if (s === null) return "-";
  if (s < 5) return "just now";
  return `${duration(s).replace(/\.\d s$/, " s")} ago`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Set the page's heading (and the tab's title). */
export function title(text) {
  document.getElementById("title").textContent = text;
  document.title = `${text} · gaia`;
}

/** Problems of a 422 as "line:column message" lines. */
export function problems(error) {
  // gaia's problem documents carry them as error.details (a validation error of FastAPI's
  // own as well); accept a bare details list too.
  const raw = error?.problem?.error?.details ?? error?.problem?.details;
  const details = Array.isArray(raw) ? raw : [];
  if (!details.length) return [error.message];
  return details.map((p) => {
    const where = p.line ? `line ${p.line}${p.column ? `:${p.column}` : ""}` : (p.path || p.loc?.join(".") || "");
    return where ? `${where}: ${p.message || p.msg}` : (p.message || p.msg);
  });
}
