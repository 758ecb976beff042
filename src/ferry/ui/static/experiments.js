// Experiments of a project: a paged table sorted on any column, filters (name, tags,
// expressions), columns picked by the user and loaded only when shown, selectable rows.
import { api, chips, crumbs, fail, fmt, h, link, mark, params, show, when } from "./ferry.js";

const root = params.get("root") || "0";
const project = params.get("project") || "";
const columnsKey = `ferry:columns:${root}:${project}`;
const selectionKey = `ferry:selected:${root}:${project}`;
const BASE = ["model_name", "tags", "created_at"];

const state = {
  name: params.get("name") || "",
  tags: params.get("tags") || "",
  qtype: params.get("qtype") || "or",
  where: params.get("where") || "",
  sort: params.get("sort") || "created_at",
  desc: params.get("desc") !== "0",
  offset: Number(params.get("offset")) || 0,
  limit: Number(params.get("limit")) || 50,
  columns: JSON.parse(localStorage.getItem(columnsKey) || "null"),
};
const selected = new Set(JSON.parse(sessionStorage.getItem(selectionKey) || "[]"));
let names = null; // {fields, params, metrics}: loaded when the column picker needs it
let page = null;
let latest = 0; // answers to older requests than the latest are dropped

const tableBox = h("div", { class: "scroll", dataset: { state: "loading" } });
const message = h("div");
const pager = h("div", { class: "pager" });
const selectionBar = h("span");
const picker = h("div", { class: "panel", hidden: true });

function query(extra = {}) {
  return {
    root, project, name: state.name, tags: state.tags, qtype: state.qtype, where: state.where,
    sort: state.sort, desc: state.desc ? "1" : "0", offset: state.offset, limit: state.limit,
    columns: (state.columns || BASE).join(","), ...extra,
  };
}

async function load(extra = {}) {
  const mine = ++latest;
  tableBox.dataset.state = "loading";
  try {
    const answer = await api("experiments", query(extra));
    if (mine !== latest) return;
    page = answer;
    message.replaceChildren();
    render();
    const { root: r, project: p, columns, ...shown } = query();
    history.replaceState(null, "", link("/experiments", { root: r, project: p, ...shown }));
  } catch (error) {
    if (mine !== latest) return;
    message.replaceChildren(h("div", { class: "error", role: "alert" }, error.message));
    tableBox.dataset.state = "error";
  }
}

function label(column) {
  const [kind, name] = column.includes(":") ? column.split(/:(.*)/s) : ["", column];
  return kind ? [name, h("span", { class: "kind" }, kind)] : column.replace("_", " ");
}

function cell(column, value, row) {
  if (column === "name") {
    const href = link("/experiment", { root, project, id: row.id });
    return h("td", {}, h("a", { href }, value || row.id.slice(0, 8)));
  }
  if (column === "tags") return h("td", {}, chips(value));
  if (column === "created_at") return h("td", {}, when(value));
  const numeric = typeof value === "number";
  return h("td", { class: numeric ? "num" : "" }, fmt(value));
}

function header(column) {
  const arrow = state.sort === column ? (state.desc ? " ▼" : " ▲") : "";
  const sort = () => {
    state.desc = state.sort === column ? !state.desc : column !== "name";
    state.sort = column;
    state.offset = 0;
    load();
  };
  return h("th", { class: "sortable", onclick: sort, title: "Sort" }, label(column), arrow);
}

function render() {
  const columns = page.columns.filter((c) => c !== "id");
  const all = h("input", { type: "checkbox", title: "Select this page", onchange: (e) => selectPage(e.target.checked) });
  all.checked = page.rows.length > 0 && page.rows.every((r) => selected.has(r.id));
  const rows = page.rows.map((row) => {
    const box = h("input", { type: "checkbox", checked: selected.has(row.id), onchange: (e) => toggle(row.id, e.target.checked) });
    return h("tr", { class: selected.has(row.id) ? "selected" : "", dataset: { id: row.id } },
      h("td", {}, box), columns.map((c) => cell(c, row[c], row)));
  });
  tableBox.replaceChildren(
    h("table", { class: "experiments" },
      h("thead", {}, h("tr", {}, h("th", {}, all), columns.map(header))),
      h("tbody", {}, rows)),
  );
  renderPager();
  renderSelection();
  tableBox.dataset.state = "ready";
  window.ferry.tableRenders += 1;
  requestAnimationFrame(() => mark("tablePainted"));
}

function renderPager() {
  const last = Math.min(page.offset + page.rows.length, page.total);
  const filtered = page.total !== page.experiments ? ` (filtered from ${page.experiments})` : "";
  const move = (offset) => () => { state.offset = offset; load(); };
  const size = h("select", { onchange: (e) => { state.limit = Number(e.target.value); state.offset = 0; load(); } },
    [25, 50, 100, 200, 500].map((n) => h("option", { value: n, selected: n === state.limit }, `${n} per page`)));
  pager.replaceChildren(
    h("button", { disabled: page.offset === 0, onclick: move(Math.max(0, page.offset - page.limit)) }, "‹ Previous"),
    h("span", { id: "status" }, page.total ? `${page.offset + 1}–${last} of ${page.total}${filtered}` : `No experiments match${filtered}`),
    h("button", { disabled: last >= page.total, onclick: move(page.offset + page.limit) }, "Next ›"),
    size,
  );
}

function toggle(id, on) {
  if (on) selected.add(id); else selected.delete(id);
  sessionStorage.setItem(selectionKey, JSON.stringify([...selected]));
  render();
}

function selectPage(on) {
  for (const row of page.rows) if (on) selected.add(row.id); else selected.delete(row.id);
  sessionStorage.setItem(selectionKey, JSON.stringify([...selected]));
  render();
}

function renderSelection() {
  const ids = [...selected];
  const compare = h("a", {
    class: "button primary", id: "compare",
    href: link("/compare", { root, project, ids: ids.join(",") }),
  }, `Compare ${ids.length} selected`);
  const clear = h("button", { onclick: () => { selected.clear(); sessionStorage.removeItem(selectionKey); render(); } }, "Clear selection");
  selectionBar.replaceChildren(...(ids.length ? [compare, " ", clear] : [h("span", { class: "muted" }, "Select rows to compare them")]));
}

async function columnNames() {
  names = names || (await api("columns", { root, project }));
  return names;
}

async function openPicker() {
  picker.hidden = !picker.hidden;
  if (picker.hidden) return;
  picker.replaceChildren(h("p", { class: "muted" }, "Loading the project's parameters and metrics…"));
  try {
    renderPicker(await columnNames(), "");
  } catch (error) {
    picker.replaceChildren(h("div", { class: "error" }, error.message));
  }
}

function renderPicker(known, filter) {
  const chosen = new Set(state.columns || BASE);
  const groups = [
    ["Fields", known.fields.filter((f) => f !== "name")],
    ["Parameters", known.params.map((p) => `param:${p}`)],
    ["Metrics", known.metrics.map((m) => `metric:${m}`)],
  ];
  const matches = (c) => c.toLowerCase().includes(filter.toLowerCase());
  const boxes = groups.map(([title, columns]) => h("div", {}, h("h3", {}, `${title} (${columns.length})`),
    columns.filter(matches).slice(0, 300).map((c) => h("label", {},
      h("input", { type: "checkbox", value: c, checked: chosen.has(c) }), " ", c.replace(/^(param|metric):/, "")))));
  const search = h("input", { type: "search", placeholder: "Find a column", value: filter,
    oninput: (e) => renderPicker(known, e.target.value) });
  const apply = h("button", { class: "primary", onclick: () => {
    const picked = [...picker.querySelectorAll("input[type=checkbox]:checked")].map((b) => b.value);
    const hidden = [...chosen].filter((c) => !matches(c));
    state.columns = [...hidden, ...picked];
    localStorage.setItem(columnsKey, JSON.stringify(state.columns));
    picker.hidden = true;
    load();
  } }, "Show these columns");
  picker.replaceChildren(h("div", { class: "toolbar" }, search, apply), h("div", { class: "picker" }, boxes));
  if (filter) search.focus();
}

// A first visit paints the fields at once, then adds three metrics of the page's rows.
async function defaultColumns() {
  if (state.columns) return;
  await load({ default_metrics: 3 });
  if (!state.columns && page) state.columns = page.columns.filter((c) => c !== "id" && c !== "name");
}

function filters() {
  const input = (key, attrs) => h("input", { type: "text", value: state[key], ...attrs,
    onkeydown: (e) => { if (e.key === "Enter") apply(); } });
  const nameBox = input("name", { id: "filter-name", placeholder: "name (text, or rf-* wildcards)" });
  const tagsBox = input("tags", { id: "filter-tags", placeholder: "tags: a, b*" });
  const qtype = h("select", { id: "filter-qtype" }, ["or", "and"].map((q) => h("option", { value: q, selected: q === state.qtype }, `any tag (${q})`.replace("any tag (and)", "all tags (and)"))));
  const whereBox = input("where", { id: "filter-where", class: "wide", placeholder: "accuracy > 0.9 and params.max_depth <= 8" });
  function apply() {
    Object.assign(state, { name: nameBox.value, tags: tagsBox.value, qtype: qtype.value, where: whereBox.value, offset: 0 });
    load();
  }
  const clear = () => { nameBox.value = tagsBox.value = whereBox.value = ""; apply(); };
  return h("div", { class: "toolbar" }, nameBox, tagsBox, qtype, whereBox,
    h("button", { class: "primary", id: "apply", onclick: apply }, "Filter"), h("button", { onclick: clear }, "Clear"));
}

try {
  if (!project) throw new Error("No project chosen: pick one on the projects page.");
  crumbs(["Projects", "/"], [project]);
  show(
    h("h1", {}, project),
    filters(),
    h("div", { class: "toolbar" },
      h("button", { id: "columns", onclick: openPicker }, "Columns…"),
      h("button", { onclick: () => { names = null; load({ refresh: "1" }); }, title: "List the project again" }, "Reload"),
      h("span", { class: "spacer" }), selectionBar),
    picker, message, tableBox, pager,
    h("p", { class: "hint" }, "Filters: name matches text (or * wildcards); tags match any (or) / all (and), with * wildcards; "
      + "expressions compare metrics and parameters: accuracy > 0.9 and params.depth <= 8, metrics.`val/loss` < 0.2."),
  );
  await load();
  defaultColumns().catch(() => {});
} catch (error) {
  fail(error);
}
