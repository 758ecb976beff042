// Compare the selected experiments: metric step series (x: step or time) with min/max/last,
// metrics and parameters side by side (differences marked), parallel coordinates.
import { seriesCard } from "./charts.js";
import { api, chips, colour, crumbs, fail, fmt, h, link, loadScript, params, section, show, when } from "./ferry.js";

const root = params.get("root") || "0";
const project = params.get("project") || "";
const ids = (params.get("ids") || "").split(",").filter(Boolean);
const query = { root, project };
const state = { x: params.get("x") || "step", metrics: null };

function swatch(index) {
  return h("span", { class: "swatch", style: `background:${colour(index)}` });
}

function runName(run, index) {
  return h("a", { href: link("/experiment", { root, project, id: run.id }) }, swatch(index), run.name || run.id.slice(0, 8));
}

function runsTable(runs) {
  return h("table", { class: "runs" },
    h("thead", {}, h("tr", {}, ["Experiment", "Model", "Tags", "Created"].map((t) => h("th", {}, t)))),
    h("tbody", {}, runs.map((r, i) => h("tr", {},
      h("td", {}, runName(r, i)), h("td", {}, r.model_name || ""), h("td", {}, chips(r.tags)), h("td", {}, when(r.created_at))))));
}

function best(entry) {
  const numbers = entry.values.filter((v) => typeof v === "number");
  if (numbers.length < 2) return null;
  return entry.directionality === "loss" ? Math.min(...numbers) : Math.max(...numbers);
}

function sideBySide(entries, runs, { marked = false } = {}) {
  const onlyDiff = h("input", { type: "checkbox", onchange: () => redraw() });
  const box = h("div", { class: "scroll" });
  function redraw() {
    const shown = entries.filter((e) => !onlyDiff.checked || e.differs);
    const rows = shown.map((e) => {
      const top = marked ? best(e) : null;
      return h("tr", { class: e.differs ? "diff" : "" }, h("td", {}, e.name),
        e.values.map((v) => h("td", { class: `${typeof v === "number" ? "num" : ""} ${v === top ? "best" : ""}` }, fmt(v))));
    });
    box.replaceChildren(h("table", { class: marked ? "metrics" : "params" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), runs.map((r, i) => h("th", {}, runName(r, i))))),
      h("tbody", {}, rows)));
  }
  redraw();
  const differing = entries.filter((e) => e.differs).length;
  return [h("label", { class: "hint" }, onlyDiff, ` Only the ${differing} that differ (highlighted)`), box];
}

function metricCharts(data) {
  const names = data.metrics.map((m) => m.name);
  const fromUrl = (params.get("metrics") || "").split(",").filter((m) => names.includes(m));
  state.metrics = fromUrl.length ? fromUrl : names.slice(0, 4);
  const cards = h("div", { class: "cards" });
  const axis = h("select", { id: "x-axis", onchange: (e) => { state.x = e.target.value; drawAll(); } },
    [["step", "x: step"], ["time", "x: time"], ["relative", "x: seconds since start"]].map(([v, t]) => h("option", { value: v, selected: v === state.x }, t)));
  const picks = names.map((name) => h("label", { class: "chip" },
    h("input", { type: "checkbox", checked: state.metrics.includes(name), onchange: (e) => {
      state.metrics = e.target.checked ? [...state.metrics, name] : state.metrics.filter((m) => m !== name);
      drawAll();
    } }), ` ${name}`));
  function drawAll() {
    cards.replaceChildren();
    for (const metric of state.metrics) {
      const { card, load } = seriesCard(query, metric, data.runs, state.x);
      cards.append(card);
      load();
    }
  }
  return { nodes: [h("div", { class: "toolbar" }, axis, h("span", { class: "chips" }, picks)), cards], drawAll };
}

function parallel(data) {
  const axes = [
    ...data.params.map((p) => ({ ...p, key: `param:${p.name}`, label: p.name })),
    ...data.metrics.map((m) => ({ ...m, key: `metric:${m.name}`, label: `${m.name} (metric)` })),
  ];
  const differing = data.params.filter((p) => p.differs).map((p) => `param:${p.name}`);
  const start = differing.length ? differing.slice(0, 6) : data.params.slice(0, 6).map((p) => `param:${p.name}`);
  const chosen = new Set([...start, ...data.metrics.slice(0, 1).map((m) => `metric:${m.name}`)]);
  const box = h("div", { class: "parallel", id: "parallel" });
  const picks = axes.map((a) => h("label", { class: "chip" }, h("input", { type: "checkbox", checked: chosen.has(a.key),
    onchange: (e) => { if (e.target.checked) chosen.add(a.key); else chosen.delete(a.key); draw(); } }), ` ${a.label}`));
  async function draw() {
    await loadScript("/static/vendor/echarts.min.js");
    const shown = axes.filter((a) => chosen.has(a.key));
    const chart = echarts.getInstanceByDom(box) || echarts.init(box, null, { renderer: "canvas" });
    chart.off("finished");
    chart.on("finished", () => { box.dataset.drawn = "1"; window.ferry.marks.parallel = window.ferry.marks.parallel || performance.now(); });
    chart.setOption(parallelOption(shown, data.runs), true);
  }
  return { nodes: [h("div", { class: "toolbar chips" }, picks), box], draw };
}

function parallelOption(axes, runs) {
  const dims = axes.map((a, i) => {
    const numeric = a.values.every((v) => v === null || typeof v === "number");
    return numeric
      ? { dim: i, name: a.label, type: "value", scale: true }
      : { dim: i, name: a.label, type: "category", data: [...new Set(a.values.map(fmt))] };
  });
  const rows = runs.map((run, j) => ({
    name: run.name || run.id.slice(0, 8),
    value: axes.map((a, i) => (a.values[j] === null ? "-" : dims[i].type === "value" ? a.values[j] : fmt(a.values[j]))),
    lineStyle: { color: colour(j) },
  }));
  return {
    animation: false,
    tooltip: { trigger: "item" },
    parallel: { left: 60, right: 110, top: 50, bottom: 30 },
    parallelAxis: dims.map((d) => ({ ...d, nameTextStyle: { fontSize: 12 }, axisLabel: { fontSize: 11 } })),
    series: [{ type: "parallel", data: rows, lineStyle: { width: 2, opacity: 0.75 }, emphasis: { lineStyle: { width: 4, opacity: 1 } } }],
  };
}

// ECharts (1 MB) is loaded and drawn only once its section scrolls into view.
function whenShown(node, action) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); action(); }
  });
  observer.observe(node);
}

try {
  if (!project || ids.length === 0) throw new Error("Nothing to compare: select experiments on the experiments page.");
  crumbs(["Projects", "/"], [project, link("/experiments", query)], [`Compare ${ids.length}`]);
  const data = await api("compare", { ...query, ids: ids.join(",") });
  const charts = metricCharts(data);
  const coordinates = parallel(data);
  show(
    h("h1", {}, `Compare ${data.runs.length} experiments`),
    runsTable(data.runs),
    section("Metric series", ...charts.nodes),
    section("Metrics (last value; best marked)", ...sideBySide(data.metrics, data.runs, { marked: true })),
    section("Parameters", ...sideBySide(data.params, data.runs)),
    section("Parallel coordinates", h("p", { class: "hint" }, "Pick the axes; drag along an axis to select a range."), ...coordinates.nodes),
  );
  charts.drawAll();
  if (data.params.length + data.metrics.length) whenShown(document.getElementById("parallel"), () => coordinates.draw().catch(fail));
} catch (error) {
  fail(error);
}
