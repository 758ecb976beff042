// Projects: every project of every root, with its experiment count and last activity.
import { api, crumbs, fail, h, link, show, table, when } from "./ferry.js";

function rootSection(url, index, projects) {
  const mine = projects.filter((p) => p.root === index);
  const rows = mine.map((p) => [
    h("a", { href: link("/experiments", { root: index, project: p.name }) }, p.name),
    h("span", { class: "num" }, p.experiments),
    when(p.last_activity),
    when(p.created_at),
    p.description || "",
  ]);
  return h(
    "section",
    {},
    h("h2", {}, url),
    mine.length
      ? table(["Project", "Experiments", "Last activity", "Created", "Description"], rows, { class: "projects" })
      : h("p", { class: "muted" }, "No projects in this root."),
  );
}

try {
  crumbs();
  const { roots, projects } = await api("projects");
  if (!roots.length) {
    show(h("h1", {}, "Projects"), h("p", { class: "muted" },
      "No tracking root was given. Start the dashboard with one: ferry ui ./rubicon-root or ferry ui s3://bucket/prefix."));
  } else {
    show(h("h1", {}, "Projects"), roots.map((url, i) => rootSection(url, i, projects)));
  }
} catch (error) {
  fail(error);
}
