// The Workflows view's "Start a workflow" form: from a file on the daemon's machine or from
// pasted YAML, with variables and "start now". A definition's problems are listed as
// "line L:C message"; clicking one selects that line, and the gutter marks it.
import { api, h, show } from "../gaia.js";

const MODES = { file: "A file on the daemon's machine", yaml: "Pasted YAML" };
const EXAMPLE = `name: hello
tasks:
  - id: greet
    command: echo "hello from gaia"
  - id: done
    command: echo done
    dependencies: [greet]
`;

/** Each problem of a failed request: {line, column, message, where} (where: file:L:C). */
export function problemsOf(error) {
  const problem = error?.problem || {};
  const details = problem.error?.details ?? problem.details;
  if (!Array.isArray(details) || !details.length) return [{ message: error.message }];
  return details.map((d) => {
    const message = (d.message || d.msg || "") + (d.hint ? ` (${d.hint})` : "");
    const where = d.line ? `${d.source ? `${d.source}:` : ""}${d.line}:${d.column || 1}` : (d.source && d.source !== "<request body>" ? d.source : d.path || "");
    return { line: d.line || null, column: d.column || null, message, where, field: d.path || null };
  });
}

export function startForm({ onClose, onMode }) {
  let mode = "yaml";
  const radios = Object.entries(MODES).map(([value, label]) => {
    const input = h("input", { type: "radio", name: "wf-source", value });
    input.addEventListener("change", () => { if (input.checked) onMode(value); });
    return h("label", { class: "inline" }, input, label);
  });
  const path = h("input", {
    type: "text", id: "wf-path", class: "mono", spellcheck: "false", autocomplete: "off",
    placeholder: "/home/me/project/workflow.yaml",
  });
  const gutter = h("div", { class: "wf-gutter", "aria-hidden": "true" });
  const yaml = h("textarea", {
    id: "wf-yaml", rows: "14", wrap: "off", spellcheck: "false", autocomplete: "off",
    "aria-describedby": "wf-problems",
  });
  yaml.value = EXAMPLE;
  const baseDir = h("input", {
    type: "text", id: "wf-base-dir", class: "mono", spellcheck: "false", autocomplete: "off",
    placeholder: "default: the daemon user's home folder",
  });
  const variables = h("textarea", {
    id: "wf-vars", rows: "2", spellcheck: "false", autocomplete: "off", placeholder: "name=value, one a line",
  });
  const startNow = h("input", { type: "checkbox", id: "wf-start-now", checked: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Start");
  const problems = h("ul", { class: "problems wf-problems", id: "wf-problems", "aria-live": "assertive" });
  const fileFields = h("div", { class: "wf-field" },
    h("label", { for: "wf-path" }, "Workflow file (absolute path on the daemon's machine; its relative paths are its folder's)"),
    path);
  const yamlFields = h("div", {},
    h("div", { class: "wf-field" },
      h("label", { for: "wf-yaml" }, "Workflow YAML"),
      h("div", { class: "wf-editor" }, gutter, yaml)),
    h("div", { class: "wf-field" }, h("label", { for: "wf-base-dir" }, "Folder for relative paths (optional, absolute)"), baseDir));
  const close = h("button", { type: "button", class: "link wf-close", onclick: onClose }, "Close");
  const form = h("form", { class: "panel wf-start", id: "wf-start", "aria-labelledby": "wf-start-title", hidden: true, novalidate: true },
    h("div", { class: "wf-start-head" }, h("h2", { id: "wf-start-title" }, "Start a workflow"), close),
    h("fieldset", { class: "wf-source" }, h("legend", {}, "Definition from"), radios),
    fileFields, yamlFields,
    h("div", { class: "wf-field" }, h("label", { for: "wf-vars" }, "Variables (optional)"), variables),
    h("div", { class: "toolbar" },
      h("label", { class: "inline" }, startNow, "Start now"),
      submit),
    problems);

  let bad = new Map(); // line -> messages of the problems at it

  function drawGutter() {
    const lines = yaml.value.split("\n").length;
    if (gutter.childElementCount !== lines || bad.size) {
      gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => {
        const messages = bad.get(i + 1);
        return h("div", { class: messages ? "bad" : null, title: messages ? messages.join("\n") : null }, String(i + 1));
      }));
    }
    gutter.scrollTop = yaml.scrollTop;
  }

  /** Select line `line` of the YAML (and show it). */
  function selectLine(line) {
    const text = yaml.value;
    let start = 0;
    for (let i = 1; i < line; i++) {
      const newline = text.indexOf("\n", start);
      if (newline < 0) { start = text.length; break; }
      start = newline + 1;
    }
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    yaml.focus();
    yaml.setSelectionRange(start, end);
    const height = parseFloat(getComputedStyle(yaml).lineHeight) || 18;
    yaml.scrollTop = Math.max(0, (line - 3) * height);
    drawGutter();
  }

  function showProblems(list) {
    bad = new Map();
    if (mode === "yaml") {
      for (const p of list) if (p.line) bad.set(p.line, [...(bad.get(p.line) || []), p.message]);
    }
    drawGutter();
    show(problems, list.map((p) => {
      if (mode === "yaml" && p.line) {
        return h("li", {}, h("button", {
          type: "button", class: "wf-at", onclick: () => selectLine(p.line),
          title: "select this line",
        }, `line ${p.line}:${p.column || 1}`), " ", p.message);
      }
      return h("li", {}, p.where ? `${p.where}: ${p.message}` : p.message);
    }));
  }

  yaml.addEventListener("input", () => {
    if (bad.size) { bad = new Map(); gutter.replaceChildren(); }
    drawGutter();
  });
  yaml.addEventListener("scroll", () => { gutter.scrollTop = yaml.scrollTop; });
  startNow.addEventListener("change", () => { submit.textContent = startNow.checked ? "Start" : "Create run"; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const vars = variables.value.split("\n").map((v) => v.trim()).filter(Boolean);
    const query = { var: vars, start: startNow.checked ? "true" : undefined };
    submit.disabled = true;
    show(problems);
    try {
      let created;
      if (mode === "file") {
        const file = path.value.trim();
        if (!file) { showProblems([{ message: "name the workflow file: an absolute path on the daemon's machine" }]); return; }
        created = await api("/workflows", { method: "POST", query: { ...query, path: file } });
      } else {
        created = await api("/workflows", { method: "POST", body: yaml.value, query: { ...query, base_dir: baseDir.value.trim() } });
      }
      location.assign(`/workflows/${encodeURIComponent(created.id)}`);
    } catch (error) {
      showProblems(problemsOf(error));
    } finally {
      submit.disabled = false;
    }
  });

  return {
    element: form,
    /** Show the form in `wanted` mode ("file" or "yaml"), or hide it (""). */
    show(wanted) {
      form.hidden = !wanted;
      if (!wanted) return;
      const next = wanted === "file" ? "file" : "yaml";
      if (next !== mode) { mode = next; show(problems); bad = new Map(); }
      for (const label of radios) {
        const input = label.querySelector("input");
        input.checked = input.value === mode;
      }
      fileFields.hidden = mode !== "file";
      yamlFields.hidden = mode !== "yaml";
      drawGutter();
    },
  };
}
