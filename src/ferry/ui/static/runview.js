// Shared by the Runs pages: durations, state badges, and refreshing while a run is live.
import { h } from "./ferry.js";

// The refresh period: ?refresh=SECONDS in the page's address, else `fallback` milliseconds.
export function refreshMs(params, fallback) {
  const seconds = Number(params.get("refresh"));
  return seconds > 0 ? Math.max(200, seconds * 1000) : fallback;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 90) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const KIND = { succeeded: "good", running: "live", starting: "live", "tearing down": "live" };
export function stateBadge(state) {
  return h("span", { class: `state ${KIND[state] || "bad"}` }, state);
}

// Calls `step` now and again every `every` ms for as long as it answers true (the run is
// not torn down). The first failure ends it (the page shows why); later ones are passed to
// `onError` and the next turn tries again (S3 may be back).
export function poll(step, every, onError) {
  let loaded = false;
  async function turn() {
    let again;
    try {
      again = await step();
      loaded = true;
    } catch (error) {
      if (!loaded) throw error;
      onError(error);
      again = true;
    }
    window.ferry.polls = (window.ferry.polls || 0) + 1;
    if (again) setTimeout(() => turn().catch(onError), every);
    else window.ferry.marks.refreshStopped = performance.now();
  }
  return turn();
}
