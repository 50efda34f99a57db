// What the two agents views share: formatting, task links and a clock for running times.
import { h, duration, since, ago } from "../gaia.js";

export const shortId = (id) => String(id).slice(0, 8);

export function taskLink(id) {
  return h("a", { href: `/agents/tasks/${encodeURIComponent(id)}`, class: "mono", title: id }, shortId(id));
}

export function money(usd) {
  if (usd === null || usd === undefined) return "-";
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function tokens(n) {
  if (n === null || n === undefined) return "-";
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Every second, redraw running times ([data-since]) and ages ([data-ago]) on the page:
 *  a local clock, no request. */
export function tick() {
  setInterval(() => {
    for (const el of document.querySelectorAll("[data-since]")) el.textContent = duration(since(el.dataset.since));
    for (const el of document.querySelectorAll("[data-ago]")) el.textContent = ago(el.dataset.ago);
  }, 1000);
}
