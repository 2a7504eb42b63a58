// Screening: blocks and flags by detector and tier, with request ids (never prompts or secrets).
"use strict";

Doorman.pages.screening = async () => {
  const { api, el, fillTable, number, when, card } = Doorman;
  let windowName = "day";

  async function load() {
    const data = await api("GET", `/admin/screening?window=${windowName}&limit=100`);
    document.getElementById("screen-summary").replaceChildren(
      card("Blocked requests", number(data.blocked_requests), "blocked"),
      card("Flagged requests", number(data.flagged_requests), "flagged"),
    );
    fillTable(document.getElementById("by-detector"), [
      ["Detector", (r) => r.detector],
      ["Tier", (r) => r.tier || "—"],
      ["Blocked", (r) => number(r.blocked)],
      ["Flagged", (r) => number(r.flagged)],
    ], data.by_detector, "Nothing blocked or flagged in this window.");
    fillTable(document.getElementById("screen-events"), [
      ["When", (e) => when(e.ts)],
      ["Request id", (e) => el("code", {}, e.request_id)],
      ["User", (e) => e.user || "—"],
      ["Tier", (e) => e.tier || "—"],
      ["Outcome", (e) => el("span", { class: `badge ${e.outcome}` }, e.outcome)],
      ["Detectors", (e) => e.detectors.join(", ")],
    ], data.events, "Nothing blocked or flagged in this window.");
  }

  Doorman.choice("window-choice", "window", (v) => { windowName = v; load(); });
  await load();
};
