// Step-series line charts (uPlot, vendored) shared by the compare and experiment pages.
import { api, colour, fmt, h } from "./ferry.js";

// A card with the chart of `metric` for `runs`; call load() once the card is on the page:
// the server thins each series to about two points per pixel of the chart's width.
export function seriesCard(query, metric, runs, x, { stats = true } = {}) {
  const chart = h("div", { class: "chart", dataset: { metric } });
  const table = h("div");
  const card = h("div", { class: "card" }, h("h3", {}, metric), chart, table);
  async function load() {
    const width = Math.min(4000, Math.max(320, Math.round(chart.clientWidth || 640)));
    try {
      const series = await api("series", { ...query, ids: runs.map((r) => r.id).join(","), metric, x, width });
      if (stats) table.replaceChildren(statsTable(series, runs));
      draw(chart, series, runs, x);
      return series;
    } catch (error) {
      chart.replaceChildren(h("div", { class: "error" }, error.message));
      return null;
    }
  }
  return { card, load };
}

function statsTable(series, runs) {
  const order = new Map(runs.map((r, i) => [r.id, i]));
  const rows = series.runs.map((r) => h("tr", {},
    h("td", {}, h("span", { class: "swatch", style: `background:${colour(order.get(r.id))}` }), r.name || r.id.slice(0, 8)),
    ["min", "max", "last"].map((k) => h("td", { class: "num" }, fmt(r[k]))),
    h("td", { class: "num" }, r.count)));
  return h("table", { class: "stats" },
    h("thead", {}, h("tr", {}, ["Run", "Min", "Max", "Last", "Points"].map((t) => h("th", { class: t === "Run" ? "" : "num" }, t)))),
    h("tbody", {}, rows));
}

function draw(container, series, runs, x) {
  const order = new Map(runs.map((r, i) => [r.id, i]));
  const drawn = series.runs.filter((r) => r.x.length > 0);
  if (!drawn.length) {
    container.replaceChildren(h("p", { class: "muted" }, "No step series: each run logged one value (see the table)."));
    container.style.minHeight = "0";
    return;
  }
  const data = drawn.length === 1 ? [drawn[0].x, drawn[0].y] : uPlot.join(drawn.map((r) => [r.x, r.y]));
  const options = {
    width: Math.max(300, container.clientWidth || 600),
    height: 260,
    scales: { x: { time: x === "time" } },
    legend: { show: false }, // the stats table below is the legend
    cursor: { drag: { x: true, y: false } },
    axes: [{ label: x === "step" ? "step" : x === "time" ? "" : "seconds since first point" }, {}],
    series: [
      { label: x },
      ...drawn.map((r) => ({
        label: r.name || r.id.slice(0, 8), stroke: colour(order.get(r.id)), width: 1.5,
        spanGaps: true, points: { show: false },
      })),
    ],
    hooks: { draw: [() => markDrawn(container)] },
  };
  container.replaceChildren();
  const plot = new uPlot(options, data, container);
  new ResizeObserver(() => plot.setSize({ width: Math.max(300, container.clientWidth), height: 260 })).observe(container);
}

export function markDrawn(container) {
  if (container.dataset.drawn) return;
  container.dataset.drawn = "1";
  window.ferry.chartsDrawn += 1;
  window.ferry.marks.firstChart = window.ferry.marks.firstChart || performance.now();
}
