// One experiment: fields, metrics (with charts of step series), parameters, features
// with an importance chart, artifacts to download, dataframes to preview.
import { seriesCard } from "./charts.js";
import { api, chips, crumbs, fail, fmt, h, link, params, section, show, table, when } from "./ferry.js";

const root = params.get("root") || "0";
const project = params.get("project") || "";
const id = params.get("id") || "";
const query = { root, project };

function fields(e) {
  const items = [
    ["Id", e.id], ["Created", when(e.created_at)], ["Model", e.model_name], ["Branch", e.branch_name],
    ["Commit", e.commit_hash], ["Description", e.description], ["Tags", chips(e.tags)],
    ["Comments", e.comments.length ? h("ul", {}, e.comments.map((c) => h("li", {}, c))) : ""],
  ];
  return h("dl", { class: "meta" }, items.filter(([, v]) => v && (typeof v !== "string" || v.trim()))
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function features(list) {
  if (!list.length) return h("p", { class: "muted" }, "No features logged.");
  const top = Math.max(...list.map((f) => Math.abs(f.importance || 0)), 1e-12);
  return h("table", { class: "bars" }, h("tbody", {}, list.map((f) => h("tr", {},
    h("td", {}, f.name),
    h("td", {}, f.importance === null ? "" : h("div", { class: "bar", style: `width:${(100 * Math.abs(f.importance)) / top}%` })),
    h("td", { class: "num" }, fmt(f.importance))))));
}

function artifacts(list) {
  if (!list.length) return h("p", { class: "muted" }, "No artifacts logged.");
  return table(["Name", "Description", "Created", ""], list.map((a) => [
    a.name, a.description || "", when(a.created_at),
    h("a", { class: "button", href: link("/api/artifact", { ...query, id, artifact: a.id }), download: a.name }, "Download"),
  ]));
}

function dataframes(list) {
  if (!list.length) return h("p", { class: "muted" }, "No dataframes logged.");
  return list.map((d) => {
    const box = h("div");
    const preview = async () => {
      box.replaceChildren(h("p", { class: "muted" }, "Reading…"));
      try {
        const frame = await api("dataframe", { ...query, id, dataframe: d.id, rows: 20 });
        box.replaceChildren(
          h("p", { class: "hint" }, `${frame.shape[0]} rows × ${frame.shape[1]} columns; the first ${frame.rows.length}:`),
          h("div", { class: "scroll" }, table(frame.schema.map((c) => `${c.name} (${c.dtype})`), frame.rows.map((r) => r.map(fmt)), { class: "frame" })));
      } catch (error) {
        box.replaceChildren(h("div", { class: "error" }, error.message));
      }
    };
    return h("div", { class: "card" }, h("h3", {}, d.name || d.id, " ", h("button", { onclick: preview }, "Preview")),
      d.description ? h("p", {}, d.description) : "", box);
  });
}

async function seriesCharts(e, box) {
  const run = [{ id: e.id, name: e.name }];
  for (const metric of e.metrics) {
    const { card, load } = seriesCard(query, metric.name, run, "step", { stats: false });
    card.hidden = true;
    box.append(card);
    load().then((series) => { card.hidden = !series || !series.runs.some((r) => r.count > 1); });
  }
}

try {
  if (!project || !id) throw new Error("No experiment chosen: pick one on the experiments page.");
  const e = await api("experiment", { ...query, id });
  crumbs(["Projects", "/"], [project, link("/experiments", query)], [e.name || e.id.slice(0, 8)]);
  const charts = h("div", { class: "cards" });
  show(
    h("h1", {}, e.name || e.id),
    fields(e),
    section("Metrics", table(["Name", "Value", "Direction", "Description"],
      e.metrics.map((m) => [m.name, h("span", { class: "num" }, fmt(m.value)), m.directionality, m.description || ""]))),
    charts,
    section("Parameters", table(["Name", "Value"], e.params.map((p) => [p.name, fmt(p.value)]))),
    section("Features (by importance)", features(e.features)),
    section("Artifacts", artifacts(e.artifacts)),
    section("Dataframes", dataframes(e.dataframes)),
  );
  seriesCharts(e, charts);
} catch (error) {
  fail(error);
}
