// A session: its windows and panes, the selected pane's text live, a box that sends keys
// or a command to that pane, kill and restore. The selection is in the URL
// (?window=ID&pane=ID), so it can be shared and the back button returns to the last one.
import { api, h, show, view, main, live, when, title, toast } from "../gaia.js";
import {
  agoText, killControl, locatedProblems, paneLabel, problemList, restore, sessionHref, statusBadge, windowLabel,
} from "../lib/sessions.js";

const ref = main.dataset.session;
let session = null; // the latest SessionView (from the `session` watch)
let selection = readSelection();

function readSelection() {
  const params = new URLSearchParams(location.search);
  return { window: params.get("window") || "", pane: params.get("pane") || "" };
}

// -- layout ------------------------------------------------------------------------
const facts = h("dl", { class: "facts", id: "session-facts" });
const controls = h("div", { class: "toolbar", id: "session-controls" });
const treeBox = h("nav", { class: "panel pane-tree", id: "pane-tree", "aria-label": "Windows and panes" });
const previewTitle = h("h2", { id: "preview-title" }, "Pane");
const previewMeta = h("p", { class: "muted", id: "preview-meta" });
const preview = h("pre", { class: "log pane-preview", id: "pane-preview", tabindex: 0, "aria-label": "Pane text", "aria-live": "off" });

const keysInput = h("input", {
  id: "send-keys", name: "keys", type: "text", autocomplete: "off", spellcheck: "false",
  placeholder: "a command, or tmux key names (C-c, Up, Escape)", "aria-describedby": "send-help",
});
const literal = h("input", { id: "send-literal", type: "checkbox" });
const enter = h("input", { id: "send-enter", type: "checkbox", checked: true });
const sendButton = h("button", { type: "submit", class: "primary" }, "Send");
const sendErrors = h("div", { id: "send-errors", "aria-live": "polite" });
const sendForm = h("form", { class: "send-keys", "aria-label": "Send keys to the pane" },
  h("div", { class: "toolbar" },
    h("label", { for: "send-keys", class: "visually-hidden" }, "Keys or command"), keysInput, sendButton),
  h("div", { class: "toolbar" },
    h("label", { class: "inline" }, literal, "Literal (type the text as it is, no key names)"),
    h("label", { class: "inline" }, enter, "Press Enter after"),
    h("span", { class: "spacer" }),
    h("span", { class: "muted" }, "Keys:"),
    ["C-c", "C-d", "Up", "Tab", "Escape"].map((key) =>
      h("button", { type: "button", title: `send ${key}`, onclick: () => send([key], { enter: false, literal: false }) }, key))),
  h("p", { id: "send-help", class: "muted" },
    "Without “literal”, words such as C-c or Enter are tmux key names; with it, the text is typed exactly."),
  sendErrors);
const previewPanel = h("section", { class: "panel preview-panel" }, previewTitle, previewMeta, preview, sendForm);
const body = h("div", { class: "session-body" }, treeBox, previewPanel);
show(view, h("section", { class: "panel" }, controls, facts), body);

// -- sending -----------------------------------------------------------------------
async function send(keys, { enter: withEnter, literal: isLiteral }) {
  const target = selected();
  if (!target) { toast("Select a pane first", "error"); return false; }
  show(sendErrors);
  try {
    await api(`/sessions/${encodeURIComponent(session.id)}/send-keys`, {
      method: "POST",
      body: { window_id: target.window.id, pane_id: target.pane.id, keys, enter: withEnter, literal: isLiteral },
    });
    return true;
  } catch (error) {
    show(sendErrors, problemList(locatedProblems(error), "Send problems"));
    return false;
  }
}

sendForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = keysInput.value;
  if (!text && !enter.checked) return;
  sendButton.disabled = true;
  // Without "literal", tmux reads key names word by word; the text is one argument, so a
  // command with spaces still arrives as typed (tmux types an unknown name's letters).
  const ok = await send(text ? [text] : [], { enter: enter.checked, literal: literal.checked });
  sendButton.disabled = false;
  if (ok) keysInput.value = "";
  keysInput.focus();
});

// -- selection ---------------------------------------------------------------------
function selected() {
  if (!session || session.status !== "alive") return null;
  const window = session.windows.find((w) => w.id === selection.window)
    || session.windows.find((w) => w.active) || session.windows[0];
  if (!window) return null;
  const pane = window.panes.find((p) => p.id === selection.pane)
    || window.panes.find((p) => p.active) || window.panes[0];
  return pane ? { window, pane } : null;
}

let watched = "";
let stream = null;

function watches() {
  const list = [`session:${encodeURIComponent(ref)}`];
  const target = selected();
  if (target) {
    list.push(`pane:${[session.id, target.window.id, target.pane.id].map(encodeURIComponent).join("/")}`);
  }
  return list;
}

/** Watch what is selected now (one stream; reopened only when the selection changed). */
function follow() {
  const list = watches();
  const key = list.join("&");
  if (key === watched) return;
  watched = key;
  if (list.length > 1) show(preview, h("span", { class: "muted" }, "Capturing…"));
  if (stream) stream.set(list);
  else stream = live(list, { session: onSession, pane: onPane });
}

function select(window, pane, push = true) {
  selection = { window: window.id, pane: pane.id };
  const href = sessionHref(ref, window.id, pane.id);
  if (push) history.pushState(selection, "", href);
  else history.replaceState(selection, "", href);
  drawTree();
  follow();
}

addEventListener("popstate", () => {
  selection = readSelection();
  drawTree();
  follow();
});

// -- drawing -----------------------------------------------------------------------
function drawTree() {
  if (!session) return;
  const target = selected();
  const alive = session.status === "alive";
  show(treeBox,
    h("h2", {}, "Windows and panes"),
    session.windows.length ? h("ul", { class: "windows" }, session.windows.map((w) =>
      h("li", { "data-window": w.id },
        h("span", { class: "window-name" }, windowLabel(w)),
        h("ul", { class: "panes" }, w.panes.map((p) => {
          const current = target && target.pane.id === p.id;
          return h("li", { "data-pane": p.id },
            alive
              ? h("a", {
                href: sessionHref(ref, w.id, p.id), class: current ? "current" : "",
                "aria-current": current ? "true" : null,
                onclick: (event) => { event.preventDefault(); select(w, p); },
              }, paneLabel(p))
              : h("span", {}, paneLabel(p)),
            p.current_path ? h("div", { class: "muted mono path" }, p.current_path) : null);
        }))))) : h("p", { class: "muted" }, "No windows."));
}

function drawFacts() {
  show(facts,
    h("dt", {}, "Status"), h("dd", {}, statusBadge(session)),
    h("dt", {}, "Origin"), h("dd", {}, session.origin),
    session.layout_file ? [h("dt", {}, "Layout file"), h("dd", { class: "mono" }, session.layout_file)] : null,
    h("dt", {}, "Directory"), h("dd", { class: "mono" }, session.start_directory || "-"),
    h("dt", {}, "tmux"), h("dd", { class: "mono" }, `${session.tmux_id || "-"} on socket ${session.socket}`),
    h("dt", {}, "Created"), h("dd", {}, when(session.created_at)),
    h("dt", {}, session.status === "alive" ? "Last activity" : "Dead since"),
    h("dd", {}, session.status === "alive" ? agoText(session.last_activity_at) : when(session.dead_at)),
    session.environment_keys.length
      ? [h("dt", {}, "Environment"), h("dd", { class: "mono" }, session.environment_keys.join(", "))] : null);
}

let drawnControlsFor = "";
function drawControls() {
  // Redrawn only when the status changes, so that an open kill confirmation stays.
  const key = `${session.id}:${session.status}`;
  if (key === drawnControlsFor) return;
  drawnControlsFor = key;
  const gone = () => { location.href = "/sessions"; };
  show(controls,
    h("a", { href: "/sessions" }, "← All sessions"),
    h("span", { class: "spacer" }),
    session.status === "dead"
      ? h("button", { type: "button", class: "primary", onclick: async (e) => { e.target.disabled = true; await restore(session); e.target.disabled = false; } }, "Restore")
      : null,
    killControl(session, gone));
}

function onSession(state) {
  if (!state.session) {
    session = null;
    drawnControlsFor = "";
    title(`Session ${ref}`);
    show(view, h("section", { class: "panel" },
      h("p", {}, `There is no session ${ref} (any more).`),
      h("a", { href: "/sessions" }, "← All sessions")));
    if (stream) stream.close();
    return;
  }
  session = state.session;
  title(`Session ${session.name}`);
  drawControls();
  drawFacts();
  drawTree();
  previewPanel.hidden = session.status !== "alive";
  const target = selected();
  if (target && (selection.window !== target.window.id || selection.pane !== target.pane.id)) {
    select(target.window, target.pane, false); // the default selection, written into the URL
  } else {
    follow();
  }
}

function onPane(data) {
  const target = selected();
  if (!target || data.pane && data.pane !== target.pane.id) return; // an earlier selection's
  previewTitle.textContent = `Pane ${target.pane.index} of window ${windowLabel(target.window)}`;
  if (data.state !== "live") {
    previewMeta.textContent = data.message || data.state;
    show(preview, h("span", { class: "muted" }, "No text: the pane is gone."));
    return;
  }
  previewMeta.textContent = `${data.tmux_id} · running ${data.current_command || "?"}${data.dead ? " · exited" : ""}`;
  // Stay at the bottom if the reader was there; otherwise keep their place.
  const atBottom = preview.scrollTop + preview.clientHeight >= preview.scrollHeight - 4;
  preview.textContent = data.text;
  if (atBottom) preview.scrollTop = preview.scrollHeight;
}

title(`Session ${ref}`);
follow();
