// Templates: every scaffold template (built-in and registered) with its description and
// variables, live; each links to its page, where a project is previewed and generated.
import { h, show, view, live } from "../gaia.js";

const body = h("tbody");
const table = h("table", { id: "templates", "aria-label": "Templates" },
  h("thead", {}, h("tr", {},
    h("th", { scope: "col" }, "Template"), h("th", { scope: "col" }, "Description"),
    h("th", { scope: "col" }, "Variables"), h("th", { scope: "col" }, "Files"),
    h("th", { scope: "col" }, "Origin"))),
  body);
const count = h("p", { class: "muted", id: "templates-count" }, "Loading…");
show(view, h("section", { class: "panel" }, count, table));

function variable(v) {
  const bits = [v.type];
  if (v.required) bits.push("required");
  if (v.default !== null && v.default !== undefined) bits.push(`default ${v.default}`);
  return h("li", { "data-variable": v.name, title: v.description || "" },
    h("code", {}, v.name), h("span", { class: "muted" }, ` ${bits.join(", ")}`));
}

function draw(templates) {
  count.textContent = `${templates.length} template${templates.length === 1 ? "" : "s"}`;
  if (!templates.length) {
    show(body, h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No templates.")));
    return;
  }
  show(body, templates.map((t) => h("tr", { "data-template": t.name },
    h("th", { scope: "row" }, h("a", { href: `/templates/${encodeURIComponent(t.name)}` }, t.name),
      t.version ? h("div", { class: "muted" }, `v${t.version}`) : null),
    h("td", {}, t.description || h("span", { class: "muted" }, "no description"),
      t.language ? h("div", { class: "muted" }, [t.language, t.framework].filter(Boolean).join(" · ")) : null),
    h("td", {}, t.variables.length ? h("ul", { class: "variables" }, t.variables.map(variable)) : h("span", { class: "muted" }, "none")),
    h("td", { class: "num" }, String(t.files.length)),
    h("td", {}, t.origin, h("div", { class: "muted mono" }, t.path)))));
}

// The list follows the registry: a template registered or replaced (by the CLI too) shows up.
live(["templates"], { templates: draw });
