// Runs: every training run of this machine's run ledger (what `ferry runs ls` lists), with
// state, phase, age, heartbeat age and cost; refreshed while any of them is not torn down.
import { api, crumbs, fail, h, link, params, show, table } from "./ferry.js";
import { duration, poll, refreshMs, stateBadge } from "./runview.js";

const every = refreshMs(params, 5000);

function row(run) {
  return [
    h("a", { href: link("/run", { id: run.run_id }) }, run.run_id),
    stateBadge(run.state),
    run.phase || "",
    h("span", { class: "num" }, duration(run.age_s)),
    h("span", { class: "num" }, run.done ? "" : run.heartbeat_age_s === null ? "none yet" : `${duration(run.heartbeat_age_s)} ago`),
    h("span", { title: run.cost.text }, costShort(run.cost)),
    run.instance_type || "",
    h("span", { class: "num" }, run.exit_code ?? ""),
    h("span", { class: run.left_count ? "bad" : "" }, run.left_count ?? ""),
  ];
}

function costShort(cost) {
  const total = cost.total === null ? "unknown" : `$${cost.total.toFixed(4)}`;
  return cost.final ? total : `${total} so far`;
}

async function render() {
  crumbs(["Runs"]);
  const data = await api("runs");
  if (data.ledger === null) {
    show(h("h1", {}, "Runs"), h("p", { class: "muted" }, "This dashboard was started without a run ledger."));
    return false;
  }
  const headers = ["Run", "State", "Phase", "Age", "Heartbeat", "Cost", "Instance", "Exit code", "Left"];
  show(
    h("h1", {}, "Runs"),
    h("p", { class: "muted" }, data.runs.length
      ? `${data.runs.length} runs in the run ledger ${data.ledger} (as ferry runs ls lists them).`
      : `No runs in the run ledger ${data.ledger} yet: start one with ferry run.`),
    data.runs.length ? table(headers, data.runs.map(row), { class: "runs" }) : null,
  );
  return data.runs.some((r) => !r.done);
}

poll(render, every, fail).catch(fail);
