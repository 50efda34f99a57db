// The agents view (to be built).
import { view, show, h } from "../gaia.js";

show(view, h("p", { class: "muted" }, "This view is not built yet."));
