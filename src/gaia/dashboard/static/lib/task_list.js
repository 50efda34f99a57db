// The run's tasks as a searchable, virtualised listbox: only the rows in view exist in the
// DOM, so 5,000 tasks cost what 30 do. Each row says the task's id and its status in words.
import { h, badge } from "../gaia.js";

const ROW = 28; // px, fixed: rows are placed by index
const OVERSCAN = 8;

export class TaskList {
  /** keys: task ids in the definition's order; status(key); onSelect(key). */
  constructor(keys, { status, onSelect }) {
    this.keys = keys;
    this.status = status;
    this.onSelect = onSelect;
    this.selected = null;
    this.query = "";
    this.only = "";
    this.shown = keys;
    this.search = h("input", {
      type: "search", placeholder: "Find a task by id", "aria-label": "Find a task by id",
      class: "task-search", autocomplete: "off", spellcheck: "false",
      oninput: () => { this.query = this.search.value.trim().toLowerCase(); this.refilter(); },
      onkeydown: (event) => {
        if (event.key === "Enter" && this.shown.length) this.onSelect(this.shown[0]);
        if (event.key === "ArrowDown") { this.box.focus(); this.move(0); event.preventDefault(); }
      },
    });
    this.filter = h("select", {
      "aria-label": "Only tasks that are",
      onchange: () => { this.only = this.filter.value; this.refilter(); },
    }, h("option", { value: "" }, "all"),
    ...["failed", "running", "retrying", "pending", "completed", "skipped", "cancelled"].map((s) => h("option", { value: s }, s)));
    this.count = h("span", { class: "muted task-count", "aria-live": "polite" });
    this.spacer = h("div", { class: "spacer" });
    this.rows = h("ul", { class: "rows", role: "presentation" });
    this.box = h("div", {
      class: "task-rows", role: "listbox", tabindex: "0", "aria-label": "Tasks and their statuses",
      onscroll: () => this.render(),
      onkeydown: (event) => {
        const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
        if (moves[event.key]) { this.move(moves[event.key]); event.preventDefault(); }
      },
    }, this.spacer, this.rows);
    this.element = h("section", { class: "task-list", "aria-label": "Task list" },
      h("div", { class: "task-tools" }, this.search, this.filter), this.count, this.box);
    new ResizeObserver(() => this.render()).observe(this.box);
    this.refilter();
  }

  move(delta) {
    if (!this.shown.length) return;
    const at = this.shown.indexOf(this.selected);
    const next = at < 0 ? 0 : Math.max(0, Math.min(this.shown.length - 1, at + delta));
    this.onSelect(this.shown[next]);
  }

  refilter() {
    const q = this.query, only = this.only;
    this.shown = q || only
      ? this.keys.filter((key) => (!q || key.toLowerCase().includes(q)) && (!only || this.status(key) === only))
      : this.keys;
    this.count.textContent = this.shown.length === this.keys.length
      ? `${this.keys.length} tasks`
      : `showing ${this.shown.length} of ${this.keys.length} tasks`;
    this.spacer.style.height = `${this.shown.length * ROW}px`;
    this.box.scrollTop = Math.min(this.box.scrollTop, Math.max(0, this.shown.length * ROW - this.box.clientHeight));
    this.render();
  }

  /** Statuses changed: a status filter may now show other rows. */
  update() {
    if (this.only) this.refilter();
    else this.render();
  }

  select(key, { reveal = true } = {}) {
    this.selected = key;
    if (reveal) {
      const at = this.shown.indexOf(key);
      if (at >= 0) {
        const top = at * ROW;
        if (top < this.box.scrollTop || top + ROW > this.box.scrollTop + this.box.clientHeight) {
          this.box.scrollTop = Math.max(0, top - this.box.clientHeight / 2);
        }
      }
    }
    this.render();
  }

  render() {
    const height = this.box.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.box.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(this.shown.length, Math.ceil((this.box.scrollTop + height) / ROW) + OVERSCAN);
    const items = [];
    for (let i = first; i < last; i++) {
      const key = this.shown[i];
      const status = this.status(key);
      const selected = key === this.selected;
      items.push(h("li", {
        role: "option", "aria-selected": selected ? "true" : "false", "aria-setsize": this.shown.length,
        "aria-posinset": i + 1, class: selected ? "selected" : null, style: `top:${i * ROW}px`,
        dataset: { task: key }, onclick: () => this.onSelect(key),
      }, h("span", { class: "task-id" }, key), " ", badge(status)));
    }
    this.rows.replaceChildren(...items);
    const current = this.selected && this.shown.includes(this.selected) ? this.rows.querySelector("li.selected") : null;
    if (current) {
      current.id = "task-list-current";
      this.box.setAttribute("aria-activedescendant", "task-list-current");
    } else this.box.removeAttribute("aria-activedescendant");
  }
}
