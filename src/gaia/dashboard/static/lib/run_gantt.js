// The run's attempts over time: one row per task that ran, one bar per attempt (a retry is
// a bar of its own), coloured by its outcome. Drawn on a canvas that only paints the rows
// in view, so a 5,000-task run scrolls as smoothly as a small one.
import { colorOf } from "./run_colors.js";
import { duration } from "../gaia.js";

const ROW = 20;
const AXIS = 24;
const LABEL = 170;

export class RunGantt {
  /** onSelect(key) when a bar or a row's label is clicked. */
  constructor(scroller, canvas, { onSelect }) {
    this.scroller = scroller;
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onSelect = onSelect;
    this.spacer = scroller.querySelector(".gantt-spacer");
    this.byTask = new Map(); // key -> [attempt, ...] sorted by number
    this.rows = []; // keys, by their first start
    this.selected = null;
    this.dirty = true;
    scroller.addEventListener("scroll", () => this.draw());
    new ResizeObserver(() => this.draw()).observe(scroller);
    // The canvas lies under the (transparent) scroller, which takes the wheel and clicks.
    scroller.addEventListener("click", (event) => {
      const rect = scroller.getBoundingClientRect();
      const row = Math.floor((event.clientY - rect.top - AXIS + this.scroller.scrollTop) / ROW);
      if (event.clientY - rect.top > AXIS && this.rows[row]) this.onSelect(this.rows[row]);
    });
    // Running bars grow: redraw once a second while any attempt runs (no request made).
    setInterval(() => { if (this.running) this.draw(); }, 1000);
  }

  /** Add or replace attempts (from the bulk read or the live stream). */
  merge(attempts) {
    for (const a of attempts) {
      const list = this.byTask.get(a.task) || [];
      const at = list.findIndex((x) => x.attempt === a.attempt);
      const item = { ...a, start: Date.parse(a.started_at), end: a.finished_at ? Date.parse(a.finished_at) : null };
      if (at >= 0) list[at] = item; else list.push(item);
      list.sort((x, y) => x.attempt - y.attempt);
      this.byTask.set(a.task, list);
    }
    this.dirty = true;
    this.invalidate();
  }

  attemptsOf(key) {
    return this.byTask.get(key) || [];
  }

  select(key) {
    this.selected = key;
    const at = this.rows.indexOf(key);
    if (at >= 0) {
      const top = at * ROW;
      const view = this.scroller.clientHeight - AXIS;
      if (top < this.scroller.scrollTop || top + ROW > this.scroller.scrollTop + view) {
        this.scroller.scrollTop = Math.max(0, top - view / 2);
      }
    }
    this.invalidate();
  }

  invalidate() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  _prepare() {
    if (!this.dirty) return;
    this.dirty = false;
    let min = Infinity, max = -Infinity;
    const firsts = [];
    for (const [key, list] of this.byTask) {
      firsts.push([list[0].start, key]);
      for (const a of list) {
        min = Math.min(min, a.start);
        max = Math.max(max, a.end ?? a.start);
      }
    }
    firsts.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : 1));
    this.rows = firsts.map(([, key]) => key);
    this.min = min;
    this.max = max;
    this.spacer.style.height = `${this.rows.length * ROW + AXIS}px`;
    this.scroller.setAttribute("aria-label", `Timeline of ${this.rows.length} tasks' attempts`);
  }

  draw() {
    this._prepare();
    const ratio = window.devicePixelRatio || 1;
    const width = this.scroller.clientWidth;
    const height = this.scroller.clientHeight;
    if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    if (!this.rows.length) {
      ctx.fillStyle = "#667085";
      ctx.fillText("No task has started yet.", 12, 20);
      this.running = false;
      return;
    }
    const now = Date.now();
    this.running = false;
    for (const list of this.byTask.values()) if (list.some((a) => a.end === null)) { this.running = true; break; }
    const end = this.running ? Math.max(this.max, now) : this.max;
    const span = Math.max(end - this.min, 1000);
    const plot = Math.max(50, width - LABEL - 12);
    const xOf = (t) => LABEL + ((t - this.min) / span) * plot;

    // The axis: a few round ticks.
    ctx.fillStyle = "#667085";
    ctx.strokeStyle = "#e3e6eb";
    ctx.lineWidth = 1;
    const step = niceStep(span / 6);
    for (let t = 0; t <= span; t += step) {
      const x = xOf(this.min + t);
      ctx.beginPath(); ctx.moveTo(x, AXIS - 4); ctx.lineTo(x, height); ctx.stroke();
      ctx.fillText(duration(t / 1000).replace(".0 s", " s"), x + 3, AXIS / 2);
    }
    const first = Math.floor(this.scroller.scrollTop / ROW);
    const count = Math.ceil((height - AXIS) / ROW) + 1;
    ctx.save();
    ctx.beginPath(); ctx.rect(0, AXIS, width, height - AXIS); ctx.clip();
    for (let i = first; i < Math.min(this.rows.length, first + count); i++) {
      const key = this.rows[i];
      const y = AXIS + i * ROW - this.scroller.scrollTop;
      if (key === this.selected) {
        ctx.fillStyle = "#e8f5ee";
        ctx.fillRect(0, y, width, ROW);
      }
      ctx.fillStyle = "#1d2330";
      ctx.save();
      ctx.beginPath(); ctx.rect(0, y, LABEL - 8, ROW); ctx.clip();
      ctx.fillText(key, 6, y + ROW / 2);
      ctx.restore();
      for (const a of this.byTask.get(key)) {
        const x1 = xOf(a.start);
        const x2 = Math.max(x1 + 2, xOf(a.end ?? now) - 1); // a 1px gap shows where a retry starts
        const color = colorOf(a.status);
        ctx.fillStyle = color.solid;
        ctx.fillRect(x1, y + 4, x2 - x1, ROW - 8);
        if (x2 - x1 > 22 && this.byTask.get(key).length > 1) {
          ctx.fillStyle = "#fff";
          ctx.fillText(`#${a.attempt}`, x1 + 3, y + ROW / 2);
        }
      }
    }
    ctx.restore();
    this.canvas.dataset.rows = String(this.rows.length);
  }
}

function niceStep(raw) {
  const steps = [100, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
  return steps.find((s) => s >= raw) || 3600000 * Math.ceil(raw / 3600000);
}
