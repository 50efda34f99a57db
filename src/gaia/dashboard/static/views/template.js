// A template: its variables as a form, a preview of the files a project would get (a dry
// run: nothing is written), then Generate, and what was written. Problems are shown at
// the field they are about (422 details name `variables.NAME` or `path`).
import { api, h, show, view, main, live, title, toast } from "../gaia.js";
import { problemDetails } from "../lib/sessions.js";

const name = main.dataset.template;
title(`Template ${name}`);

let template = null;
let previewed = null; // the request body the current preview was made from (JSON)
const fields = new Map(); // variable name -> { read(), error element }

const about = h("section", { class: "panel", id: "template-about" }, h("p", { class: "muted" }, "Loading…"));
const form = h("form", { class: "panel scaffold-form", id: "scaffold-form", "aria-label": "Generate a project", novalidate: true });
const outcome = h("section", { class: "panel", id: "scaffold-outcome", "aria-live": "polite", hidden: true });
show(view, about, form, outcome);

// -- the form ----------------------------------------------------------------------
function help(v) {
  const bits = [`type ${v.type}`];
  bits.push(v.required ? "required" : "optional");
  if (v.default !== null && v.default !== undefined) bits.push(`default: ${v.default}`);
  if (v.choices) bits.push(`one of: ${v.choices.join(", ")}`);
  if (v.pattern) bits.push(`must match ${v.pattern}`);
  return bits.join(" · ");
}

function input(v) {
  const id = `var-${v.name}`;
  const described = `help-${v.name} err-${v.name}`;
  if (v.type === "bool") {
    const el = h("input", { id, name: v.name, type: "checkbox", checked: v.default === true, "aria-describedby": described });
    return { el, read: () => el.checked };
  }
  if (v.type === "choice" && v.choices) {
    const el = h("select", { id, name: v.name, "aria-describedby": described },
      v.default === null || v.default === undefined ? h("option", { value: "" }, "(choose)") : null,
      v.choices.map((c) => h("option", { value: c, selected: String(v.default) === c }, c)));
    return { el, read: () => el.value };
  }
  const el = h("input", {
    id, name: v.name, type: v.type === "int" ? "number" : "text", "aria-describedby": described,
    placeholder: v.default !== null && v.default !== undefined ? String(v.default) : "",
    "aria-required": v.required && (v.default === null || v.default === undefined) ? "true" : null,
    autocomplete: "off", spellcheck: "false",
  });
  // Empty means "not given": the template's default (which may use other variables) applies.
  return { el, read: () => el.value.trim() };
}

const pathInput = h("input", {
  id: "target-path", name: "path", type: "text", autocomplete: "off", spellcheck: "false",
  placeholder: "/absolute/path/of/the/new/project", "aria-describedby": "err-path",
});
const runHooks = h("input", { id: "run-hooks", type: "checkbox", checked: true });
const force = h("input", { id: "force", type: "checkbox" });
const formErrors = h("div", { id: "form-errors", "aria-live": "polite" });
const previewButton = h("button", { type: "submit", class: "primary" }, "Preview");
const generateButton = h("button", { type: "button", disabled: true, onclick: () => generate() }, "Generate");
const staleNote = h("span", { class: "muted", id: "preview-note" }, "Preview first: Generate writes what the preview listed.");

function drawForm() {
  const rows = template.variables.map((v) => {
    const field = input(v);
    const error = h("div", { class: "field-error error", id: `err-${v.name}`, role: "alert" });
    fields.set(v.name, { ...field, error, variable: v });
    return h("div", { class: "field", "data-variable": v.name },
      h("label", { for: `var-${v.name}` }, v.name, v.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
      h("div", {}, field.el,
        h("div", { class: "muted help", id: `help-${v.name}` }, v.description ? `${v.description} — ${help(v)}` : help(v)),
        error));
  });
  show(form,
    h("h2", {}, "Variables"),
    rows.length ? h("div", { class: "fields" }, rows) : h("p", { class: "muted" }, "This template has no variables."),
    h("h2", {}, "Where"),
    h("div", { class: "fields" },
      h("div", { class: "field", "data-variable": "path" },
        h("label", { for: "target-path" }, "Directory", h("span", { class: "required", "aria-hidden": "true" }, " *")),
        h("div", {}, pathInput,
          h("div", { class: "muted help" }, "An absolute path on the daemon's machine; nothing is written outside it."),
          h("div", { class: "field-error error", id: "err-path", role: "alert" })))),
    h("div", { class: "toolbar" },
      h("label", { class: "inline" }, runHooks, "Run the template's hooks"),
      h("label", { class: "inline" }, force, "Overwrite files that exist")),
    formErrors,
    h("div", { class: "toolbar" }, previewButton, generateButton, staleNote));
}

function request() {
  const variables = {};
  for (const [key, field] of fields) {
    const value = field.read();
    if (value === "" || value === null) continue;
    variables[key] = field.variable.type === "int" && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return { template: name, path: pathInput.value.trim(), variables, run_hooks: runHooks.checked, force: force.checked };
}

function clearErrors() {
  for (const field of fields.values()) { field.error.textContent = ""; field.el.removeAttribute("aria-invalid"); }
  document.getElementById("err-path").textContent = "";
  pathInput.removeAttribute("aria-invalid");
  show(formErrors);
}

/** Each problem at its field; what belongs to no field, above the buttons. */
function showErrors(error) {
  const details = problemDetails(error);
  const general = [];
  for (const p of details) {
    const path = p.path || "";
    const message = p.message || p.msg || "";
    const hint = p.hint ? ` (${p.hint})` : "";
    const variable = path.startsWith("variables.") ? path.slice("variables.".length) : null;
    if (variable && fields.has(variable)) {
      const field = fields.get(variable);
      field.error.append(h("div", {}, message + hint));
      field.el.setAttribute("aria-invalid", "true");
    } else if (path === "path") {
      document.getElementById("err-path").append(h("div", {}, message + hint));
      pathInput.setAttribute("aria-invalid", "true");
    } else {
      const where = p.line ? `${p.source}:${p.line}:${p.column || 1}: ` : path ? `${path}: ` : "";
      general.push(`${where}${message}${hint}`);
    }
  }
  if (!details.length) general.push(error.message);
  show(formErrors, general.length
    ? h("ul", { class: "problems", "aria-label": "Problems" }, general.map((line) => h("li", {}, line)))
    : h("p", { class: "error" }, "Fix the fields marked above."));
}

function stale() {
  if (previewed === null) return;
  previewed = null;
  generateButton.disabled = true;
  staleNote.textContent = "The form changed: preview again before generating.";
}
form.addEventListener("input", stale);
form.addEventListener("change", stale);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const body = request();
  previewButton.disabled = true;
  try {
    const result = await api("/scaffold", { method: "POST", body: { ...body, dry_run: true, contents: true } });
    previewed = JSON.stringify(body);
    generateButton.disabled = false;
    staleNote.textContent = `Generate writes these ${result.files.length} files into ${result.path}.`;
    drawPreview(result);
  } catch (error) {
    outcome.hidden = true;
    showErrors(error);
  } finally {
    previewButton.disabled = false;
  }
});

async function generate() {
  const body = request();
  if (JSON.stringify(body) !== previewed) { stale(); return; }
  clearErrors();
  generateButton.disabled = true;
  try {
    const result = await api("/scaffold", { method: "POST", body });
    toast(`Generated ${result.files.length} files in ${result.path}`);
    previewed = null;
    staleNote.textContent = "Generated. Change the form and preview again to make another.";
    drawResult(result);
  } catch (error) {
    generateButton.disabled = false;
    showErrors(error);
  }
}

// -- preview and result ------------------------------------------------------------
function drawPreview(result) {
  const content = h("pre", { class: "file-content", id: "file-content", tabindex: 0, "aria-label": "File content" });
  const heading = h("h3", { id: "file-heading" }, "Select a file to see its content");
  const list = h("ul", { class: "files", id: "preview-files", "aria-label": "Files that would be written" },
    result.files.map((path) => h("li", {},
      h("button", {
        type: "button", class: "file", "data-file": path,
        onclick: (event) => {
          for (const b of list.querySelectorAll("button[aria-pressed]")) b.setAttribute("aria-pressed", "false");
          event.currentTarget.setAttribute("aria-pressed", "true");
          heading.textContent = path;
          const text = result.contents ? result.contents[path] : undefined;
          content.textContent = text === null ? "(not text: shown only as a file)" : (text ?? "");
        },
        "aria-pressed": "false",
      }, path))));
  outcome.hidden = false;
  show(outcome,
    h("h2", {}, `Preview: ${result.files.length} files into ${result.path}`),
    h("p", { class: "muted" }, "Nothing has been written yet."),
    h("div", { class: "preview-body" },
      h("div", {}, list,
        result.directories.length ? [h("h3", {}, "Directories"), h("ul", { class: "mono dirs" }, result.directories.map((d) => h("li", {}, `${d}/`)))] : null,
        result.skipped.length ? [h("h3", {}, "Skipped (their condition is false)"), h("ul", { class: "mono" }, result.skipped.map((f) => h("li", {}, f)))] : null,
        result.hooks.length ? [h("h3", {}, "Hooks that would run"), h("ul", { class: "mono" }, result.hooks.map((c) => h("li", {}, c)))] : null),
      h("div", { class: "file-view" }, heading, content)));
  const first = list.querySelector("button");
  if (first) first.click();
}

function drawResult(result) {
  outcome.hidden = false;
  show(outcome,
    h("h2", { id: "generated" }, `Generated ${result.files.length} files in ${result.path}`),
    h("h3", {}, "Files written"),
    h("ul", { class: "mono", id: "written-files", "aria-label": "Files written" }, result.files.map((f) => h("li", {}, f))),
    h("h3", {}, "Hooks run"),
    result.hooks.length
      ? h("ul", { class: "mono", id: "hooks-run", "aria-label": "Hooks run" }, result.hooks.map((c) => h("li", {}, c)))
      : h("p", { class: "muted", id: "hooks-run" }, "none"));
}

// -- about -------------------------------------------------------------------------
function drawAbout() {
  const t = template;
  show(about,
    h("p", {}, t.description || h("span", { class: "muted" }, "no description")),
    h("dl", { class: "facts" },
      h("dt", {}, "Version"), h("dd", {}, t.version || "-"),
      h("dt", {}, "Language"), h("dd", {}, [t.language, t.framework].filter(Boolean).join(" · ") || "-"),
      h("dt", {}, "Origin"), h("dd", {}, t.origin),
      h("dt", {}, "Path"), h("dd", { class: "mono" }, t.path),
      h("dt", {}, "Hooks"), h("dd", { class: "mono" },
        [...t.hooks.pre_generate.map((c) => `pre: ${c}`), ...t.hooks.post_generate.map((c) => `post: ${c}`)].join("\n") || "none")),
    h("p", {}, h("a", { href: "/templates" }, "← All templates")));
}

function notFound(message) {
  show(about, h("p", { class: "error" }, message), h("p", {}, h("a", { href: "/templates" }, "← All templates")));
  form.hidden = true;
  outcome.hidden = true;
}

// The template follows the registry: replaced while the page is open, its description is
// redrawn and the form offered again (without losing what was typed until asked).
function onTemplates(templates) {
  const found = templates.find((t) => t.name === name);
  if (!found) { notFound(`There is no template ${name} (any more).`); return; }
  const changed = template !== null && JSON.stringify(found) !== JSON.stringify(template);
  const first = template === null;
  template = found;
  drawAbout();
  if (first) { drawForm(); return; }
  if (changed) {
    about.append(h("p", { class: "notice", role: "status" }, "This template changed since the form was drawn. ",
      h("button", { type: "button", onclick: () => { fields.clear(); previewed = null; generateButton.disabled = true; drawForm(); drawAbout(); } }, "Redraw the form")));
  }
}

live(["templates"], { templates: onTemplates });
