// A run's DAG on a <canvas>: the server's layered layout, drawn fast for thousands of
// tasks (only what is in view; labels once they are legible), panned by dragging, zoomed
// by the wheel, a node selected by clicking it (found through a grid of buckets).
import { colorOf } from "./run_colors.js";

const BUCKET = 256; // world units per hit-test bucket side
const MIN_SCALE = 0.002;
const MAX_SCALE = 3;
const TB_LAYER_GAP = 64; // top to bottom: from one layer's top to the next one's
const LABEL_SCALE = 0.38; // below this, nodes are coloured boxes without text (under 10 px high)

export class RunGraph {
  /**
   * canvas: the element; layout: GET /workflows/{id}/graph; status(key) gives a task's
   * status; onSelect(key) is called when a node is clicked.
   */
  constructor(canvas, layout, { status, onSelect }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.layout = layout;
    this.status = status;
    this.onSelect = onSelect;
    this.selected = null;
    this.nodeW = layout.node_width;
    this.nodeH = layout.node_height;
    this.nodes = layout.nodes;
    this.worldW = layout.width;
    this.worldH = layout.height;
    this.vertical = false;
    this.resize();
    this._orient();
    this.byId = new Map(this.nodes.map((node) => [node.id, node]));
    this.buckets = new Map();
    for (const node of this.nodes) {
      for (const key of this._bucketsOf(node)) {
        if (!this.buckets.has(key)) this.buckets.set(key, []);
        this.buckets.get(key).push(node);
      }
    }
    this.edges = layout.edges.map(([from, to]) => [this.byId.get(from), this.byId.get(to)]);
    this.view = { x: 0, y: 0, scale: 1 };
    this.drawnLabels = []; // [id, status] of each node labelled in the last frame
    this.frame = 0;
    this._bind();
    this.fit();
  }

  /** The server lays out left to right; a deep, narrow graph fits the canvas better top
   * to bottom (a layer per row): take whichever shows it larger. */
  _orient() {
    const { layout, nodeW, nodeH } = this;
    const margin = layout.margin, column = nodeW + 24, rowGap = layout.row_gap;
    const tallW = margin * 2 + ((layout.height - margin * 2 - nodeH) / rowGap) * column + nodeW;
    const tallH = margin * 2 + (layout.layers - 1) * TB_LAYER_GAP + nodeH;
    const fitScale = (w, h) => Math.min(1, this.width / w, this.height / h);
    if (fitScale(tallW, tallH) <= fitScale(layout.width, layout.height) * 1.05) return;
    this.vertical = true;
    this.worldW = tallW;
    this.worldH = tallH;
    this.nodes = layout.nodes.map((node) => ({
      id: node.id,
      layer: node.layer,
      x: margin + ((node.y - margin) / rowGap) * column,
      y: margin + node.layer * TB_LAYER_GAP,
    }));
  }

  _bucketsOf(node) {
    const keys = [];
    for (let bx = Math.floor(node.x / BUCKET); bx <= Math.floor((node.x + this.nodeW) / BUCKET); bx++) {
      for (let by = Math.floor(node.y / BUCKET); by <= Math.floor((node.y + this.nodeH) / BUCKET); by++) {
        keys.push(`${bx},${by}`);
      }
    }
    return keys;
  }

  /** The node under a point of the canvas (CSS pixels), or null. */
  nodeAt(px, py) {
    const { x, y } = this.toWorld(px, py);
    // At small scales a node is a few pixels: accept clicks a little around it.
    const slack = 4 / this.view.scale;
    const key = `${Math.floor(x / BUCKET)},${Math.floor(y / BUCKET)}`;
    let best = null;
    let bestDistance = Infinity;
    for (const node of this.buckets.get(key) || []) {
      const dx = Math.max(node.x - x, 0, x - (node.x + this.nodeW));
      const dy = Math.max(node.y - y, 0, y - (node.y + this.nodeH));
      const distance = dx + dy;
      if (distance <= slack && distance < bestDistance) { best = node; bestDistance = distance; }
    }
    return best;
  }

  toWorld(px, py) {
    return { x: (px - this.view.x) / this.view.scale, y: (py - this.view.y) / this.view.scale };
  }

  _bind() {
    const canvas = this.canvas;
    let drag = null;
    canvas.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drag) {
        const rect = canvas.getBoundingClientRect();
        canvas.style.cursor = this.nodeAt(event.clientX - rect.left, event.clientY - rect.top) ? "pointer" : "grab";
        return;
      }
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        this.view.x = drag.vx + dx;
        this.view.y = drag.vy + dy;
        this.draw();
      }
    });
    canvas.addEventListener("pointerup", (event) => {
      const wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) return;
      const rect = canvas.getBoundingClientRect();
      const node = this.nodeAt(event.clientX - rect.left, event.clientY - rect.top);
      if (node) this.onSelect(node.id);
    });
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
      this.zoomAt(event.clientX - rect.left, event.clientY - rect.top, factor);
    }, { passive: false });
    canvas.addEventListener("keydown", (event) => {
      const step = 60;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[event.key]) {
        this.view.x += moves[event.key][0];
        this.view.y += moves[event.key][1];
        this.draw();
        event.preventDefault();
      } else if (event.key === "+" || event.key === "=") this.zoomAt(this.width / 2, this.height / 2, 1.25);
      else if (event.key === "-") this.zoomAt(this.width / 2, this.height / 2, 0.8);
    });
    new ResizeObserver(() => { this.resize(); this.draw(); }).observe(canvas);
  }

  zoomAt(px, py, factor) {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.view.scale * factor));
    const world = this.toWorld(px, py);
    this.view.scale = scale;
    this.view.x = px - world.x * scale;
    this.view.y = py - world.y * scale;
    this.draw();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.width = Math.max(1, rect.width);
    this.height = Math.max(1, rect.height);
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.ratio = ratio;
  }

  /** Show the whole graph (at most at natural size). */
  fit() {
    const pad = 16;
    const scale = Math.min(1, (this.width - pad * 2) / this.worldW, (this.height - pad * 2) / this.worldH);
    this.view.scale = Math.max(MIN_SCALE, scale);
    this.view.x = (this.width - this.worldW * this.view.scale) / 2;
    this.view.y = (this.height - this.worldH * this.view.scale) / 2;
    this.draw();
  }

  /** Select a node (highlighted) and bring it into view, legible, if it is not. */
  select(id, { reveal = true } = {}) {
    this.selected = id;
    const node = this.byId.get(id);
    if (node && reveal) {
      const sx = node.x * this.view.scale + this.view.x;
      const sy = node.y * this.view.scale + this.view.y;
      const inside = sx >= 0 && sy >= 0 && sx + this.nodeW * this.view.scale <= this.width && sy + this.nodeH * this.view.scale <= this.height;
      if (!inside || this.view.scale < LABEL_SCALE) {
        this.view.scale = Math.max(this.view.scale, 0.8);
        this.view.x = this.width / 2 - (node.x + this.nodeW / 2) * this.view.scale;
        this.view.y = this.height / 2 - (node.y + this.nodeH / 2) * this.view.scale;
      }
    }
    this.draw();
  }

  /** Redraw at the next frame (many status changes in a burst draw once). */
  invalidate() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

  draw() {
    const { ctx, view, nodeW, nodeH } = this;
    const s = view.scale;
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.setTransform(this.ratio * s, 0, 0, this.ratio * s, this.ratio * view.x, this.ratio * view.y);
    // The world rectangle in view (culling).
    const left = -view.x / s, top = -view.y / s;
    const right = left + this.width / s, bottom = top + this.height / s;
    const visible = (node) => node.x + nodeW >= left && node.x <= right && node.y + nodeH >= top && node.y <= bottom;

    // Edges: one path, dependency's right side to dependent's left side.
    ctx.beginPath();
    for (const [from, to] of this.edges) {
      if (Math.max(from.x, to.x) + nodeW < left || Math.min(from.x, to.x) > right) continue;
      if (Math.max(from.y, to.y) + nodeH < top || Math.min(from.y, to.y) > bottom) continue;
      if (this.vertical) {
        const x1 = from.x + nodeW / 2, y1 = from.y + nodeH, x2 = to.x + nodeW / 2, y2 = to.y;
        const mid = (y1 + y2) / 2;
        ctx.moveTo(x1, y1);
        ctx.bezierCurveTo(x1, mid, x2, mid, x2, y2);
      } else {
        const x1 = from.x + nodeW, y1 = from.y + nodeH / 2, x2 = to.x, y2 = to.y + nodeH / 2;
        const mid = (x1 + x2) / 2;
        ctx.moveTo(x1, y1);
        ctx.bezierCurveTo(mid, y1, mid, y2, x2, y2);
      }
    }
    ctx.strokeStyle = "rgba(110, 122, 140, 0.55)";
    ctx.lineWidth = 1 / s;
    ctx.stroke();

    // Nodes, batched by status colour.
    const labelled = s >= LABEL_SCALE;
    const groups = new Map();
    for (const node of this.nodes) {
      if (!visible(node)) continue;
      const status = this.status(node.id);
      if (!groups.has(status)) groups.set(status, []);
      groups.get(status).push(node);
    }
    // Tiny nodes stay visible as at least a pixel or two.
    const minSide = 2 / s;
    const h = Math.max(nodeH, minSide);
    for (const [status, nodes] of groups) {
      const color = colorOf(status);
      ctx.fillStyle = labelled ? color.fill : color.solid;
      ctx.beginPath();
      for (const node of nodes) ctx.rect(node.x, node.y, nodeW, h);
      ctx.fill();
      if (labelled) {
        ctx.strokeStyle = color.line;
        ctx.lineWidth = 1.2 / s;
        ctx.stroke();
      }
    }
    const drawn = [];
    if (labelled) {
      // Text in screen space: crisp, and never smaller than 8 px however far out.
      ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
      const boxW = nodeW * s, boxH = nodeH * s;
      const size = Math.min(12, Math.max(8, Math.floor(boxH * 0.6)));
      ctx.font = `${size}px system-ui, sans-serif`;
      ctx.textBaseline = "middle";
      const markSize = size + 1;
      for (const [status, nodes] of groups) {
        const color = colorOf(status);
        const mark = MARKS[status] || "·";
        for (const node of nodes) {
          const x = node.x * s + view.x, y = node.y * s + view.y;
          ctx.save();
          ctx.beginPath();
          ctx.rect(x + 2, y, boxW - markSize - 6, boxH);
          ctx.clip();
          ctx.fillStyle = "#1d2330";
          ctx.fillText(node.id, x + Math.max(3, 7 * s), y + boxH / 2 + 0.5);
          ctx.restore();
          // The status as a mark too (not colour alone): ✓ completed, ✗ failed, ...
          ctx.font = `bold ${markSize}px system-ui, sans-serif`;
          ctx.fillStyle = color.line;
          ctx.fillText(mark, x + boxW - markSize - 2, y + boxH / 2 + 0.5);
          ctx.font = `${size}px system-ui, sans-serif`;
          drawn.push([node.id, status]);
        }
      }
      ctx.setTransform(this.ratio * s, 0, 0, this.ratio * s, this.ratio * view.x, this.ratio * view.y);
    }
    const selected = this.selected && this.byId.get(this.selected);
    if (selected) {
      ctx.strokeStyle = "#17202b";
      ctx.lineWidth = Math.max(2.5 / s, 2.5);
      const pad = Math.max(3 / s, 3);
      ctx.strokeRect(selected.x - pad, selected.y - pad, nodeW + pad * 2, Math.max(nodeH, minSide) + pad * 2);
    }
    this.drawnLabels = drawn;
    this.frame += 1;
    this.canvas.dataset.frame = String(this.frame);
  }
}

const MARKS = { completed: "✓", failed: "✗", running: "▶", retrying: "↻", pending: "…", skipped: "⤼", cancelled: "■", interrupted: "■" };
