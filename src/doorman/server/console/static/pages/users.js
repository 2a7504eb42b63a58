// Users: spend against budgets, top spenders, anomaly flags and suspended users.
"use strict";

Doorman.pages.users = async () => {
  const { api, el, fillTable, money, when, notice } = Doorman;

  function meter(spent, budget) {
    if (budget === null || budget === undefined) return el("span", { class: "muted" }, `${money(spent)} (no budget)`);
    return el("span", { class: "bar" },
      el("meter", { min: 0, max: budget, low: budget * 0.8, high: budget * 0.95, optimum: 0, value: Math.min(spent, budget) }),
      ` ${money(spent)} of ${money(budget)}`);
  }

  async function loadSuspended() {
    const users = (await api("GET", "/admin/users?suspended=true")).data;
    fillTable(document.getElementById("suspended"), [
      ["User", (u) => u.id],
      ["Tier", (u) => u.tier],
      ["Reason", (u) => u.suspended_reason || "—"],
      ["", (u) => el("button", {
        type: "button", class: "lift", dataset: { user: u.id },
        onclick: async () => {
          try {
            await api("POST", `/admin/users/${encodeURIComponent(u.id)}/unsuspend`, {});
            notice(`Suspension of ${u.id} lifted.`, "ok");
          } catch (error) {
            notice(error.message, "error");
          }
          await loadSuspended();
        },
      }, "Lift suspension")],
    ], users, "No user is suspended.");
  }

  const [stats, top, alerts] = await Promise.all([
    api("GET", "/admin/stats?days=1"),
    api("GET", "/admin/usage?by=user&days=30"),
    api("GET", "/admin/alerts?kind=anomaly&limit=50"),
  ]);
  const flagged = new Set(alerts.alerts.map((a) => a.user_id).filter(Boolean));
  fillTable(document.getElementById("budgets"), [
    ["User", (b) => b.user_id],
    ["", (b) => (flagged.has(b.user_id) ? el("span", { class: "badge warning", title: "see Anomaly flags" }, "anomaly") : "")],
    ["Tier", (b) => b.tier || "—"],
    ["Today", (b) => meter(b.spent_today_usd, b.daily_budget_usd)],
    ["This month", (b) => meter(b.spent_month_usd, b.monthly_budget_usd)],
  ], stats.budgets, "No spend this month.");
  const best = Math.max(1e-12, ...top.rows.map((r) => r.cost_usd));
  fillTable(document.getElementById("top-spenders"), [
    ["User", (r) => r.group || "(none)"],
    ["Requests", (r) => r.requests],
    ["Spend", (r) => el("span", { class: "bar" }, el("meter", { min: 0, max: best, value: r.cost_usd }), ` ${money(r.cost_usd)}`)],
  ], top.rows.slice(0, 10), "No spend in 30 days.");
  fillTable(document.getElementById("anomalies"), [
    ["When", (a) => when(a.ts)],
    ["User", (a) => a.user_id || "—"],
    ["Severity", (a) => el("span", { class: `badge ${a.severity}` }, a.severity)],
    ["What", (a) => a.message],
  ], alerts.alerts, "No anomaly flagged.");
  await loadSuspended();
};
