// One training run: state, phase timeline with durations, resource charts from its
// heartbeats, the end of its log, the report with the cost and what is left. Refreshed
// every few seconds until teardown has reported; then it stops asking.
import { markDrawn } from "./charts.js";
import { api, colour, crumbs, fail, fmt, h, params, section, show, when } from "./ferry.js";
import { duration, poll, refreshMs, stateBadge } from "./runview.js";

const id = params.get("id") || "";
const every = refreshMs(params, 3000);
const parts = {
  title: h("h1", {}), summary: h("div"), problems: h("div"), phases: h("div"),
  note: h("div"), charts: h("div", { class: "cards" }), latest: h("div"),
  log: h("pre", { id: "log", class: "log" }), report: h("div", { id: "report" }), refresh: h("p", { class: "hint" }),
};
const plots = new Map(); // chart title -> { plot, names }

function summary(run) {
  const cost = `${run.cost.text}${run.cost.final ? "" : " so far (estimate)"}`;
  const items = [
    ["State", stateBadge(run.state)], ["Phase", run.phase], ["Started", when(run.started)], ["Age", duration(run.age_s)],
    ["Heartbeat", run.done ? "" : run.heartbeat_at ? `${duration(run.heartbeat_age_s)} ago (${when(run.heartbeat_at)})` : "none yet"],
    ["Instance", [run.instance_type, run.market, run.region].filter(Boolean).join(", ")],
    ["Exit code", run.exit_code ?? ""], ["Cost", cost], ["Message", run.message], ["S3 prefix", run.run_url],
  ];
  return h("dl", { class: "meta" }, items.filter(([, v]) => v !== "" && v !== null && v !== undefined)
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function timeline(phases) {
  const spans = Object.entries(phases).filter(([, s]) => s.start);
  if (!spans.length) return h("p", { class: "muted" }, "No phase has started yet (the instance is booting).");
  const start = (s) => Date.parse(s.start) / 1000;
  const first = Math.min(...spans.map(([, s]) => start(s)));
  const last = Math.max(...spans.map(([, s]) => start(s) + (s.seconds || 0)));
  const total = Math.max(last - first, 1e-3);
  const rows = spans.map(([name, s]) => {
    const left = (100 * (start(s) - first)) / total;
    const width = Math.max(0.4, (100 * (s.seconds || 0)) / total);
    const open = !s.end;
    return h("tr", { dataset: { phase: name } },
      h("td", {}, name),
      h("td", { class: "num" }, s.seconds === null ? "unfinished" : `${duration(s.seconds)}${open ? " so far" : ""}`),
      h("td", { class: "track" }, h("div", { class: `bar${open ? " open" : ""}`, style: `margin-left:${left}%;width:${width}%` })));
  });
  return h("table", { class: "timeline" }, h("tbody", {}, rows));
}

function report(run) {
  if (!run.done) {
    return h("p", { class: "muted" }, "Teardown has not run yet: the report, the final cost and the check that no " +
      "cost-generating resource is left come once it has.");
  }
  const left = run.report.left_count === 0
    ? h("p", { id: "left", class: "good" }, `0 cost-generating resources left (verified by a listing at ${when(run.report.verified_at)})`)
    : h("div", { id: "left", class: "error" }, `${run.report.left_count} cost-generating resources LEFT: ${run.report.left.join(", ")}. ` +
      `Run 'ferry runs stop ${run.run_id}' or 'ferry sweep' to retry.`);
  return [left, h("p", {}, `Cost: ${run.cost.text}`), h("pre", {}, run.report_text)];
}

function chartData(chart) {
  const drawn = chart.series.filter((s) => s.x.length);
  return drawn.length === 1 ? [drawn[0].x, drawn[0].y] : uPlot.join(drawn.map((s) => [s.x, s.y]));
}

function drawChart(chart) {
  const names = chart.series.map((s) => s.name).join(",");
  const known = plots.get(chart.title);
  if (known && known.names === names) {
    known.plot.setData(chartData(chart));
    return;
  }
  const box = h("div", { class: "chart", dataset: { chart: chart.title } });
  const card = h("div", { class: "card" }, h("h3", {}, chart.title), box);
  if (known) known.card.replaceWith(card);
  else parts.charts.append(card);
  const options = {
    width: Math.max(300, parts.charts.clientWidth / 2 - 40 || 600),
    height: 240,
    scales: { x: { time: true }, y: { range: [0, 100] } },
    series: [{}, ...chart.series.map((s, i) => ({ label: s.name, stroke: colour(i), width: 1.5, spanGaps: true }))],
    hooks: { draw: [() => markDrawn(box)] },
  };
  const plot = new uPlot(options, chartData(chart), box);
  new ResizeObserver(() => plot.setSize({ width: Math.max(300, box.clientWidth), height: 240 })).observe(box);
  plots.set(chart.title, { plot, names, card });
}

function latest(sample) {
  if (!sample) return h("p", { class: "muted" }, "No heartbeat yet.");
  const gpus = (sample.gpus || []).map((g) => [`GPU ${g.index}`, `${fmt(g.util_percent)}% use, ` +
    `${g.mem_total_bytes ? fmt(Math.round((100 * g.mem_used_bytes) / g.mem_total_bytes)) : "?"}% memory`]);
  const metrics = Object.entries(sample.metrics || {}).map(([k, v]) => [k, fmt(v)]);
  const rows = [["Time", when(sample.time)], ["CPU", `${fmt(sample.cpu_percent)}%`], ["Memory", `${fmt(sample.mem_percent)}%`],
    ["Disk", `${fmt(sample.disk_percent)}%`], ...gpus, ...metrics];
  return h("dl", { class: "meta latest" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function resources(data) {
  parts.note.replaceChildren(data.history
    ? h("p", { class: "hint" }, `${data.count} heartbeats${data.count < 2 ? " (a chart needs two)" : ""}; the latest:`)
    : h("p", { class: "hint", id: "no-history" }, "This run keeps no heartbeat history (its instance ran a ferry from before " +
      "the history existed), so there are no charts: its latest heartbeat only."));
  if (data.history) data.charts.forEach(drawChart);
  parts.latest.replaceChildren(latest(data.latest));
}

function showLog(text) {
  const box = parts.log;
  const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  box.textContent = text || "(no output yet)";
  if (atEnd) box.scrollTop = box.scrollHeight;
}

async function refresh() {
  const width = Math.min(4000, Math.max(320, Math.round(document.getElementById("main").clientWidth / 2)));
  const [run, res, log] = await Promise.all([
    api("run", { id }), api("run/resources", { id, width }), api("run/log", { id }),
  ]);
  parts.title.replaceChildren(run.run_id, " ", stateBadge(run.state));
  parts.summary.replaceChildren(summary(run));
  parts.problems.replaceChildren(...run.problems.map((p) => h("div", { class: "error", role: "alert" }, p)));
  parts.phases.replaceChildren(timeline(run.phases));
  resources(res);
  showLog(log.text);
  parts.report.replaceChildren(...[report(run)].flat());
  parts.refresh.textContent = run.done ? "Torn down: this page no longer refreshes."
    : `Refreshed every ${every / 1000} s while the run is live (last: ${new Date().toLocaleTimeString()}).`;
  document.body.dataset.runState = run.state;
  document.body.dataset.done = run.done ? "1" : "";
  return !run.done;
}

function lateError(error) {
  parts.refresh.replaceChildren(h("span", { class: "bad" }, `Could not refresh: ${error.message}; trying again.`));
}

try {
  if (!id) throw new Error("No run chosen: pick one on the Runs page.");
  crumbs(["Runs", "/runs"], [id]);
  show(parts.title, parts.problems, parts.summary, parts.refresh,
    section("Phases", parts.phases),
    section("Resources", parts.note, parts.charts, parts.latest),
    section("Log (the end of it)", parts.log),
    section("Report", parts.report));
  await poll(refresh, every, lateError);
} catch (error) {
  fail(error);
}
