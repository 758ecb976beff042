// Models: the domains of each model store, then a domain's versions with their states and
// metadata.
import { api, chips, crumbs, fail, h, link, params, show, table, when } from "./ferry.js";

const root = params.get("root");
const domain = params.get("domain");

async function domains() {
  crumbs(["Models"]);
  const data = await api("models");
  if (!data.roots.length) {
    show(h("h1", {}, "Models"), h("p", { class: "muted" },
      "No model store was given. Start the dashboard with one: ferry ui ROOT --models s3://bucket/models."));
    return;
  }
  show(h("h1", {}, "Models"), data.roots.map((url, i) => {
    const mine = data.domains.filter((d) => d.root === i);
    return h("section", {}, h("h2", {}, url), mine.length
      ? table(["Domain", "Versions", "Latest"], mine.map((d) => [
        h("a", { href: link("/models", { root: i, domain: d.domain }) }, d.domain), d.versions, d.latest || ""]), { class: "domains" })
      : h("p", { class: "muted" }, "No models in this store."));
  }));
}

function metadataRow(version, columns) {
  const box = h("td", { colspan: columns });
  const row = h("tr", { hidden: true }, box);
  const toggle = async () => {
    row.hidden = !row.hidden;
    if (row.hidden || box.childElementCount) return;
    try {
      const full = await api("models/version", { root, domain, model_id: version.model_id });
      box.replaceChildren(h("pre", {}, JSON.stringify(full.record, null, 2)));
    } catch (error) {
      box.replaceChildren(h("div", { class: "error" }, error.message));
    }
  };
  return { row, toggle };
}

async function versions() {
  crumbs(["Models", "/models"], [domain]);
  const data = await api("models/versions", { root, domain });
  const headers = ["Model id", "Created", "Flavour", "Type", "States", ""];
  const body = data.versions.flatMap((v) => {
    const meta = metadataRow(v, headers.length);
    return [h("tr", {}, h("td", {}, h("code", {}, v.model_id)), h("td", {}, when(v.created_at)), h("td", {}, v.flavour || ""),
      h("td", {}, v.model_type || ""), h("td", {}, chips(v.states)), h("td", {}, h("button", { onclick: meta.toggle }, "Metadata"))), meta.row];
  });
  show(h("h1", {}, domain), h("p", { class: "muted" }, `${data.versions.length} versions in ${data.root_url}; states: ${data.states.join(", ") || "none"}`),
    h("table", { class: "versions" }, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))), h("tbody", {}, body)));
}

try {
  await (root !== null && domain ? versions() : domains());
} catch (error) {
  fail(error);
}
