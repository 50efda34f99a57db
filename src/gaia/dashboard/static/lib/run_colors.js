// Task status colours for what the run page draws on canvas (the same as gaia.css's badges).

const GREY = { fill: "#eef0f3", line: "#5b6575", solid: "#9aa3b2" };

export const STATUS_COLORS = {
  pending: { fill: "#fdf3e1", line: "#b7791f", solid: "#e2b155" },
  running: { fill: "#e6effa", line: "#2b6cb0", solid: "#3d7fd0" },
  retrying: { fill: "#e6effa", line: "#2b6cb0", solid: "#3d7fd0" },
  completed: { fill: "#e3f4ea", line: "#1f7a4c", solid: "#2e9a62" },
  failed: { fill: "#fbe7e5", line: "#c0392b", solid: "#d9534a" },
  interrupted: GREY,
  skipped: GREY,
  cancelled: GREY,
};

export function colorOf(status) {
  return STATUS_COLORS[status] || GREY;
}
