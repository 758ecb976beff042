// Shared by the dashboard's pages: the JSON API, building DOM nodes, formatting, colours.
// Plain ES modules, no build step; every request goes to this server only.

export const params = new URLSearchParams(location.search);

// Hooks for tests and benchmarks: when things were drawn (performance.now() milliseconds).
window.ferry = window.ferry || { tableRenders: 0, chartsDrawn: 0, marks: {} };

export function mark(name) {
  window.ferry.marks[name] = window.ferry.marks[name] || performance.now();
}

export async function api(path, query = {}) {
  const response = await fetch(`/api/${path}?${new URLSearchParams(present(query))}`);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function present(query) {
  return Object.fromEntries(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""),
  );
}

export function link(path, query) {
  return `${path}?${new URLSearchParams(present(query))}`;
}

// h("a", {href: "/", class: "x", onclick: f}, "text", child, [more])
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function show(...children) {
  document.getElementById("main").replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

export function crumbs(...parts) {
  const items = parts.map(([label, href]) => (href ? h("a", { href }, label) : h("span", {}, label)));
  document.getElementById("crumbs").replaceChildren(...items.flatMap((item) => [" / ", item]));
  if (parts.length) document.title = `${parts[parts.length - 1][0]} · ferry`;
}

export function fail(error) {
  show(h("div", { class: "error", role: "alert" }, error.message || String(error)));
}

export function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const size = Math.abs(value);
    return size >= 1e-3 && size < 1e7 ? String(+value.toPrecision(6)) : value.toExponential(4);
  }
  if (Array.isArray(value)) return value.map(fmt).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function when(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())} ` +
    `${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}`
  );
}

export function chips(tags) {
  return h("span", { class: "chips" }, (tags || []).map((t) => h("span", { class: "chip" }, t)));
}

export function table(headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, headers.map((label) => h("th", {}, label)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
  );
}

// Ten distinct colours, then evenly spread hues: 50 runs stay tellable apart.
const TEN = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
export function colour(index) {
  return index < TEN.length ? TEN[index] : `hsl(${(index * 137.508) % 360} 60% 45%)`;
}

const loaded = {};
export function loadScript(src) {
  loaded[src] = loaded[src] || new Promise((resolve, reject) => {
    document.head.append(h("script", { src, onload: resolve, onerror: () => reject(new Error(`could not load ${src}`)) }));
  });
  return loaded[src];
}

export function section(title, ...children) {
  return h("section", {}, h("h2", {}, title), ...children);
}
