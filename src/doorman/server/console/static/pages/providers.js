// Providers: breaker state, pacing and queues per deployment; failures and fallbacks.
"use strict";

Doorman.pages.providers = async () => {
  const { api, el, fillTable, number, when } = Doorman;
  const [health, breakerAlerts] = await Promise.all([
    api("GET", "/admin/providers?window=hour"),
    api("GET", "/admin/alerts?kind=breaker_open&limit=20"),
  ]);
  const pacing = (d) => {
    const names = Object.keys(d.pacing);
    if (!names.length) return el("span", { class: "muted" }, "not paced");
    return names.map((n) => `${n}: ${number(d.pacing[n].remaining)} of ${number(d.pacing[n].limit)}`).join(", ");
  };
  fillTable(document.getElementById("deployments"), [
    ["Deployment", (d) => d.deployment],
    ["Breaker", (d) => el("span", { class: `badge ${d.breaker}`, dataset: { breaker: d.breaker } }, d.breaker.replace("_", "-"))],
    ["Probe in", (d) => (d.breaker === "open" ? `${d.breaker_retry_in_s.toFixed(1)} s` : "—")],
    ["In flight / waiting", (d) => `${d.active} / ${d.waiting}${d.max_concurrent ? ` (max ${d.max_concurrent})` : ""}`],
    ["Pacing", pacing],
    ["Falls back to", (d) => d.fallbacks.join(", ") || "—"],
  ], health.deployments);
  fillTable(document.getElementById("activity"), [
    ["Provider", (a) => a.provider || "—"],
    ["Model", (a) => a.model || "—"],
    ["Requests", (a) => number(a.requests)],
    ["Upstream failures", (a) => number(a.failures)],
    ["Retries", (a) => number(a.retries)],
    ["Served as fallback", (a) => number(a.fallbacks)],
  ], health.activity.deployments, "No traffic in the last hour.");
  fillTable(document.getElementById("recent-failures"), [
    ["When", (e) => when(e.ts)],
    ["Request id", (e) => el("code", {}, e.request_id)],
    ["Model", (e) => (e.fallback ? `${e.requested_model} → ${e.served_model}` : e.requested_model)],
    ["Status", (e) => `${e.status}${e.error_code ? ` ${e.error_code}` : ""}`],
  ], health.activity.recent, "No failures or fallbacks in the last hour.");
  fillTable(document.getElementById("breaker-alerts"), [
    ["When", (a) => when(a.ts)],
    ["What", (a) => a.message],
  ], breakerAlerts.alerts, "No breaker opened.");
};
